"""Writes to the data resource catalogue and its lists. Every change is checked, audited and atomic.

The life of a resource: a provider's data officer creates a draft (the service assigns its code),
edits it and submits it; the catalogue office publishes it or returns it to draft with a reason;
the office retires a published resource. A published resource is never edited in place: its
provider proposes a correction (``correction_save``), the office applies or returns it, and the
live resource keeps serving the exchange unchanged until then. Published data items may be added
to, never removed or retyped, and the look-up key and the classification (hence the code) are fixed.

Errors are ``ValidationFailed`` naming every problem on its field (see ``metadata``), ``Conflict``
for a step the resource's state does not allow, ``PermissionDenied`` for a step the user may not
take and ``NotFound`` for what the user may not even see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.catalog.models import ServiceItem
from tongban.core import audit
from tongban.core.calendar import local_date
from tongban.core.errors import Conflict, NotFound, ValidationFailed
from tongban.identity.models import Department, User
from tongban.resources import permissions, selectors
from tongban.resources.choices import (
    OPEN_CORRECTION_STATUSES,
    CorrectionStatus,
    DemandStatus,
    Duty,
    ResourceStatus,
)
from tongban.resources.metadata import (
    CLASSIFICATION_FIELDS,
    METADATA_FIELDS,
    TEXT_MAX,
    Problems,
    ResourceSpec,
    check_published_items,
    clean_resource,
    normalised,
    values_of,
)
from tongban.resources.models import (
    DataItem,
    DataResource,
    ResourceCodeCounter,
    ResourceCorrection,
    ResourceDemand,
    ResourceResponsibility,
)

MAX_SEQUENCE = 999_999
VALUE_FIELDS = frozenset({*METADATA_FIELDS, "items"})
# 11-digit mainland mobile numbers, or a landline with its area code (0564-3371234, ext. optional).
_PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")


# The columns of a resource row that its metadata writes (``save(update_fields=...)``).
_ROW_FIELDS = (
    "code",
    "category",
    "item_code",
    "heading_code",
    "subheading_code",
    "name",
    "provider_code",
    "summary",
    "format",
    "sharing_type",
    "sharing_conditions",
    "not_shared_basis",
    "sharing_modes",
    "open_type",
    "open_conditions",
    "update_cycle",
    "updated_at",
)


def _invalid(field: str, message: str | Promise, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={field: [message]})


def _required_text(field: str, value: str, *, code: str, message: str | Promise) -> str:
    text = (value or "").strip()
    if not text:
        raise _invalid(field, message, code)
    if len(text) > TEXT_MAX:
        raise _invalid(field, _("At most %(n)s characters, please.") % {"n": TEXT_MAX}, "text_too_long")
    return text


def _check_fields(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - VALUE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be set on a data resource: %(fields)s") % {"fields": ", ".join(unknown)},
            code="unknown_field",
        )


def _audit(action: str, by: User | None, subject: Any, **data: Any) -> None:
    summary = getattr(subject, "audit_label", "")
    audit.record(action=action, actor=by, subject=subject, summary=summary, data=data)


# --- codes ------------------------------------------------------------------------------------


def _next_code(classification: str) -> str:
    """前段码 "/" 后段码: the classification and the next six-digit number under it.

    One upsert creates the classification's counter or counts one more, under the row lock
    (PostgreSQL) or the write lock (SQLite) it takes, held until the transaction commits: two
    drafts created at once never get the same number, and a rolled-back draft gives its number back.
    """
    table = connection.ops.quote_name(ResourceCodeCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (classification, last) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (classification) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [classification],
        )
        number = int(cursor.fetchone()[0])
    if number > MAX_SEQUENCE:
        raise Conflict(
            _("The classification %(c)s has used all 999999 numbers; choose a finer sub-heading.")
            % {"c": classification},
            code="resource_code_exhausted",
        )
    return f"{classification}/{number:06d}"


# --- shared checks ----------------------------------------------------------------------------


def _provider_code(problems: Problems, provider: Department) -> str:
    if not provider.credit_code:
        problems.add(
            "provider",
            "provider_code_missing",
            _(
                "The providing department has no unified social credit code on record; "
                "ask an administrator to add it."
            ),
        )
        return ""
    return provider.credit_code


def _related(by: User, spec: ResourceSpec, own: DataResource | None) -> list[DataResource]:
    """The related resources named by code: each must exist, be visible and not be the resource."""
    if not spec.related_codes:
        return []
    found = {
        r.code: r
        for r in selectors.resources_visible_to(by)
        .filter(code__in=spec.related_codes)
        .exclude(status=ResourceStatus.RETIRED)
    }
    problems = Problems()
    for code in spec.related_codes:
        if own is not None and code == own.code:
            problems.add("related_codes", "related_self", _("A resource cannot be related to itself."))
        elif code not in found:
            problems.add(
                "related_codes",
                "related_unknown",
                _("No data resource you can see has the code %(code)s.") % {"code": code},
            )
    problems.raise_if_any()
    return [found[code] for code in spec.related_codes]


def _name_taken() -> ValidationFailed:
    return _invalid(
        "name",
        _("The providing department already has a resource of this name."),
        "name_taken",
    )


def _write_fields(resource: DataResource, spec: ResourceSpec) -> None:
    for name in METADATA_FIELDS:
        if name in ("related_codes", "sharing_modes"):
            continue
        setattr(resource, name, getattr(spec, name))
    resource.sharing_modes = list(spec.sharing_modes)


def _replace_items(resource: DataResource, spec: ResourceSpec) -> None:
    DataItem.objects.filter(resource=resource).delete()
    DataItem.objects.bulk_create(
        [
            DataItem(resource=resource, sort_order=position, **item.as_dict())
            for position, item in enumerate(spec.items)
        ]
    )


def _merge_items(resource: DataResource, spec: ResourceSpec) -> list[str]:
    """Update the items the spec keeps (by key) and add the new ones; returns the keys added."""
    existing = {item.key: item for item in DataItem.objects.filter(resource=resource)}
    added: list[str] = []
    for position, item in enumerate(spec.items):
        row = existing.get(item.key)
        if row is None:
            DataItem.objects.create(resource=resource, sort_order=position, **item.as_dict())
            added.append(item.key)
            continue
        row.name, row.length, row.sensitive = item.name, item.length, item.sensitive
        row.description, row.sort_order = item.description, position
        row.save(update_fields=["name", "length", "sensitive", "description", "sort_order"])
    return added


def _save_new_name(resource: DataResource, fields: list[str] | None = None) -> None:
    """Save, turning the one-live-name-per-provider constraint into a field error."""
    try:
        with transaction.atomic():
            if fields is None:
                resource.save(force_insert=True)
            else:
                resource.save(update_fields=fields)
    except IntegrityError as exc:
        text = str(exc)
        if "resources_name_unique_per_provider" in text or "resources_dataresource.name" in text:
            raise _name_taken() from None
        raise


def _locked(resource: DataResource) -> DataResource:
    return DataResource.objects.select_for_update().select_related("provider").get(pk=resource.pk)


def _changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return sorted(name for name in (*METADATA_FIELDS, "items") if before.get(name) != after.get(name))


# --- resources --------------------------------------------------------------------------------


@transaction.atomic
def resource_create(*, by: User, provider: Department, **values: Any) -> DataResource:
    """A new draft of ``provider``'s, with its data items and a code assigned from its classification."""
    permissions.ensure_acts_for(by, provider)
    _check_fields(values)
    problems = Problems()
    provider_code = _provider_code(problems, provider)
    spec = clean_resource(values, problems=problems)
    related = _related(by, spec, None)
    resource = DataResource(
        provider=provider, provider_code=provider_code, created_by=by, status=ResourceStatus.DRAFT
    )
    _write_fields(resource, spec)
    resource.code = _next_code(spec.classification)
    _save_new_name(resource)
    _replace_items(resource, spec)
    resource.related.set(related)
    _audit(
        "resource.create",
        by,
        resource,
        code=resource.code,
        name=resource.name,
        provider=provider.code,
        items=[item.key for item in spec.items],
    )
    return resource


