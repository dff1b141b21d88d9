"""The catalogue's HTML forms. They only parse: every rule is the services' (errors land on fields)."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.catalog.models import ServiceItem
from tongban.core.forms import DomainForm
from tongban.identity.models import Department
from tongban.resources.choices import (
    DataType,
    DemandStatus,
    Duty,
    OpenType,
    ResourceCategory,
    ResourceFormat,
    ResourceStatus,
    SharingMode,
    SharingType,
    UpdateCycle,
)
from tongban.resources.models import DataResource

_CODES_SPLIT = re.compile(r"[\s、，,;；]+")


def split_codes(text: str) -> list[str]:
    return [part for part in _CODES_SPLIT.split(text or "") if part]


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class ResourceFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, code or summary"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=_blank(ResourceCategory.choices)
    )
    provider = forms.ModelChoiceField(
        label=_("Provider"), required=False, queryset=Department.objects.none(), empty_label="—"
    )
    sharing_type = forms.ChoiceField(
        label=_("Sharing type"), required=False, choices=_blank(SharingType.choices)
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(ResourceStatus.choices))

    def __init__(self, *args: Any, providers: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers  # type: ignore[attr-defined]


class ResourceForm(DomainForm):
    """The metadata of a resource; its items are the ``ItemFormSet`` on the same page."""

    provider = forms.ModelChoiceField(
        label=_("Provider"),
        queryset=Department.objects.none(),
        help_text=_("The department that holds the data and answers for it."),
    )
    category = forms.ChoiceField(label=_("Category (类)"), choices=ResourceCategory.choices, required=False)
    item_code = forms.CharField(
        label=_("Item (项)"), max_length=2, required=False, help_text=_("Two digits, e.g. 01.")
    )
    heading_code = forms.CharField(
        label=_("Heading (目)"), max_length=3, required=False, help_text=_("Three digits, e.g. 001.")
    )
    subheading_code = forms.CharField(
        label=_("Sub-heading (细目)"),
        max_length=3,
        required=False,
        help_text=_("Up to three digits; may be empty."),
    )
    name = forms.CharField(label=pgettext_lazy("resources", "Name"), max_length=200, required=False)
    summary = forms.CharField(
        label=_("Summary"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the resource holds, whom it covers and what it serves."),
    )
    format = forms.ChoiceField(label=_("Format"), choices=ResourceFormat.choices, required=False)
    sharing_type = forms.ChoiceField(
        label=_("Sharing type"), choices=SharingType.choices, required=False, widget=forms.RadioSelect
    )
    sharing_conditions = forms.CharField(
        label=_("Sharing conditions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when shared on conditions: who may use it, for what."),
    )
    not_shared_basis = forms.CharField(
        label=_("Basis for not sharing"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when not shared: the law or rule that withholds it."),
    )
    sharing_modes = forms.MultipleChoiceField(
        label=_("Sharing modes"),
        choices=SharingMode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    open_type = forms.ChoiceField(
        label=_("Open type"), choices=OpenType.choices, required=False, widget=forms.RadioSelect
    )
    open_conditions = forms.CharField(
        label=_("Opening conditions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when open on conditions."),
    )
    update_cycle = forms.ChoiceField(label=_("Update cycle"), choices=UpdateCycle.choices, required=False)
    related_codes = forms.CharField(
        label=_("Related resources"),
        required=False,
        help_text=_("Codes of related resources, separated by 、 or spaces, e.g. 101001/000001."),
    )

    def __init__(
        self,
        *args: Any,
        providers: QuerySet[Department] | None = None,
        classification_fixed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if providers is None:
            del self.fields["provider"]
        else:
            self.fields["provider"].queryset = providers  # type: ignore[attr-defined]
        if classification_fixed:
            for name in ("category", "item_code", "heading_code", "subheading_code"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: the published code is built from it.")

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("provider", None)
        data["related_codes"] = split_codes(data.get("related_codes", ""))
        return data


class CorrectionForm(ResourceForm):
    reason = forms.CharField(
        label=_("Reason for the correction"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What is wrong or missing in the published entry; the office reads it first."),
    )
    field_order = ["reason"]

    def service_values(self) -> dict[str, Any]:
        data = super().service_values()
        data.pop("reason", None)
        return data


class ItemForm(forms.Form):
    key = forms.CharField(label=_("Key"), max_length=64, required=False)
    name = forms.CharField(label=pgettext_lazy("resources", "Name"), max_length=100, required=False)
    data_type = forms.ChoiceField(label=_("Data type"), choices=DataType.choices, initial=DataType.STRING)
    length = forms.CharField(label=_("Length"), max_length=8, required=False)
    sensitive = forms.BooleanField(label=_("Sensitive"), required=False)
    is_key = forms.BooleanField(label=_("Look-up key"), required=False)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)

    def __init__(self, *args: Any, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locked = locked
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-label", str(field.label))
            if name in ("key", "name", "length", "description"):
                field.widget.attrs.setdefault("class", "cell-input")
        if locked:
            # A published item keeps its key, type and look-up role (the exchange's grants name it).
            for name in ("key", "data_type", "is_key"):
                self.fields[name].disabled = True


class BaseItemFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, locked_keys: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        self.locked_keys = locked_keys
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        initial = self.initial or []
        locked = index is not None and index < len(initial) and initial[index].get("key") in self.locked_keys
        return {**kwargs, "locked": locked}

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["aria-label"] = str(_("Remove"))

    def entries(self) -> list[tuple[int, dict[str, Any]]]:
        """(form index, item values) of every row that is filled in and not marked for removal."""
        rows: list[tuple[int, dict[str, Any]]] = []
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            if not data or (data.get("DELETE") and not form.locked):
                continue
            if not form.locked and not any(data.get(n) for n in ("key", "name", "length", "description")):
                continue
            rows.append((index, {k: v for k, v in data.items() if k != "DELETE"}))
        return rows


ItemFormSet = cast(
    type[BaseItemFormSet],
    forms.formset_factory(ItemForm, formset=BaseItemFormSet, extra=5, can_delete=True, max_num=300),
)


class ReasonForm(DomainForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class NoteForm(DomainForm):
    note = forms.CharField(
        label=_("Review note (optional)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class ResponsibilityForm(DomainForm):
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    duty = forms.ChoiceField(label=_("Duty"), choices=Duty.choices)
    contact_name = forms.CharField(label=_("Contact"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30, required=False)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]


class DemandForm(DomainForm):
    department = forms.ModelChoiceField(label=_("Department in need"), queryset=Department.objects.none())
    resource = forms.ModelChoiceField(
        label=_("Catalogued resource"),
        queryset=DataResource.objects.none(),
        required=False,
        empty_label=_("— not catalogued yet —"),
    )
    description = forms.CharField(
        label=_("Data needed"),
        max_length=255,
        required=False,
        help_text=_("When the data is not in the catalogue: what it is and who might hold it."),
    )
    items = forms.MultipleChoiceField(
        label=_("Data items needed"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    item_names = forms.CharField(
        label=_("Data items needed"),
        required=False,
        help_text=_("Item keys of the resource, or the names of the items you need, separated by 、."),
    )
    service_items = forms.ModelMultipleChoiceField(
        label=_("For service items"),
        queryset=ServiceItem.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the data is needed for, and why the current way does not do."),
    )

    def __init__(
        self,
        *args: Any,
        departments: QuerySet[Department],
        resources: QuerySet[DataResource],
        service_items: QuerySet[ServiceItem],
        resource: DataResource | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        self.fields["service_items"].queryset = service_items  # type: ignore[attr-defined]
        self.fields["service_items"].label_from_instance = lambda item: (  # type: ignore[attr-defined]
            f"{item.current_version.name if item.current_version else item.implementation_code}"
            f"（{item.department.short_name or item.department.name}）"
        )
        self.fields["resource"].label_from_instance = lambda r: f"{r.code} {r.name}"  # type: ignore[attr-defined]
        if resource is not None:
            self.fields["resource"].queryset = resources.filter(pk=resource.pk)  # type: ignore[attr-defined]
            self.fields["resource"].initial = resource.pk
            self.fields["resource"].required = True
            self.fields["resource"].empty_label = None  # type: ignore[attr-defined]
            self.fields["items"].choices = [  # type: ignore[attr-defined]
                (item.key, f"{item.name}（{item.key}）") for item in resource.items.all()
            ]
            del self.fields["item_names"]
            del self.fields["description"]
        else:
            self.fields["resource"].queryset = resources  # type: ignore[attr-defined]
            del self.fields["items"]

    def item_list(self) -> list[str]:
        if "items" in self.fields:
            return list(self.cleaned_data.get("items") or [])
        return split_codes(self.cleaned_data.get("item_names", ""))


class DemandAnswerForm(DomainForm):
    status = forms.ChoiceField(
        label=_("Answer"),
        choices=[(DemandStatus.SATISFIED, _("Satisfied")), (DemandStatus.DECLINED, _("Declined"))],
        widget=forms.RadioSelect,
    )
    answer = forms.CharField(
        label=_("Answer to the department"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How the need is met (which resource, how to apply), or why it cannot be."),
    )
    resource = forms.ModelChoiceField(
        label=_("Satisfied by resource"),
        queryset=DataResource.objects.none(),
        required=False,
        empty_label="—",
        help_text=_("For data that was not catalogued: the resource now published for it."),
    )

    def __init__(self, *args: Any, resources: QuerySet[DataResource] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if resources is None:
            del self.fields["resource"]
        else:
            self.fields["resource"].queryset = resources  # type: ignore[attr-defined]
            self.fields["resource"].label_from_instance = lambda r: f"{r.code} {r.name}"  # type: ignore[attr-defined]


class DemandFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(DemandStatus.choices))
    mine = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("All I can see")),
            ("ours", _("Our department's demands")),
            ("to_us", _("Demands on our resources")),
        ],
    )


class ResponsibilityFilterForm(forms.Form):
    q = forms.CharField(label=_("Resource name or code"), required=False, max_length=100)
    duty = forms.ChoiceField(label=_("Duty"), required=False, choices=_blank(Duty.choices))
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.none(), empty_label="—"
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]


class ImportForm(DomainForm):
    file = forms.FileField(
        label=_("Excel workbook"),
        help_text=_("An .xlsx file of at most 10 MB in the layout of the export."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )
