"""Forms of the licence pages. Staff forms are in ``forms_staff``.

They parse; the services decide. What ``services.authorisation_for_third_party`` checks (who, what
for, 1 to 90 days) is left to it, so that a page and the API refuse the same input with the same
code and message; the service's errors land on the fields they name, keeping their codes.
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

# --- the holder's wallet ------------------------------------------------------------------------


class ThirdPartyForm(DomainForm):
    """The holder lets a third party (a bank, a landlord) see a licence with a code, for a time."""

    grantee_name = forms.CharField(
        label=_("Who may see it"),
        required=False,
        help_text=_("For example the bank or the landlord. Your record of uses shows them by this name."),
        widget=forms.TextInput(attrs={"maxlength": 200, "autocomplete": "organization"}),
    )
    purpose = forms.CharField(
        label=_("What for"),
        required=False,
        help_text=_("For example: opening an account, renting a flat."),
        widget=forms.TextInput(attrs={"maxlength": 200, "autocomplete": "off"}),
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

    def clean_days(self) -> int:
        text = (self.cleaned_data.get("days") or "").strip()
        if not text.isdigit() or len(text) > 3:
            raise ValidationError(
                gettext("An authorisation lasts from 1 to %(max)d days.") % {"max": MAX_AUTHORISATION_DAYS},
                code="days_invalid",
            )
        return int(text)

    def add_domain_error(self, error: DomainError) -> None:
        """As ``DomainForm``, keeping the service's code on each error (the tests and the page read it)."""
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