@transaction.atomic
def resource_update(*, resource: DataResource, by: User, **changes: Any) -> DataResource:
    """Change a draft: any metadata field and the whole list of data items (``items``).

    A new classification gives the draft a new code under it (a draft's code is not yet in use).
    """
    resource = _locked(resource)
    permissions.ensure_acts_for(by, resource.provider)
    if resource.status != ResourceStatus.DRAFT:
        raise Conflict(
            _("Only a draft can be edited; propose a correction of a published resource instead."),
            code="resource_not_draft",
        )
    _check_fields(changes)
    before = values_of(resource)
    problems = Problems()
    provider_code = _provider_code(problems, resource.provider)
    spec = clean_resource({**before, **changes}, problems=problems)
    related = _related(by, spec, resource)
    old_code = resource.code
    old_classification = resource.classification
    _write_fields(resource, spec)
    resource.provider_code = provider_code
    if spec.classification != old_classification:
        resource.code = _next_code(spec.classification)
    _save_new_name(resource, fields=list(_ROW_FIELDS))
    _replace_items(resource, spec)
    resource.related.set(related)
    changed = _changed_fields(normalised(before), spec.as_values())
    _audit("resource.update", by, resource, code=resource.code, old_code=old_code, changed=changed)
    return resource


def _transition(resource: DataResource, *, expected: str, code: str, message: str | Promise) -> None:
    if resource.status != expected:
        raise Conflict(message, code=code)


