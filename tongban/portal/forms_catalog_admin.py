"""Forms of the administrators' catalogue editors (事项管理).

They check only what a browser can get wrong. The catalogue's services and its validators
(``forms_schema.validate_form_schema``, ``processes.validate_process``) decide the rest, and their
``DomainError.fields`` land back on these forms through ``DomainForm.add_domain_error``. Labels of
model fields come from the catalogue's models, so they read the same as everywhere else.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from tongban.catalog.choices import Channel, ItemLevel, ItemType, VersionStatus
from tongban.catalog.forms_schema import CHOICE_TYPES
from tongban.catalog.models import Material, ServiceItemVersion, Theme
from tongban.core.forms import DomainForm
from tongban.identity.models import Department

VERSION_FORM_FIELDS = (
    "name",
    "item_type",
    "level",
    "service_object",
    "legal_basis",
    "conditions",
    "statutory_days",
    "promised_days",
    "fee_charged",
    "fee_amount",
    "fee_basis",
    "visits",
    "online_depth",
    "window_address",
    "window_hours",
    "consultation_phone",
    "complaint_phone",
    "result_type",
    "result_name",
)
MATERIAL_FORM_FIELDS = (
    "name",
    "required",
    "form",
    "copies",
    "acceptance_standard",
    "source",
    "source_code",
    "may_follow_later",
    "blank_form",
    "sample",
    "sort_order",
)
FIELD_TYPE_LABELS = {
    "text": _("Single-line text"),
    "textarea": _("Multi-line text"),
    "integer": _("Whole number"),
    "decimal": _("Decimal number"),
    "date": _("Date"),
    "choice": _("Single choice"),
    "multichoice": _("Multiple choice"),
    "boolean": _("Tick box"),
    "phone": _("Phone number"),
    "resident_id": _("Resident ID number"),
    "credit_code": _("Unified social credit code"),
    "email": _("E-mail address"),
}
STATUS_FILTERS = (
    ("", _("Any status")),
    (VersionStatus.PUBLISHED.value, _("Published")),
    (VersionStatus.DRAFT.value, _("With an open draft")),
    (VersionStatus.RETIRED.value, _("Retired")),
)
_OPTION_SEPARATOR = "|"


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class ItemFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or implementation code"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_FILTERS)


class ItemCreateForm(DomainForm):
    department = forms.ModelChoiceField(
        label=_("Implementing department"), queryset=Department.objects.none()
    )
    basic_code = forms.CharField(
        label=_("Basic code"),
        max_length=32,
        help_text=_("The same at every level for the same service: 6 to 32 digits or capital letters."),
    )
    item_digits = forms.CharField(
        label=_("Item digits"),
        max_length=30,
        help_text=_(
            "4 to 30 digits; the implementation code is the department's credit code followed by them."
        ),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    item_type = forms.ChoiceField(label=_("Item type"), choices=ItemType.choices)
    level = forms.ChoiceField(label=_("Level"), choices=ItemLevel.choices)

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = departments


class VersionForm(DomainForm):
    """The draft's own fields; the materials, form and process have their own editors."""

    channels = forms.MultipleChoiceField(
        label=_("Channels"), required=False, choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    themes = forms.ModelMultipleChoiceField(
        label=_("Themes"),
        required=False,
        queryset=Theme.objects.all(),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(ServiceItemVersion, fields=VERSION_FORM_FIELDS)
        extra = dict(self.fields)
        self.fields = {name: model_fields[name] for name in VERSION_FORM_FIELDS}
        self.fields.update(extra)
        for name in ("legal_basis", "conditions", "fee_basis"):
            self.fields[name].widget = _textarea(4)

    @staticmethod
    def initial_for(version: ServiceItemVersion) -> dict[str, Any]:
        initial = {name: getattr(version, name) for name in VERSION_FORM_FIELDS}
        initial["channels"] = list(version.channels)
        initial["themes"] = list(version.themes.all())
        return initial


class MaterialForm(DomainForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Material, fields=MATERIAL_FORM_FIELDS))
        self.fields["acceptance_standard"].widget = _textarea(3)

    @staticmethod
    def initial_for(material: Material) -> dict[str, Any]:
        return {name: getattr(material, name) for name in MATERIAL_FORM_FIELDS}

    def changes(self) -> dict[str, Any]:
        """The cleaned values, leaving out file fields nobody touched (so stored files stay)."""
        data = dict(self.cleaned_data)
        for name in ("blank_form", "sample"):
            if name not in self.changed_data:
                data.pop(name, None)
            elif data[name] is False:  # the "clear" box
                data[name] = ""
        return data


class FormFieldForm(DomainForm):
    """One field of the application form, turned into the schema's dictionary by ``definition``."""

    key = forms.CharField(
        label=_("Key"),
        max_length=50,
        help_text=_(
            "Lower-case letters, digits and underscores, starting with a letter, e.g. applicant_name."
        ),
    )
    label = forms.CharField(label=_("Label"), max_length=200)
    type = forms.ChoiceField(label=_("Field type"), choices=list(FIELD_TYPE_LABELS.items()))
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), required=False, max_length=500, widget=_textarea(2))
    options = forms.CharField(
        label=_("Options"),
        required=False,
        widget=_textarea(5),
        help_text=_("For choice fields: one option per line, as value|label or just the label."),
    )
    min_length = forms.IntegerField(
        label=_("Minimum length"),
        required=False,
        min_value=0,
        help_text=_("Characters for text, options ticked for multiple choice."),
    )
    max_length = forms.IntegerField(label=_("Maximum length"), required=False, min_value=0)
    min_value = forms.CharField(
        label=_("Minimum value"),
        required=False,
        max_length=40,
        help_text=_("For numbers and dates (dates as 2026-01-31)."),
    )
    max_value = forms.CharField(label=_("Maximum value"), required=False, max_length=40)
    regex = forms.CharField(
        label=_("Pattern"),
        required=False,
        max_length=200,
        help_text=_("A regular expression text must match."),
    )

    @staticmethod
    def initial_for(field: dict[str, Any]) -> dict[str, Any]:
        options = [
            o["label"] if o["value"] == o["label"] else f"{o['value']}{_OPTION_SEPARATOR}{o['label']}"
            for o in field["options"]
        ]
        return {
            "key": field["key"],
            "label": field["label"],
            "type": field["type"],
            "required": field["required"],
            "help_text": field["help_text"],
            "options": "\n".join(options),
            **field["validation"],
        }

    def definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        options: list[dict[str, str]] = []
        if data["type"] in CHOICE_TYPES:
            for line in data["options"].splitlines():
                if not line.strip():
                    continue
                value, _sep, label = line.partition(_OPTION_SEPARATOR)
                options.append({"value": value.strip(), "label": (label or value).strip()})
        validation: dict[str, Any] = {}
        for rule in ("min_length", "max_length", "min_value", "max_value", "regex"):
            value = data.get(rule)
            if value is None or value == "":
                continue
            if (
                rule in ("min_value", "max_value")
                and data["type"] == "integer"
                and re.fullmatch(r"-?\d+", value)
            ):
                value = int(value)
            validation[rule] = value
        return {
            "key": data["key"].strip(),
            "label": data["label"],
            "type": data["type"],
            "required": data["required"],
            "help_text": data["help_text"],
            "options": options,
            "validation": validation,
        }


class StageForm(DomainForm):
    """One stage of the process; several departments make parallel branches (并联审批)."""

    name = forms.CharField(label=_("Stage name"), max_length=100)
    days = forms.IntegerField(label=_("Working days"), min_value=1, max_value=3650)
    departments = forms.ModelMultipleChoiceField(
        label=_("Handling departments"),
        queryset=Department.objects.none(),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose several for parallel branches: the stage ends when all of them have finished."),
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["departments"]).queryset = departments

    def stage(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "days": data["days"],
            "departments": [d.code for d in data["departments"]],
        }


class ImportForm(DomainForm):
    file = forms.FileField(
        label=_("Excel workbook"),
        help_text=_("An .xlsx file of at most 5 MB in the layout of the export."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )
