"""Reads of the data resource catalogue.

Staff reads are scoped (``resources_visible_to``): a data officer or administrator sees their own
department's resources in every state and every department's published ones; the catalogue office
sees everything. Another department's draft does not exist for anyone else (``resource_for`` raises
``NotFound``, which pages show as 404).

The exchange reads published resources without a user: ``published_resource_by_code``,
``resource_items``, ``key_item``, ``sensitive_item_keys`` and the hooks ``item_may_be_removed`` /
``item_may_be_retyped`` that say whether a grant naming an item can rely on it staying.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.core.errors import NotFound
from tongban.core.masking import mask_name, mask_phone
from tongban.identity.models import Department, User
from tongban.resources import permissions
from tongban.resources.choices import (
    OPEN_CORRECTION_STATUSES,
    CorrectionStatus,
    DataType,
    DemandStatus,
    OpenType,
    ResourceCategory,
    ResourceFormat,
    ResourceStatus,
    SharingMode,
    SharingType,
    UpdateCycle,
)
from tongban.resources.metadata import METADATA_FIELDS, values_of
from tongban.resources.models import (
    DataItem,
    DataResource,
    ResourceCorrection,
    ResourceDemand,
    ResourceResponsibility,
)

# --- the exchange's view: published resources, no user ---------------------------------------


def published_resources() -> QuerySet[DataResource]:
    return DataResource.objects.filter(status=ResourceStatus.PUBLISHED).select_related("provider")


def published_resource_by_code(code: str) -> DataResource:
    """The published resource with this code, or ``NotFound`` (code ``resource_not_found``)."""
    resource = published_resources().filter(code=str(code).strip()).first()
    if resource is None:
        raise NotFound(_("No published data resource has this code."), code="resource_not_found")
    return resource


def resource_items(resource: DataResource) -> QuerySet[DataItem]:
    """The resource's data items in their catalogue order."""
    return DataItem.objects.filter(resource_id=resource.pk).order_by("sort_order", "pk")


def item_keys(resource: DataResource) -> list[str]:
    return list(resource_items(resource).values_list("key", flat=True))


def key_item(resource: DataResource) -> DataItem | None:
    """The look-up key item (one per resource: a record is queried by its value)."""
    return resource_items(resource).filter(is_key=True).first()


def sensitive_item_keys(resource: DataResource) -> list[str]:
    return list(resource_items(resource).filter(sensitive=True).values_list("key", flat=True))


def _ever_published(resource: DataResource) -> bool:
    return resource.published_on is not None or resource.status in (
        ResourceStatus.PUBLISHED,
        ResourceStatus.RETIRED,
    )


def item_may_be_removed(resource: DataResource, key: str) -> bool:
    """Whether the item ``key`` may disappear from the resource.

    Once a resource has been published the exchange's grants may name any of its items, so none is
    ever removed; a draft that was never published may drop items freely. (A later version may ask
    the exchange whether a grant names the item; the answer for published items stays "no" now.)
    """
    return not _ever_published(resource)


def item_may_be_retyped(resource: DataResource, key: str) -> bool:
    """Whether the data type of item ``key`` may change: only before the resource is first published."""
    return not _ever_published(resource)


def published_items_by_resource(codes: Iterable[str]) -> dict[str, list[DataItem]]:
    """The items of several published resources at once, by resource code (for metadata listings)."""
    items = (
        DataItem.objects.filter(resource__code__in=list(codes), resource__status=ResourceStatus.PUBLISHED)
        .select_related("resource")
        .order_by("resource_id", "sort_order", "pk")
    )
    result: dict[str, list[DataItem]] = {}
    for item in items:
        result.setdefault(item.resource.code, []).append(item)
    return result


# --- staff: the catalogue ---------------------------------------------------------------------


def resources_visible_to(user: User) -> QuerySet[DataResource]:
    if not permissions.uses_catalogue(user):
        return DataResource.objects.none()
    qs = DataResource.objects.select_related("provider")
    if permissions.is_office(user):
        return qs.all()
    return qs.filter(Q(status=ResourceStatus.PUBLISHED) | Q(provider_id=user.department_id))


def resource_for(user: User, resource_id: int) -> DataResource:
    """A resource the user may see, or ``NotFound`` with no hint whether it exists."""
    resource = resources_visible_to(user).filter(pk=resource_id).first()
    if resource is None:
        raise NotFound(_("No such data resource, or it is not yours to see."), code="resource_not_found")
    return resource


def resource_by_code_for(user: User, code: str) -> DataResource:
    resource = resources_visible_to(user).filter(code=str(code).strip()).first()
    if resource is None:
        raise NotFound(_("No such data resource, or it is not yours to see."), code="resource_not_found")
    return resource