@transaction.atomic
def resource_submit(*, resource: DataResource, by: User, at: datetime | None = None) -> DataResource:
    """Send a draft to the catalogue office for review."""
    resource = _locked(resource)
    permissions.ensure_acts_for(by, resource.provider)
    _transition(
        resource,
        expected=ResourceStatus.DRAFT,
        code="resource_not_draft",
        message=_("Only a draft can be submitted for review."),
    )
    resource.status = ResourceStatus.IN_REVIEW
    resource.submitted_at = at or timezone.now()
    resource.save(update_fields=["status", "submitted_at", "updated_at"])
    _audit("resource.submit", by, resource, code=resource.code)
    return resource


@transaction.atomic
def resource_withdraw(*, resource: DataResource, by: User) -> DataResource:
    """Take a resource back from review to draft, before the office has decided."""
    resource = _locked(resource)
    permissions.ensure_acts_for(by, resource.provider)
    _transition(
        resource,
        expected=ResourceStatus.IN_REVIEW,
        code="resource_not_in_review",
        message=_("Only a resource in review can be withdrawn."),
    )
    resource.status = ResourceStatus.DRAFT
    resource.save(update_fields=["status", "updated_at"])
    _audit("resource.withdraw", by, resource, code=resource.code)
    return resource


@transaction.atomic
def resource_publish(
    *, resource: DataResource, by: User, note: str = "", at: datetime | None = None
) -> DataResource:
    """The office accepts a resource in review: it is published (发布) and the exchange may serve it."""
    permissions.ensure_is_office(by)
    resource = _locked(resource)
    _transition(
        resource,
        expected=ResourceStatus.IN_REVIEW,
        code="resource_not_in_review",
        message=_("Only a resource in review can be published."),
    )
    moment = at or timezone.now()
    resource.status = ResourceStatus.PUBLISHED
    resource.published_on = local_date(moment)
    resource.reviewed_by = by
    resource.reviewed_at = moment
    resource.review_note = (note or "").strip()[:TEXT_MAX]
    resource.save(
        update_fields=["status", "published_on", "reviewed_by", "reviewed_at", "review_note", "updated_at"]
    )
    _audit("resource.publish", by, resource, code=resource.code, published_on=resource.published_on)
    return resource


@transaction.atomic
def resource_return(
    *, resource: DataResource, by: User, reason: str, at: datetime | None = None
) -> DataResource:
    """The office sends a resource in review back to its provider as a draft, saying why."""
    permissions.ensure_is_office(by)
    reason = _required_text(
        "reason", reason, code="return_reason_required", message=_("Say what the provider must change.")
    )
    resource = _locked(resource)
    _transition(
        resource,
        expected=ResourceStatus.IN_REVIEW,
        code="resource_not_in_review",
        message=_("Only a resource in review can be returned."),
    )
    resource.status = ResourceStatus.DRAFT
    resource.reviewed_by = by
    resource.reviewed_at = at or timezone.now()
    resource.review_note = reason
    resource.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "updated_at"])
    _audit("resource.return", by, resource, code=resource.code, reason=reason)
    return resource


