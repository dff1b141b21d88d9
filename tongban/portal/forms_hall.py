"""Forms of the online hall (网上办事大厅): the applicant's choice, withdrawal, the progress lookup.

The application form itself is not here: it is built from the item version's schema by
``catalog.forms_schema.build_form_class``, so the page and the API check answers the same way.
Files are read from ``request.FILES`` by material (``material_<id>``) and checked by the case
engine (``cases.uploads``), whose messages land next to the material they concern.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.core.forms import DomainForm

SELF = "self"


class ApplicantForm(forms.Form):
    """Who the application is for: oneself, or an enterprise the citizen represents (代理人)."""

    applicant = forms.ChoiceField(label=_("Apply for"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["applicant"])
        field.choices = choices
        if choices:
            field.initial = choices[0][0]


class WithdrawForm(DomainForm):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )


class ProgressForm(forms.Form):
    """Case number plus the last four characters of the applicant's ID number or phone."""

    number = forms.CharField(
        label=_("Case number"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}
        ),
    )
    last4 = forms.CharField(
        label=_("Last 4 characters of the applicant's ID number or phone"),
        min_length=4,
        max_length=4,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "size": 4}),
        help_text=_("For an enterprise, the last 4 characters of its unified social credit code."),
    )