def search_resources(
    user: User,
    *,
    q: str = "",
    category: str = "",
    provider_id: int | None = None,
    sharing_type: str = "",
    status: str = "",
) -> QuerySet[DataResource]:
    """The visible resources matching the filters; ``q`` searches the name, code and summary."""
    qs = resources_visible_to(user).annotate(item_count=Count("items"))
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(summary__icontains=q))
    if category:
        qs = qs.filter(category=category)
    if provider_id is not None:
        qs = qs.filter(provider_id=provider_id)
    if sharing_type:
        qs = qs.filter(sharing_type=sharing_type)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("code")


def providers_visible_to(user: User) -> QuerySet[Department]:
    """The departments that provide at least one resource the user sees (for the filter)."""
    ids = resources_visible_to(user).values("provider_id")
    return Department.objects.filter(pk__in=ids).order_by("sort_order", "name")


def resource_detail(resource: DataResource) -> DataResource:
    """The resource with its items, related resources and lists loaded for its page."""
    return (
        DataResource.objects.filter(pk=resource.pk)
        .select_related("provider", "created_by", "reviewed_by")
        .prefetch_related(
            Prefetch("items", queryset=DataItem.objects.order_by("sort_order", "pk")),
            Prefetch("related", queryset=DataResource.objects.select_related("provider")),
        )
        .get()
    )


def related_visible(user: User, resource: DataResource) -> list[DataResource]:
    visible = resources_visible_to(user).filter(pk__in=resource.related.values("pk"))
    return list(visible.order_by("code"))


def resources_referring_to(user: User, resource: DataResource) -> list[DataResource]:
    """Visible resources that name this one among their related resources."""
    return list(resources_visible_to(user).filter(related=resource).order_by("code"))


def review_queue(user: User) -> tuple[QuerySet[DataResource], QuerySet[ResourceCorrection]]:
    """What waits for the catalogue office: new resources and corrections in review, oldest first."""
    permissions.ensure_is_office(user)
    resources = (
        DataResource.objects.filter(status=ResourceStatus.IN_REVIEW)
        .select_related("provider", "created_by")
        .annotate(item_count=Count("items"))
        .order_by("submitted_at", "pk")
    )
    corrections = (
        ResourceCorrection.objects.filter(status=CorrectionStatus.IN_REVIEW)
        .select_related("resource__provider", "created_by")
        .order_by("submitted_at", "pk")
    )
    return resources, corrections


def review_counts(user: User) -> dict[str, int]:
    """Counts for a workbench tile: what waits for this user (the office's queue, own drafts)."""
    counts = {"review": 0, "drafts": 0, "returned": 0, "demands": 0}
    if not permissions.uses_catalogue(user):
        return counts
    if permissions.is_office(user):
        counts["review"] = (
            DataResource.objects.filter(status=ResourceStatus.IN_REVIEW).count()
            + ResourceCorrection.objects.filter(status=CorrectionStatus.IN_REVIEW).count()
        )
    own = DataResource.objects.filter(provider_id=user.department_id, status=ResourceStatus.DRAFT)
    counts["drafts"] = own.count()
    counts["returned"] = own.exclude(review_note="").count()
    counts["demands"] = demands_to_answer(user).count()
    return counts


# --- corrections ------------------------------------------------------------------------------


def open_correction(resource: DataResource) -> ResourceCorrection | None:
    return (
        ResourceCorrection.objects.filter(resource_id=resource.pk, status__in=OPEN_CORRECTION_STATUSES)
        .select_related("created_by")
        .first()
    )


def correction_for(user: User, resource: DataResource) -> ResourceCorrection:
    """The open correction of a resource, for its provider and the office; ``NotFound`` otherwise."""
    correction = open_correction(resource)
    if correction is None or not (
        permissions.acts_for(user, resource.provider) or permissions.is_office(user)
    ):
        raise NotFound(_("This resource has no correction in progress."), code="correction_not_found")
    return correction


def corrections_of(resource: DataResource) -> QuerySet[ResourceCorrection]:
    return ResourceCorrection.objects.filter(resource_id=resource.pk).select_related(
        "created_by", "reviewed_by"
    )


_LABELS: dict[str, Promise] = {
    "category": _("Category (类)"),
    "item_code": _("Item (项)"),
    "heading_code": _("Heading (目)"),
    "subheading_code": _("Sub-heading (细目)"),
    "name": pgettext_lazy("resources", "Name"),
    "summary": _("Summary"),
    "format": _("Format"),
    "sharing_type": _("Sharing type"),
    "sharing_conditions": _("Sharing conditions"),
    "not_shared_basis": _("Basis for not sharing"),
    "sharing_modes": _("Sharing modes"),
    "open_type": _("Open type"),
    "open_conditions": _("Opening conditions"),
    "update_cycle": _("Update cycle"),
    "related_codes": _("Related resources"),
}
_DISPLAY_CHOICES: dict[str, Any] = {
    "category": ResourceCategory,
    "format": ResourceFormat,
    "sharing_type": SharingType,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
}


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def _display(name: str, value: Any) -> str:
    if name in _DISPLAY_CHOICES and value:
        return str(_DISPLAY_CHOICES[name](value).label)
    if name == "sharing_modes":
        return "、".join(str(SharingMode(m).label) for m in value or [])
    if name == "related_codes":
        return "、".join(value or [])
    return str(value or "")