@transaction.atomic
def resource_retire(
    *, resource: DataResource, by: User, reason: str, at: datetime | None = None
) -> DataResource:
    """The office takes a published resource out of the catalogue (撤销); the exchange stops serving it."""
    permissions.ensure_is_office(by)
    reason = _required_text(
        "reason", reason, code="retire_reason_required", message=_("Say why the resource is retired.")
    )
    resource = _locked(resource)
    _transition(
        resource,
        expected=ResourceStatus.PUBLISHED,
        code="resource_not_published",
        message=_("Only a published resource can be retired."),
    )
    resource.status = ResourceStatus.RETIRED
    resource.retired_at = at or timezone.now()
    resource.retire_reason = reason
    resource.save(update_fields=["status", "retired_at", "retire_reason", "updated_at"])
    discarded = ResourceCorrection.objects.filter(
        resource=resource, status__in=OPEN_CORRECTION_STATUSES
    ).update(status=CorrectionStatus.DISCARDED, updated_at=timezone.now())
    _audit(
        "resource.retire", by, resource, code=resource.code, reason=reason, corrections_discarded=discarded
    )
    return resource


@transaction.atomic
def resource_discard(*, resource: DataResource, by: User) -> None:
    """Delete a draft that was never published (its code is not reused)."""
    resource = _locked(resource)
    permissions.ensure_acts_for(by, resource.provider)
    _transition(
        resource,
        expected=ResourceStatus.DRAFT,
        code="resource_not_draft",
        message=_("Only a draft can be discarded."),
    )
    _audit("resource.discard", by, resource, code=resource.code, name=resource.name)
    resource.delete()


# --- corrections of published resources ------------------------------------------------------


def _check_classification_kept(problems: Problems, resource: DataResource, values: Mapping[str, Any]) -> None:
    for name in CLASSIFICATION_FIELDS:
        if str(values.get(name, "") or "").strip() != getattr(resource, name):
            problems.add(
                name,
                "classification_fixed",
                _("A published resource keeps its classification: its code is in use."),
            )


def _clean_correction(
    resource: DataResource, values: Mapping[str, Any], by: User
) -> tuple[ResourceSpec, list[DataResource]]:
    problems = Problems()
    _check_classification_kept(problems, resource, values)
    spec = clean_resource(values, problems=problems)
    published = list(DataItem.objects.filter(resource=resource).order_by("sort_order", "pk"))
    check_published_items(problems, published, spec.items)
    problems.raise_if_any()
    return spec, _related(by, spec, resource)


@transaction.atomic
def correction_save(*, resource: DataResource, by: User, reason: str, **changes: Any) -> ResourceCorrection:
    """Start or edit the correction of a published resource; the live resource does not change yet."""
    resource = _locked(resource)
    permissions.ensure_acts_for(by, resource.provider)
    if resource.status != ResourceStatus.PUBLISHED:
        raise Conflict(
            _("Only a published resource is corrected this way; edit a draft directly."),
            code="resource_not_published",
        )
    _check_fields(changes)
    correction = (
        ResourceCorrection.objects.select_for_update()
        .filter(resource=resource, status__in=OPEN_CORRECTION_STATUSES)
        .first()
    )
    if correction is not None and correction.status == CorrectionStatus.IN_REVIEW:
        raise Conflict(
            _("The correction is in review; withdraw it before changing it."), code="correction_in_review"
        )
    reason = _required_text(
        "reason",
        reason,
        code="correction_reason_required",
        message=_("Say what the correction is for."),
    )
    base = values_of(resource)
    if correction is not None:
        base = {**base, **correction.data, "items": correction.items}
    spec, _related_rows = _clean_correction(resource, {**base, **changes}, by)
    created = correction is None
    if correction is None:
        correction = ResourceCorrection(resource=resource, created_by=by)
    correction.reason = reason
    correction.data = spec.metadata()
    correction.items = spec.items_as_dicts()
    try:
        with transaction.atomic():
            correction.save()
    except IntegrityError:
        raise Conflict(
            _("Someone else has just started a correction of this resource."), code="correction_exists"
        ) from None
    _audit(
        "resource.correction_save",
        by,
        correction,
        code=resource.code,
        created=created,
        changed=_changed_fields(normalised(values_of(resource)), spec.as_values()),
    )
    return correction


