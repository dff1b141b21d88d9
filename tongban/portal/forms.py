"""Forms of the citizen and enterprise portal.

The forms only check what a browser can get wrong (a missing field, two passwords that differ);
every rule about identifiers, names, phones and passwords lives in the identity services, whose
``DomainError.fields`` are put back on the matching fields by ``DomainForm.add_domain_error``.
Django renders ``aria-invalid`` and ``aria-describedby`` (help text and errors) on the inputs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.core.forms import DomainForm

PASSWORD_HELP = _("At least 8 characters, letters together with digits or symbols.")


# Django's label suffix, translated again in the portal catalogue so that Chinese labels end with a
# full-width colon (姓名：) instead of the ASCII one in Django's own catalogue.
LABEL_SUFFIX = _(":")


class _ConfirmedPasswordMixin(forms.Form):
    """``password`` and ``password_confirm`` must be the same."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data


def _identifier_input(**attrs: str) -> forms.TextInput:
    return forms.TextInput(
        attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", **attrs}
    )


def _password_input(autocomplete: str) -> forms.PasswordInput:
    return forms.PasswordInput(attrs={"autocomplete": autocomplete})


class LoginForm(DomainForm):
    identifier = forms.CharField(
        label=_("Resident ID number, credit code or username"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(label=_("Password"), strip=False, widget=_password_input("current-password"))


class CitizenRegisterForm(_ConfirmedPasswordMixin, DomainForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=50,
        help_text=_("As on your resident identity card."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    # No min_length: the service says what is wrong with a short number ("has 18 characters").
    resident_id = forms.CharField(
        label=_("Resident ID number"),
        max_length=20,
        help_text=_("18 characters; the last may be X."),
        widget=_identifier_input(),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=13,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, help_text=PASSWORD_HELP, widget=_password_input("new-password")
    )
    password_confirm = forms.CharField(
        label=_("Password again"), strip=False, widget=_password_input("new-password")
    )


class EnterpriseRegisterForm(_ConfirmedPasswordMixin, DomainForm):
    name = forms.CharField(
        label=_("Enterprise name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=20,
        help_text=_("18 digits and capital letters, as on the business licence."),
        widget=_identifier_input(),
    )
    legal_rep_name = forms.CharField(label=_("Legal representative"), max_length=50)
    legal_rep_resident_id = forms.CharField(
        label=_("Legal representative's resident ID number"), max_length=20, widget=_identifier_input()
    )
    phone = forms.CharField(
        label=_("Contact mobile phone"),
        max_length=13,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, help_text=PASSWORD_HELP, widget=_password_input("new-password")
    )
    password_confirm = forms.CharField(
        label=_("Password again"), strip=False, widget=_password_input("new-password")
    )


class PasswordChangeForm(_ConfirmedPasswordMixin, DomainForm):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, widget=_password_input("current-password")
    )
    password = forms.CharField(
        label=_("New password"), strip=False, help_text=PASSWORD_HELP, widget=_password_input("new-password")
    )
    password_confirm = forms.CharField(
        label=_("New password again"), strip=False, widget=_password_input("new-password")
    )


class PhoneForm(DomainForm):
    phone = forms.CharField(
        label=_("New mobile phone"),
        max_length=13,
        help_text=_("11 digits, starting with 1."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


class AgentAddForm(DomainForm):
    agent_resident_id = forms.CharField(
        label=_("The agent's resident ID number"),
        max_length=20,
        help_text=_("The agent must have registered a citizen account."),
        widget=_identifier_input(),
    )
