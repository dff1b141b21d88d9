"""Writes to the service-item catalogue. Every change is checked, audited and atomic.

Published versions are immutable: cases keep the version they were applied under, so every
service that edits content refuses anything but a draft (``version_not_draft``). Changing a
published item means ``item_version_draft`` (a copy of the published version with its materials),
editing that draft and publishing it, which retires the version it replaces.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.catalog import forms_schema, permissions, processes
from tongban.catalog.choices import (
    Channel,
    ItemLevel,
    ItemType,
    MaterialForm,
    MaterialSource,
    OnlineDepth,
    ResultType,
    ServiceObject,
    VersionStatus,
    Visits,
)
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion, Theme
from tongban.core import audit
from tongban.core.errors import Conflict, ValidationFailed
from tongban.identity.models import Department, User

_BASIC_CODE = re.compile(r"^[0-9A-Z]{6,32}$")
_ITEM_DIGITS = re.compile(r"^\d{4,30}$")

# Version fields an administrator may set, with the choices each must come from (None: free text).
_CHOICE_FIELDS: dict[str, Any] = {
    "item_type": ItemType,
    "level": ItemLevel,
    "visits": Visits,
    "online_depth": OnlineDepth,
    "result_type": ResultType,
    "service_object": ServiceObject,
}
_TEXT_FIELDS = {
    "name": 200,
    "legal_basis": None,
    "conditions": None,
    "fee_amount": 200,
    "fee_basis": None,
    "window_address": 255,
    "window_hours": 255,
    "consultation_phone": 50,
    "complaint_phone": 50,
    "result_name": 200,
}
VERSION_FIELDS = frozenset(
    {*_CHOICE_FIELDS, *_TEXT_FIELDS, "statutory_days", "promised_days", "fee_charged", "channels", "themes"}
)
_COPIED_FIELDS = tuple(sorted(VERSION_FIELDS - {"themes"}))

MATERIAL_FIELDS = frozenset(
    {
        "name",
        "required",
        "form",
        "copies",
        "acceptance_standard",
        "source",
        "source_code",
        "blank_form",
        "sample",
        "may_follow_later",
        "sort_order",
    }
)


def _invalid(field: str, message: str | Promise, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={field: [message]})


# --- field checks ----------------------------------------------------------------------------


def _check_days(field: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise _invalid(
                field, _("Enter the time limit as a whole number of working days."), "time_limit_invalid"
            ) from None
    if value <= 0 or value > 3650:
        raise _invalid(
            field, _("A time limit must be between 1 and 3650 working days."), "time_limit_not_positive"
        )
    return value


def _check_choice(field: str, value: Any, choices: Any) -> Any:
    try:
        return choices(value)
    except ValueError:
        try:
            return choices(int(value))
        except (TypeError, ValueError):
            pass
    raise _invalid(field, _("Choose one of the listed values."), "invalid_choice")


def _check_text(field: str, value: Any, max_length: int | None) -> str:
    text = ("" if value is None else str(value)).strip()
    if max_length is not None and len(text) > max_length:
        raise _invalid(field, _("This text is too long."), "text_too_long")
    return text


def _check_channels(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _invalid("channels", _("Choose one of the listed values."), "invalid_choice")
    result: list[str] = []
    for entry in value:
        channel = _check_choice("channels", entry, Channel)
        if channel.value not in result:
            result.append(channel.value)
    return result


def _check_themes(value: Any) -> list[Theme]:
    codes = [t.code if isinstance(t, Theme) else str(t) for t in value or []]
    themes = list(Theme.objects.filter(code__in=codes))
    if len(themes) != len(set(codes)):
        raise _invalid("themes", _("Choose one of the listed values."), "invalid_choice")
    return themes


def _clean_version_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], list[Theme] | None]:
    unknown = sorted(set(fields) - VERSION_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be set on a service item version: %(fields)s")
            % {"fields": ", ".join(unknown)},
            code="unknown_field",
        )
    clean: dict[str, Any] = {}
    themes: list[Theme] | None = None
    for field, value in fields.items():
        if field in _CHOICE_FIELDS:
            clean[field] = _check_choice(field, value, _CHOICE_FIELDS[field])
        elif field in _TEXT_FIELDS:
            clean[field] = _check_text(field, value, _TEXT_FIELDS[field])
        elif field in ("statutory_days", "promised_days"):
            clean[field] = _check_days(field, value)
        elif field == "fee_charged":
            clean[field] = bool(value)
        elif field == "channels":
            clean[field] = _check_channels(value)
        elif field == "themes":
            themes = _check_themes(value)
    if "name" in clean and not clean["name"]:
        raise _invalid("name", _("Enter the item's name."), "name_required")
    return clean, themes


def _check_time_limits(version: ServiceItemVersion) -> None:
    if (
        version.statutory_days is not None
        and version.promised_days is not None
        and version.promised_days > version.statutory_days
    ):
        raise _invalid(
            "promised_days",
            _("The promised time limit cannot be longer than the statutory one."),
            "promised_exceeds_statutory",
        )


def _ensure_draft(version: ServiceItemVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise Conflict(
            _("Only a draft can be changed; create a new draft version of the item instead."),
            code="version_not_draft",
        )


def _locked_version(version: ServiceItemVersion) -> ServiceItemVersion:
    return (
        ServiceItemVersion.objects.select_for_update().select_related("item__department").get(pk=version.pk)
    )


# --- items and versions ----------------------------------------------------------------------


@transaction.atomic
def item_create(
    *,
    by: User,
    department: Department,
    basic_code: str,
    item_digits: str,
    name: str,
    item_type: str,
    level: str,
    **fields: Any,
) -> ServiceItem:
    """Create an item and its first draft version (v1)."""
    permissions.ensure_can_edit_items_of(by, department)
    basic_code = (basic_code or "").strip().upper()
    if not _BASIC_CODE.match(basic_code):
        raise _invalid(
            "basic_code", _("The basic code is 6 to 32 digits or capital letters."), "basic_code_invalid"
        )
    item_digits = (item_digits or "").strip()
    if not _ITEM_DIGITS.match(item_digits):
        raise _invalid("item_digits", _("The item digits are 4 to 30 digits."), "item_digits_invalid")
    if not department.credit_code:
        raise ValidationFailed(
            _("The implementing department has no unified social credit code."),
            code="department_without_credit_code",
        )
    clean, themes = _clean_version_fields({"name": name, "item_type": item_type, "level": level, **fields})
    implementation_code = f"{department.credit_code}{item_digits}"
    exists = ServiceItem.objects.filter(implementation_code=implementation_code).exists()
    if exists or ServiceItem.objects.filter(department=department, basic_code=basic_code).exists():
        raise Conflict(
            _("An item with this implementation code or basic code already exists for the department."),
            code="item_code_exists",
        )
    try:
        with transaction.atomic():
            item = ServiceItem.objects.create(
                basic_code=basic_code, department=department, implementation_code=implementation_code
            )
    except IntegrityError:
        raise Conflict(
            _("An item with this implementation code or basic code already exists for the department."),
            code="item_code_exists",
        ) from None
    version = ServiceItemVersion(item=item, number=1, status=VersionStatus.DRAFT, created_by=by, **clean)
    _check_time_limits(version)
    version.save()
    if themes:
        version.themes.set(themes)
    audit.record(
        action="catalog.item_create",
        actor=by,
        subject=item,
        summary=clean["name"],
        data={"implementation_code": implementation_code, "basic_code": basic_code, "version": 1},
    )
    return item


@transaction.atomic
def item_version_draft(*, item: ServiceItem, by: User) -> ServiceItemVersion:
    """A new draft copied from the published version (or the latest one), materials included."""
    permissions.ensure_can_edit_items_of(by, item.department)
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    if item.versions.filter(status=VersionStatus.DRAFT).exists():
        raise Conflict(_("This item already has a draft version."), code="draft_exists")
    source = item.current_version or item.versions.order_by("-number").first()
    if source is None:  # pragma: no cover - item_create always makes v1
        raise Conflict(_("This item has no version to copy."), code="no_version")
    number = (item.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = ServiceItemVersion(
        item=item,
        number=number,
        status=VersionStatus.DRAFT,
        created_by=by,
        **{field: getattr(source, field) for field in _COPIED_FIELDS},
    )
    draft.channels = list(source.channels)
    draft.form_schema = copy.deepcopy(source.form_schema)
    draft.process = copy.deepcopy(source.process)
    draft.save()
    draft.themes.set(source.themes.all())
    Material.objects.bulk_create(
        [
            Material(
                version=draft,
                **{field: getattr(material, field) for field in MATERIAL_FIELDS},
            )
            for material in source.materials.all()
        ]
    )
    audit.record(
        action="catalog.version_draft",
        actor=by,
        subject=draft,
        data={"item": item.implementation_code, "number": number, "copied_from": source.number},
    )
    return draft


@transaction.atomic
def item_version_update(*, version: ServiceItemVersion, by: User, **fields: Any) -> ServiceItemVersion:
    """Change fields of a draft; published and retired versions are refused."""
    permissions.ensure_can_edit_items_of(by, version.item.department)
    version = _locked_version(version)
    _ensure_draft(version)
    clean, themes = _clean_version_fields(fields)
    for field, value in clean.items():
        setattr(version, field, value)
    _check_time_limits(version)
    version.save()
    if themes is not None:
        version.themes.set(themes)
    changed = sorted(clean) + (["themes"] if themes is not None else [])
    audit.record(
        action="catalog.version_update",
        actor=by,
        subject=version,
        data={"item": version.item.implementation_code, "number": version.number, "fields": changed},
    )
    return version


@transaction.atomic
def item_version_publish(*, version: ServiceItemVersion, by: User) -> ServiceItemVersion:
    """Publish a draft: it becomes the item's current version and the one it replaces is retired."""
    permissions.ensure_can_edit_items_of(by, version.item.department)
    item = ServiceItem.objects.select_for_update().get(pk=version.item_id)
    version = _locked_version(version)
    _ensure_draft(version)
    problems: dict[str, list[str | Promise]] = {}
    if version.statutory_days is None or version.promised_days is None:
        problems["promised_days"] = [_("Set both the statutory and the promised time limit.")]
    if not version.materials.exists():
        problems["materials"] = [_("List at least one material.")]
    if problems:
        code = "time_limits_missing" if "promised_days" in problems else "materials_missing"
        raise ValidationFailed(
            _("The version is not complete enough to publish."), code=code, fields=problems
        )
    _check_time_limits(version)
    # Both were checked when set; departments may have closed and limits changed since.
    forms_schema.validate_form_schema(version.form_schema)
    processes.validate_process(version.process, promised_days=version.promised_days)
    now = timezone.now()
    previous = item.current_version
    if previous is not None:
        ServiceItemVersion.objects.filter(pk=previous.pk).update(status=VersionStatus.RETIRED, updated_at=now)
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    version.published_by = by
    version.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    item.current_version = version
    item.retired_at = None
    item.save(update_fields=["current_version", "retired_at", "updated_at"])
    audit.record(
        action="catalog.version_publish",
        actor=by,
        subject=version,
        data={
            "item": item.implementation_code,
            "number": version.number,
            "retired": previous.number if previous is not None else None,
        },
    )
    return version