def _locked_correction(correction: ResourceCorrection) -> ResourceCorrection:
    return (
        ResourceCorrection.objects.select_for_update()
        .select_related("resource__provider")
        .get(pk=correction.pk)
    )


def _correction_state(correction: ResourceCorrection, expected: str, message: str | Promise) -> None:
    if correction.status != expected:
        code = "correction_not_draft" if expected == CorrectionStatus.DRAFT else "correction_not_in_review"
        raise Conflict(message, code=code)


@transaction.atomic
def correction_submit(*, correction: ResourceCorrection, by: User) -> ResourceCorrection:
    correction = _locked_correction(correction)
    resource = correction.resource
    permissions.ensure_acts_for(by, resource.provider)
    _correction_state(correction, CorrectionStatus.DRAFT, _("Only a draft correction can be submitted."))
    proposed = {**values_of(resource), **correction.data, "items": correction.items}
    if normalised(proposed) == normalised(values_of(resource)):
        raise ValidationFailed(_("The correction changes nothing yet."), code="correction_unchanged")
    correction.status = CorrectionStatus.IN_REVIEW
    correction.submitted_at = timezone.now()
    correction.save(update_fields=["status", "submitted_at", "updated_at"])
    _audit("resource.correction_submit", by, correction, code=resource.code)
    return correction


@transaction.atomic
def correction_withdraw(*, correction: ResourceCorrection, by: User) -> ResourceCorrection:
    correction = _locked_correction(correction)
    permissions.ensure_acts_for(by, correction.resource.provider)
    _correction_state(
        correction, CorrectionStatus.IN_REVIEW, _("Only a correction in review can be withdrawn.")
    )
    correction.status = CorrectionStatus.DRAFT
    correction.save(update_fields=["status", "updated_at"])
    _audit("resource.correction_withdraw", by, correction, code=correction.resource.code)
    return correction


@transaction.atomic
def correction_apply(
    *, correction: ResourceCorrection, by: User, note: str = "", at: datetime | None = None
) -> DataResource:
    """The office accepts a correction: the published resource takes its metadata and items."""
    permissions.ensure_is_office(by)
    correction = _locked_correction(correction)
    _correction_state(
        correction, CorrectionStatus.IN_REVIEW, _("Only a correction in review can be applied.")
    )
    resource = _locked(correction.resource)
    if resource.status != ResourceStatus.PUBLISHED:
        raise Conflict(_("The resource is no longer published."), code="resource_not_published")
    before = normalised(values_of(resource))
    spec, related = _clean_correction(
        resource, {**values_of(resource), **correction.data, "items": correction.items}, by
    )
    _write_fields(resource, spec)
    _save_new_name(resource, fields=list(_ROW_FIELDS))
    added = _merge_items(resource, spec)
    resource.related.set(related)
    moment = at or timezone.now()
    correction.status = CorrectionStatus.APPLIED
    correction.reviewed_by = by
    correction.reviewed_at = moment
    correction.review_note = (note or "").strip()[:TEXT_MAX]
    correction.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "updated_at"])
    _audit(
        "resource.correction_apply",
        by,
        resource,
        code=resource.code,
        correction=correction.pk,
        changed=_changed_fields(before, spec.as_values()),
        items_added=added,
    )
    return resource


@transaction.atomic
def correction_return(*, correction: ResourceCorrection, by: User, reason: str) -> ResourceCorrection:
    permissions.ensure_is_office(by)
    reason = _required_text(
        "reason", reason, code="return_reason_required", message=_("Say what the provider must change.")
    )
    correction = _locked_correction(correction)
    _correction_state(
        correction, CorrectionStatus.IN_REVIEW, _("Only a correction in review can be returned.")
    )
    correction.status = CorrectionStatus.DRAFT
    correction.reviewed_by = by
    correction.reviewed_at = timezone.now()
    correction.review_note = reason
    correction.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note", "updated_at"])
    _audit("resource.correction_return", by, correction, code=correction.resource.code, reason=reason)
    return correction


