"""Forms of the staff case pages (办件) and the one-window intake (一窗受理).

They check only what a browser can get wrong; the engine's services decide everything else, and
their ``DomainError.fields`` land back on these forms through ``DomainForm.add_domain_error``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from tongban.cases.choices import CaseStatus, DeliveryMethod, SuspensionKind, TaskOutcome
from tongban.catalog.models import Material
from tongban.core.forms import DomainForm

# The one-time notice shows this many blank rows without JavaScript; the script adds more.
CORRECTION_ROWS = 5
MAX_CORRECTION_ROWS = 50
OTHER_TARGET = ""


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class CaseFilterForm(forms.Form):
    """The 全部 tab: a case number (or its start), a status, an item."""

    q = forms.CharField(label=_("Case number"), required=False, max_length=64)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *[c for c in CaseStatus.choices if c[0] != CaseStatus.DRAFT]],
    )
    item = forms.TypedChoiceField(label=_("Service item"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, items: Iterable[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("Any item")), *items]  # type: ignore[attr-defined]


class AcceptForm(DomainForm):
    deferred = forms.TypedMultipleChoiceField(
        label=_("Required materials that may follow later (容缺)"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick the missing materials the applicant will bring before the decision."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=_textarea(2))

    def __init__(self, *args: Any, deferrable: Sequence[Material] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deferred"].choices = [(m.pk, m.name) for m in deferrable]  # type: ignore[attr-defined]


class CorrectionRowForm(forms.Form):
    """One line of the one-time notice: what is to be corrected (chosen or typed) and how."""

    target = forms.ChoiceField(label=_("What"), required=False)
    other = forms.CharField(
        label=_("Or in your own words"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. the signature on page 2")}),
    )
    instruction = forms.CharField(label=_("How to correct it"), required=False, max_length=2000)

    def __init__(self, *args: Any, targets: Sequence[tuple[str, Any]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(OTHER_TARGET, _("— choose —")), *targets]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = (data.get("other") or "").strip() or (data.get("target") or "").strip()
        instruction = (data.get("instruction") or "").strip()
        if target and not instruction:
            self.add_error("instruction", _("Say how to correct it."))
        elif instruction and not target:
            self.add_error("target", _("Choose or type what is to be corrected."))
        data["item"] = {"target": target, "instruction": instruction} if target and instruction else None
        return data


class BaseCorrectionFormSet(BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.items():
            raise forms.ValidationError(_("List at least one thing to correct."), code="corrections_required")

    def items(self) -> list[dict[str, str]]:
        return [f.cleaned_data["item"] for f in self.forms if f.cleaned_data.get("item")]


CorrectionFormSet = formset_factory(
    CorrectionRowForm,
    formset=BaseCorrectionFormSet,
    extra=CORRECTION_ROWS,
    max_num=MAX_CORRECTION_ROWS,
    absolute_max=MAX_CORRECTION_ROWS,
    validate_max=True,
)


def correction_formset(data: Any = None, *, targets: Sequence[tuple[str, Any]]) -> BaseCorrectionFormSet:
    return CorrectionFormSet(data, prefix="corr", form_kwargs={"targets": targets})  # type: ignore[return-value]


class NotAcceptForm(DomainForm):
    reason = forms.CharField(
        label=_("Reasons for not accepting"),
        max_length=2000,
        widget=_textarea(),
        help_text=_("Cite the rule: the notice of non-acceptance gives these reasons to the applicant."),
    )


class DecideForm(DomainForm):
    outcome = forms.ChoiceField(label=_("Opinion"), choices=TaskOutcome.choices, widget=forms.HiddenInput)
    opinion = forms.CharField(
        label=_("Opinion and reasons"),
        required=False,
        max_length=2000,
        widget=_textarea(),
        help_text=_("Required when you do not agree: the reasons are given to the applicant."),
    )


class SuspendForm(DomainForm):
    kind = forms.ChoiceField(label=_("Special procedure"), choices=SuspensionKind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=_textarea(2))


class FeeForm(DomainForm):
    """A fee charged on the case (supervised against the catalogue: ``cases.services.case_fee_record``)."""

    amount = forms.CharField(label=_("Amount (yuan)"), max_length=20)
    basis = forms.CharField(label=_("What for, and on what basis"), max_length=500)


class DeliverForm(DomainForm):
    method = forms.ChoiceField(
        label=_("How the result is delivered"),
        choices=DeliveryMethod.choices,
        widget=forms.RadioSelect,
        initial=DeliveryMethod.PICKUP,
    )
    note = forms.CharField(
        label=_("Tracking number, or who collected"),
        required=False,
        max_length=200,
        help_text=_("Required for delivery by post: the postal tracking number."),
    )


class MaterialUploadForm(DomainForm):
    file = forms.FileField(label=_("Scanned file"), help_text=_("PDF, JPEG or PNG."))


class WindowSearchForm(forms.Form):
    q = forms.CharField(label=_("Service item"), required=False, max_length=100)
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, departments: Iterable[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("Any department")), *departments]  # type: ignore[attr-defined]


class WindowIdentifyForm(DomainForm):
    id_number = forms.CharField(
        label=_("Resident ID number or unified social credit code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    name = forms.CharField(
        label=_("Name as on the ID card"),
        max_length=100,
        help_text=_("For an enterprise: its name as on the business licence."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