@transaction.atomic
def item_retire(*, item: ServiceItem, by: User) -> ServiceItem:
    """Withdraw an item from the public: its published version is retired; applications stop."""
    permissions.ensure_can_edit_items_of(by, item.department)
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    current = item.current_version
    if current is None:
        raise Conflict(_("This item is not published."), code="item_not_published")
    now = timezone.now()
    item.current_version = None
    item.retired_at = now
    item.save(update_fields=["current_version", "retired_at", "updated_at"])
    ServiceItemVersion.objects.filter(pk=current.pk).update(status=VersionStatus.RETIRED, updated_at=now)
    audit.record(
        action="catalog.item_retire",
        actor=by,
        subject=item,
        data={"item": item.implementation_code, "number": current.number},
    )
    return item


# --- materials -------------------------------------------------------------------------------


def _clean_material_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - MATERIAL_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be set on a material: %(fields)s") % {"fields": ", ".join(unknown)},
            code="unknown_field",
        )
    clean: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "name":
            clean[field] = _check_text(field, value, 200)
            if not clean[field]:
                raise _invalid(field, _("Enter the material's name."), "material_name_required")
        elif field in ("acceptance_standard", "source_code"):
            clean[field] = _check_text(field, value, None if field == "acceptance_standard" else 100)
        elif field == "form":
            clean[field] = _check_choice(field, value, MaterialForm)
        elif field == "source":
            clean[field] = _check_choice(field, value, MaterialSource)
        elif field in ("copies", "sort_order"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = -1
            if not 0 <= number <= 99:
                raise _invalid(field, _("Enter a number from 0 to 99."), "number_invalid")
            clean[field] = number
        elif field in ("required", "may_follow_later"):
            clean[field] = bool(value)
        elif field in ("blank_form", "sample"):
            if value is not None and value != "" and not isinstance(value, File):
                raise _invalid(field, _("Upload a file."), "file_invalid")
            clean[field] = value or ""
    return clean


def _check_material(material: Material) -> None:
    if material.source != MaterialSource.APPLICANT and not material.source_code:
        raise _invalid(
            "source_code",
            _("Say which e-licence type, data resource or earlier step the material comes from."),
            "material_source_code_required",
        )


@transaction.atomic
def material_add(*, version: ServiceItemVersion, by: User, name: str, **fields: Any) -> Material:
    permissions.ensure_can_edit_items_of(by, version.item.department)
    version = _locked_version(version)
    _ensure_draft(version)
    clean = _clean_material_fields({"name": name, **fields})
    if "sort_order" not in clean:
        clean["sort_order"] = min(99, version.materials.count())
    material = Material(version=version, **clean)
    _check_material(material)
    material.save()
    audit.record(
        action="catalog.material_add",
        actor=by,
        subject=material,
        data={"item": version.item.implementation_code, "number": version.number, "name": material.name},
    )
    return material


@transaction.atomic
def material_update(*, material: Material, by: User, **fields: Any) -> Material:
    permissions.ensure_can_edit_items_of(by, material.version.item.department)
    version = _locked_version(material.version)
    _ensure_draft(version)
    material = Material.objects.get(pk=material.pk)
    clean = _clean_material_fields(fields)
    for field, value in clean.items():
        setattr(material, field, value)
    _check_material(material)
    material.save()
    audit.record(
        action="catalog.material_update",
        actor=by,
        subject=material,
        data={"item": version.item.implementation_code, "number": version.number, "fields": sorted(clean)},
    )
    return material


@transaction.atomic
def material_remove(*, material: Material, by: User) -> None:
    permissions.ensure_can_edit_items_of(by, material.version.item.department)
    version = _locked_version(material.version)
    _ensure_draft(version)
    audit.record(
        action="catalog.material_remove",
        actor=by,
        subject=material,
        data={"item": version.item.implementation_code, "number": version.number, "name": material.name},
    )
    Material.objects.filter(pk=material.pk).delete()


# --- application form and process ------------------------------------------------------------


@transaction.atomic
def form_schema_set(*, version: ServiceItemVersion, schema: Any, by: User) -> ServiceItemVersion:
    """Replace a draft's application form with ``schema`` (checked and stored in normal form)."""
    permissions.ensure_can_edit_items_of(by, version.item.department)
    version = _locked_version(version)
    _ensure_draft(version)
    version.form_schema = forms_schema.validate_form_schema(schema)
    version.save(update_fields=["form_schema", "updated_at"])
    audit.record(
        action="catalog.form_set",
        actor=by,
        subject=version,
        data={
            "item": version.item.implementation_code,
            "number": version.number,
            "fields": [field["key"] for field in version.form_schema],
        },
    )
    return version


@transaction.atomic
def process_set(*, version: ServiceItemVersion, stages: Any, by: User) -> ServiceItemVersion:
    """Replace a draft's process definition; the stage limits must fit in the promised limit."""
    permissions.ensure_can_edit_items_of(by, version.item.department)
    version = _locked_version(version)
    _ensure_draft(version)
    version.process = processes.validate_process(stages, promised_days=version.promised_days)
    version.save(update_fields=["process", "updated_at"])
    audit.record(
        action="catalog.process_set",
        actor=by,
        subject=version,
        data={
            "item": version.item.implementation_code,
            "number": version.number,
            "stages": [
                {"name": stage["name"], "days": stage["days"], "departments": stage["departments"]}
                for stage in version.process
            ],
        },
    )
    return version
