"""Forms of the licence staff pages. They parse; the services decide (their errors land on the fields
through ``DomainForm``), so what a service checks is left optional here unless the page must say it
before the service runs (a type's required fields, so that all the missing ones show at once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import DomainError
from tongban.core.forms import DomainForm
from tongban.licences.choices import LicenceStatus, Validity
from tongban.licences.imports import MAX_FILE_BYTES, fill_derived
from tongban.licences.models import LicenceType

ISO_DATE = "%Y-%m-%d"
DATA_PREFIX = "data_"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)


class LicenceFilterForm(forms.Form):
    type = forms.TypedChoiceField(label=_("Licence type"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *LicenceStatus.choices]
    )
    q = forms.CharField(
        label=_("Identifier, holder ID or licence number"),
        required=False,
        max_length=96,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, types: list[LicenceType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["type"]
        field.choices = [("", _("Any type")), *((t.pk, t.name) for t in types)]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"type_id": data["type"], "status": data["status"], "q": data["q"]}


class ReasonForm(DomainForm):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class KeyRotateForm(DomainForm):
    """The reason is required here: the service takes any text, but a key change must say why."""

    reason = forms.CharField(
        label=_("Reason"),
        min_length=2,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the key is replaced (or created).")},
    )


class IssueForm(DomainForm):
    """Issuing one licence of a type by hand: the holder, the licence's number and end date when the
    type needs one, then one field per data field of the type (``data_<key>``)."""

    holder_id = forms.CharField(label=_("Holder ID number or credit code"), max_length=18)
    holder_name = forms.CharField(label=_("Holder name"), max_length=200)
    number = forms.CharField(
        label=_("Licence number"),
        required=False,
        max_length=64,
        help_text=_("The number printed on the licence; left empty, the serial of its identifier is used."),
    )

    def __init__(self, *args: Any, type_: LicenceType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type = type_
        if type_.validity == Validity.GIVEN:
            self.fields["valid_until"] = forms.DateField(
                label=_("Valid until"), widget=_date_input(), input_formats=[ISO_DATE]
            )
        for spec in type_.fields:
            key = str(spec["key"])
            source = str(spec.get("from", ""))
            derived = source in ("holder.name", "holder.id") or source.startswith("fixed:")
            hint: Any = ""
            if source == "holder.name":
                hint = _("Left empty: the holder's name.")
            elif source == "holder.id":
                hint = _("Left empty: the holder's ID number.")
            self.fields[DATA_PREFIX + key] = forms.CharField(
                label=str(spec.get("label") or key),
                required=bool(spec.get("required", True)) and not derived,
                max_length=500,
                initial=source[6:] if source.startswith("fixed:") else None,
                help_text=hint,
            )

    @property
    def data_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith(DATA_PREFIX)]

    @property
    def holder_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if not name.startswith(DATA_PREFIX)]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        holder_id = (data["holder_id"] or "").strip().upper()
        holder_name = (data["holder_name"] or "").strip()
        values = {
            name[len(DATA_PREFIX) :]: value for name, value in data.items() if name.startswith(DATA_PREFIX)
        }
        valid_until: dt.date | None = data.get("valid_until")
        return {
            "holder_id": holder_id,
            "holder_name": holder_name,
            "number": data.get("number") or "",
            "valid_until": valid_until,
            "data": fill_derived(self.type, values, holder_id=holder_id, holder_name=holder_name),
        }

    def add_domain_error(self, error: DomainError) -> None:
        """A data field's error names its key: it goes on ``data_<key>``."""
        if error.code.startswith("licence_field_"):
            for key, messages in error.fields.items():
                name = DATA_PREFIX + key
                for message in messages:
                    self.add_error(name if name in self.fields else None, str(message))
            return
        super().add_domain_error(error)


class CheckForm(DomainForm):
    identifier = forms.CharField(
        label=_("Licence identifier"),
        max_length=96,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("As printed under the QR code: 1.2.156.3005.2.…"),
    )
    case_number = forms.CharField(
        label=_("Case number"),
        required=False,
        max_length=64,
        help_text=_(
            "To see the full licence: the number of a case your department handles, "
            "for which the holder authorised its use."
        ),
    )


class ImportForm(DomainForm):
    type = forms.TypedChoiceField(label=_("Licence type"), coerce=int)
    file = forms.FileField(label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))

    def __init__(self, *args: Any, types: list[LicenceType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8) or Excel workbook (.xlsx), at most %(mb)d MB, in the layout of the type's template."
        ) % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        self.types = {t.pk: t for t in types}
        field: Any = self.fields["type"]
        field.choices = [(t.pk, f"{t.name}（{t.issuing_department.name}）") for t in types]

    def chosen_type(self) -> LicenceType:
        return self.types[self.cleaned_data["type"]]
