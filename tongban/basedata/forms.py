"""Forms of the base-database pages. They parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.basedata import selectors
from tongban.basedata.choices import Dataset, JobStatus, QualityTaskStatus, TaskOutcome
from tongban.basedata.datasets import RECONCILABLE, SPECS
from tongban.core.forms import DomainForm
from tongban.identity.models import Department, User


def field_label(dataset: str, name: str) -> str:
    return str(getattr(SPECS[dataset].model._meta.get_field(name), "verbose_name", name))


class _DepartmentField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class _WithDepartment(DomainForm):
    department = _DepartmentField(label=_("Source department"), queryset=Department.objects.none())

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = selectors.departments_for_upload(user)
        field = self.fields["department"]
        field.queryset = choices  # type: ignore[attr-defined]
        if user.department_id and choices.filter(pk=user.department_id).exists():
            field.initial = user.department_id
        field.help_text = _("The department whose records these are; its data officers see the job.")


class ImportForm(_WithDepartment):
    dataset = forms.ChoiceField(label=_("Base database"), choices=Dataset.choices)
    file = forms.FileField(
        label=_("File (.csv or .xlsx)"),
        help_text=_(
            "CSV in UTF-8 or GB18030, or an Excel workbook (first sheet). The first row holds the column "
            "names of the template."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    field_order = ["dataset", "department", "file"]


class ReconciliationForm(_WithDepartment):
    dataset = forms.ChoiceField(
        label=_("Base database"), choices=[(d, Dataset(d).label) for d in RECONCILABLE]
    )
    fields_compared = forms.MultipleChoiceField(
        label=_("Fields to compare"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose fields of the base database chosen above; the file must have their columns."),
    )
    file = forms.FileField(
        label=_("The other source's records (.csv or .xlsx)"),
        help_text=_(
            "With the key column (公民身份号码 or 统一社会信用代码) and a column for each field compared."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    field_order = ["dataset", "fields_compared", "department", "file"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["fields_compared"].choices = [  # type: ignore[attr-defined]
            (f"{dataset}.{name}", f"{Dataset(dataset).label} · {field_label(dataset, name)}")
            for dataset in RECONCILABLE
            for name in SPECS[dataset].reconcilable
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        dataset = data.get("dataset")
        chosen = data.get("fields_compared") or []
        if dataset and chosen:
            wrong = [c for c in chosen if not c.startswith(f"{dataset}.")]
            if wrong:
                self.add_error("fields_compared", _("Choose only fields of the base database chosen above."))
            data["fields"] = [c.split(".", 1)[1] for c in chosen]
        return data


class LookupForm(forms.Form):
    dataset = forms.ChoiceField(
        label=_("Base database"), choices=[(d, Dataset(d).label) for d in selectors.LOOKUP_DATASETS]
    )
    key = forms.CharField(
        label=_("Key"),
        max_length=32,
        help_text=_("Resident ID number, unified social credit code or address code."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class JobFilterForm(forms.Form):
    dataset = forms.ChoiceField(
        label=_("Base database"), required=False, choices=[("", _("All")), *Dataset.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *JobStatus.choices]
    )


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *QualityTaskStatus.choices]
    )


class ResolveForm(DomainForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=TaskOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required unless the base is corrected: what you checked and found."),
    )