def _item_text(item: dict[str, Any]) -> str:
    parts = [f"{item['name']} ({item['key']})", str(DataType(item["data_type"]).label)]
    if item.get("length"):
        parts.append(str(item["length"]))
    if item.get("sensitive"):
        parts.append(str(_("sensitive")))
    if item.get("is_key"):
        parts.append(str(_("look-up key")))
    if item.get("description"):
        parts.append(str(item["description"]))
    return " · ".join(parts)


def correction_changes(correction: ResourceCorrection) -> list[Change]:
    """What the correction changes in the live resource, field by field and item by item."""
    live = values_of(correction.resource)
    proposed = {**live, **correction.data}
    changes: list[Change] = []
    for name in METADATA_FIELDS:
        before, after = _display(name, live.get(name)), _display(name, proposed.get(name))
        if before != after:
            changes.append(Change(str(_LABELS[name]), before, after))
    live_items = {item["key"]: item for item in live["items"]}
    for item in correction.items:
        old = live_items.get(item.get("key", ""))
        label = str(_("Data item %(key)s") % {"key": item.get("key", "")})
        normalised = {**item, "length": item.get("length") or None}
        if old is None:
            changes.append(Change(label, "", _item_text(normalised)))
        elif _item_text({**old, "length": old.get("length") or None}) != _item_text(normalised):
            changes.append(Change(label, _item_text(old), _item_text(normalised)))
    return changes


# --- the demand list ---------------------------------------------------------------------------


def demands_visible_to(user: User) -> QuerySet[ResourceDemand]:
    """The office sees every demand; a department its own and those on its resources."""
    if not permissions.uses_catalogue(user):
        return ResourceDemand.objects.none()
    qs = ResourceDemand.objects.select_related(
        "department", "resource__provider", "created_by", "answered_by"
    ).prefetch_related("service_items__current_version")
    if permissions.is_office(user):
        return qs.all()
    return qs.filter(Q(department_id=user.department_id) | Q(resource__provider_id=user.department_id))


def demand_for(user: User, demand_id: int) -> ResourceDemand:
    demand = demands_visible_to(user).filter(pk=demand_id).first()
    if demand is None:
        raise NotFound(_("No such demand, or it is not yours to see."), code="demand_not_found")
    return demand


def demands_to_answer(user: User) -> QuerySet[ResourceDemand]:
    """Open demands this user may answer: on their department's resources; the office also those
    for data not catalogued yet."""
    qs = demands_visible_to(user).filter(status=DemandStatus.OPEN)
    if permissions.is_office(user):
        return qs
    return qs.filter(resource__provider_id=user.department_id)


def demands_of(resource: DataResource) -> QuerySet[ResourceDemand]:
    return ResourceDemand.objects.filter(resource_id=resource.pk).select_related("department")


def may_answer(user: User, demand: ResourceDemand) -> bool:
    if demand.resource_id is None:
        return permissions.is_office(user)
    return permissions.acts_for(user, demand.resource.provider)  # type: ignore[union-attr]


# --- the responsibility list -------------------------------------------------------------------


@dataclass(frozen=True)
class ResponsibilityRow:
    """One responsibility entry as a page shows it: the contact masked unless the viewer needs it."""

    entry: ResourceResponsibility
    contact_name: str
    contact_phone: str
    masked: bool


def responsibilities_visible_to(user: User) -> QuerySet[ResourceResponsibility]:
    return (
        ResourceResponsibility.objects.filter(resource__in=resources_visible_to(user))
        .select_related("resource__provider", "department")
        .order_by("resource__code", "duty", "pk")
    )


def responsibility_for(user: User, resource: DataResource, responsibility_id: int) -> ResourceResponsibility:
    entry = responsibilities_visible_to(user).filter(resource_id=resource.pk, pk=responsibility_id).first()
    if entry is None:
        raise NotFound(_("No such responsibility entry."), code="responsibility_not_found")
    return entry


def responsibility_rows(user: User, entries: Iterable[ResourceResponsibility]) -> list[ResponsibilityRow]:
    rows: list[ResponsibilityRow] = []
    for entry in entries:
        full = permissions.sees_contacts(user, provider=entry.resource.provider, responsible=entry.department)
        rows.append(
            ResponsibilityRow(
                entry=entry,
                contact_name=entry.contact_name if full else mask_name(entry.contact_name),
                contact_phone=entry.contact_phone if full else mask_phone(entry.contact_phone),
                masked=not full,
            )
        )
    return rows


def ensure_visible(user: User, resource: DataResource) -> None:
    """For services: refuse a resource the user may not even see, as if it did not exist."""
    if not resources_visible_to(user).filter(pk=resource.pk).exists():
        raise NotFound(_("No such data resource, or it is not yours to see."), code="resource_not_found")