@transaction.atomic
def correction_discard(*, correction: ResourceCorrection, by: User) -> ResourceCorrection:
    correction = _locked_correction(correction)
    permissions.ensure_acts_for(by, correction.resource.provider)
    _correction_state(correction, CorrectionStatus.DRAFT, _("Only a draft correction can be discarded."))
    correction.status = CorrectionStatus.DISCARDED
    correction.save(update_fields=["status", "updated_at"])
    _audit("resource.correction_discard", by, correction, code=correction.resource.code)
    return correction


# --- the demand list --------------------------------------------------------------------------


def _service_items(entries: Iterable[ServiceItem]) -> list[ServiceItem]:
    items = list(entries)
    published = set(
        ServiceItem.objects.filter(pk__in=[i.pk for i in items], current_version__isnull=False).values_list(
            "pk", flat=True
        )
    )
    if any(item.pk not in published for item in items):
        raise _invalid("service_items", _("Choose published service items only."), "service_item_unknown")
    return items


@transaction.atomic
def demand_create(
    *,
    by: User,
    department: Department,
    purpose: str,
    resource: DataResource | None = None,
    description: str = "",
    items: Sequence[str] = (),
    service_items: Iterable[ServiceItem] = (),
) -> ResourceDemand:
    """Record that ``department`` needs a resource (or data not yet catalogued), which items, and why."""
    permissions.ensure_acts_for(by, department)
    description = (description or "").strip()
    wanted = [str(i).strip() for i in items if str(i).strip()]
    wanted = sorted(set(wanted), key=wanted.index)
    if resource is not None:
        selectors.ensure_visible(by, resource)
        if resource.status != ResourceStatus.PUBLISHED:
            raise _invalid(
                "resource",
                _("Only a published resource can be asked for; describe other data in words."),
                "demand_resource_not_published",
            )
        if resource.provider_id == department.pk:
            raise _invalid(
                "resource", _("A department does not ask for its own resource."), "demand_own_resource"
            )
        known = set(selectors.item_keys(resource))
        unknown = [key for key in wanted if key not in known]
        if unknown:
            raise _invalid(
                "items",
                _("These are not data items of the resource: %(items)s.") % {"items": "、".join(unknown)},
                "demand_items_unknown",
            )
    elif not description:
        raise _invalid(
            "description",
            _("Choose a catalogued resource or describe the data you need."),
            "demand_target_required",
        )
    if len(description) > 255:
        raise _invalid("description", _("At most %(n)s characters, please.") % {"n": 255}, "text_too_long")
    purpose = _required_text(
        "purpose",
        purpose,
        code="purpose_required",
        message=_("Say what the data is needed for."),
    )
    chosen = _service_items(service_items)
    demand = ResourceDemand.objects.create(
        department=department,
        resource=resource,
        description=description,
        items=wanted,
        purpose=purpose,
        created_by=by,
    )
    demand.service_items.set(chosen)
    _audit(
        "resource.demand_create",
        by,
        demand,
        department=department.code,
        resource=resource.code if resource else None,
        items=wanted,
        service_items=[i.implementation_code for i in chosen],
    )
    return demand


@transaction.atomic
def demand_answer(
    *,
    demand: ResourceDemand,
    by: User,
    status: str,
    answer: str = "",
    resource: DataResource | None = None,
) -> ResourceDemand:
    """The provider (or, for data not catalogued, the office) answers: satisfied or declined.

    A demand for data not yet catalogued may be satisfied by naming the resource now published.
    """
    demand = (
        ResourceDemand.objects.select_for_update(of=("self",))
        .select_related("resource__provider")
        .get(pk=demand.pk)
    )
    if demand.resource is not None:
        permissions.ensure_acts_for(by, demand.resource.provider)
    else:
        permissions.ensure_is_office(by)
    if demand.status != DemandStatus.OPEN:
        raise Conflict(_("This demand has already been answered or withdrawn."), code="demand_not_open")
    if status not in (DemandStatus.SATISFIED, DemandStatus.DECLINED):
        raise _invalid("status", _("Choose satisfied or declined."), "demand_status_invalid")
    answer = (answer or "").strip()
    if status == DemandStatus.DECLINED and not answer:
        raise _invalid("answer", _("Say why the demand is declined."), "answer_required")
    if len(answer) > TEXT_MAX:
        raise _invalid("answer", _("At most %(n)s characters, please.") % {"n": TEXT_MAX}, "text_too_long")
    fields = ["status", "answer", "answered_by", "answered_at", "updated_at"]
    if resource is not None and demand.resource is None:
        if resource.status != ResourceStatus.PUBLISHED:
            raise _invalid("resource", _("Name a published resource."), "demand_resource_not_published")
        demand.resource = resource
        fields.append("resource")
    demand.status = status
    demand.answer = answer
    demand.answered_by = by
    demand.answered_at = timezone.now()
    demand.save(update_fields=fields)
    _audit(
        "resource.demand_answer",
        by,
        demand,
        status=status,
        resource=demand.resource.code if demand.resource else None,
    )
    return demand


