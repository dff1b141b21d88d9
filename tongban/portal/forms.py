from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import DomainError


class DomainForm(forms.Form):
    """A form whose service errors (``DomainError.fields``) land on the right fields."""

    def add_domain_error(self, error: DomainError) -> None:
        placed = False
        for field, messages in error.fields.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, str(message))
                placed = True
        if not placed:
            self.add_error(None, str(error.message))


class LoginForm(DomainForm):
    identifier = forms.CharField(
        label=_("Resident ID number, credit code or username"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CitizenRegisterForm(DomainForm):
    name = forms.CharField(
        label=_("Name"), max_length=50, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    resident_id = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters; the last may be X."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=11,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"),
        help_text=_("At least 8 characters, letters together with digits or symbols."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data


class EnterpriseRegisterForm(DomainForm):
    name = forms.CharField(label=_("Enterprise name"), max_length=100)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        min_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    legal_rep_name = forms.CharField(label=_("Legal representative"), max_length=50)
    legal_rep_resident_id = forms.CharField(
        label=_("Legal representative's resident ID number"), max_length=18, min_length=18
    )
    phone = forms.CharField(
        label=_("Contact mobile phone"), max_length=11, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    password = forms.CharField(
        label=_("Password"),
        help_text=_("At least 8 characters, letters together with digits or symbols."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data


class PasswordChangeForm(DomainForm):
    old_password = forms.CharField(
        label=_("Current password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    password = forms.CharField(
        label=_("New password"),
        help_text=_("At least 8 characters, letters together with digits or symbols."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("New password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data
