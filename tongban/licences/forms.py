"""Forms of the licence pages. Staff forms are in ``forms_staff``.

They parse; the services decide. ``ThirdPartyForm`` says, with the service's own codes and
messages, what ``services.authorisation_for_third_party`` would refuse (who, what for, 1 to 90
days), so that every mistake shows at once next to its field; the service still checks everything
(the API calls it directly), and any error it raises lands on the field it names, keeping its code.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import DomainError
from tongban.core.forms import DomainForm
from tongban.licences.services import MAX_AUTHORISATION_DAYS

NAME_LENGTHS = (2, 200)  # as the service checks a grantee's name and a purpose

# --- the holder's wallet ------------------------------------------------------------------------


class ThirdPartyForm(DomainForm):
    """The holder lets a third party (a bank, a landlord) see a licence with a code, for a time."""

    grantee_name = forms.CharField(
        label=_("Who may see it"),
        required=False,
        help_text=_("For example the bank or the landlord. Your record of uses shows them by this name."),
        widget=forms.TextInput(attrs={"maxlength": NAME_LENGTHS[1], "autocomplete": "organization"}),
    )
    purpose = forms.CharField(
        label=_("What for"),
        required=False,
        help_text=_("For example: opening an account, renting a flat."),
        widget=forms.TextInput(attrs={"maxlength": NAME_LENGTHS[1], "autocomplete": "off"}),
    )
    days = forms.CharField(
        label=_("For how many days"),
        required=False,
        initial=7,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_AUTHORISATION_DAYS, "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].help_text = gettext(
            "From 1 to %(max)d days. You can withdraw it at any time."
        ) % {"max": MAX_AUTHORISATION_DAYS}

    @staticmethod
    def _text(value: Any, message: str, code: str) -> str:
        text = (value or "").strip()
        if not NAME_LENGTHS[0] <= len(text) <= NAME_LENGTHS[1]:
            raise ValidationError(message, code=code)
        return text

    def clean_grantee_name(self) -> str:
        return self._text(
            self.cleaned_data.get("grantee_name"), gettext("Say who may see the licence."), "grantee_required"
        )

    def clean_purpose(self) -> str:
        return self._text(
            self.cleaned_data.get("purpose"),
            gettext("Say what the licence will be used for."),
            "purpose_required",
        )

    def clean_days(self) -> int:
        text = (self.cleaned_data.get("days") or "").strip()
        if not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_AUTHORISATION_DAYS:
            raise ValidationError(
                gettext("An authorisation lasts from 1 to %(max)d days.") % {"max": MAX_AUTHORISATION_DAYS},
                code="days_invalid",
            )
        return int(text)

    def add_domain_error(self, error: DomainError) -> None:
        """As ``DomainForm``, keeping the service's code on each error."""
        placed = False
        for name, messages in error.fields.items():
            for message in messages:
                self.add_error(
                    name if name in self.fields else None, ValidationError(str(message), code=error.code)
                )
                placed = True
        if not placed:
            self.add_error(None, ValidationError(str(error.message), code=error.code))

    def error_codes(self) -> dict[str, list[str]]:
        """Field (or ``__all__``) -> the codes of its errors."""
        return {name: [str(e.code) for e in errors] for name, errors in self.errors.as_data().items()}