@transaction.atomic
def demand_withdraw(*, demand: ResourceDemand, by: User) -> ResourceDemand:
    demand = ResourceDemand.objects.select_for_update().select_related("department").get(pk=demand.pk)
    permissions.ensure_acts_for(by, demand.department)
    if demand.status != DemandStatus.OPEN:
        raise Conflict(_("This demand has already been answered or withdrawn."), code="demand_not_open")
    demand.status = DemandStatus.WITHDRAWN
    demand.save(update_fields=["status", "updated_at"])
    _audit("resource.demand_withdraw", by, demand)
    return demand


# --- the responsibility list ------------------------------------------------------------------


@transaction.atomic
def responsibility_set(
    *,
    resource: DataResource,
    by: User,
    department: Department,
    duty: str,
    contact_name: str,
    contact_phone: str,
    note: str = "",
) -> ResourceResponsibility:
    """Say which department collects, maintains, answers for or serves the resource, and its contact.

    One entry per resource, department and duty: setting it again replaces the contact.
    """
    resource = _locked(resource)
    permissions.ensure_acts_for(by, resource.provider)
    if resource.status == ResourceStatus.RETIRED:
        raise Conflict(_("The resource is retired."), code="resource_retired")
    if duty not in Duty.values:
        raise _invalid("duty", _("Choose one of the listed duties."), "duty_invalid")
    contact_name = (contact_name or "").strip()
    if not contact_name or len(contact_name) > 50:
        raise _invalid(
            "contact_name", _("Enter the contact's name (at most 50 characters)."), "contact_name_required"
        )
    contact_phone = re.sub(r"\s+", "", contact_phone or "")
    if not _PHONE.match(contact_phone):
        raise _invalid(
            "contact_phone",
            _("Enter a mobile number or a landline with its area code, e.g. 0564-3371234."),
            "contact_phone_invalid",
        )
    note = (note or "").strip()[:255]
    entry = (
        ResourceResponsibility.objects.select_for_update()
        .filter(resource=resource, department=department, duty=duty)
        .first()
    )
    created = entry is None
    if entry is None:
        entry = ResourceResponsibility(resource=resource, department=department, duty=duty)
    entry.contact_name, entry.contact_phone, entry.note = contact_name, contact_phone, note
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        raise Conflict(
            _("This department already has this duty for the resource."), code="responsibility_exists"
        ) from None
    audit.record(
        action="resource.responsibility_set",
        actor=by,
        subject=resource,
        summary=resource.audit_label,
        data={"code": resource.code, "department": department.code, "duty": duty, "created": created},
    )
    return entry


@transaction.atomic
def responsibility_remove(*, responsibility: ResourceResponsibility, by: User) -> None:
    entry = (
        ResourceResponsibility.objects.select_for_update()
        .select_related("resource__provider", "department")
        .filter(pk=responsibility.pk)
        .first()
    )
    if entry is None:
        raise NotFound(_("No such responsibility entry."), code="responsibility_not_found")
    permissions.ensure_acts_for(by, entry.resource.provider)
    audit.record(
        action="resource.responsibility_remove",
        actor=by,
        subject=entry.resource,
        summary=entry.resource.audit_label,
        data={"code": entry.resource.code, "department": entry.department.code, "duty": entry.duty},
    )
    entry.delete()
