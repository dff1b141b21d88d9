"""Reads of the exchange, scoped to what the asking staff member or system may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from tongban.core.errors import NotFound
from tongban.exchange import permissions
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import (
    OPEN_GRANT_STATUSES,
    AccessGrant,
    CallRecord,
    CallStatDay,
    ResourceSource,
    UpstreamSystem,
)
from tongban.identity.models import User
from tongban.identity.selectors import departments_in_jurisdiction
from tongban.resources.choices import ResourceStatus
from tongban.resources.models import DataItem, DataResource


def effective_status(grant: AccessGrant, today: dt.date | None = None) -> str:
    """The status a call would see: an active or suspended grant past its period is expired."""
    today = today or timezone.localdate()
    if grant.status in (GrantStatus.ACTIVE, GrantStatus.SUSPENDED) and grant.valid_until < today:
        return GrantStatus.EXPIRED
    return grant.status


# --- for department systems (metadata API) ---------------------------------------------------


def _with_items(qs: QuerySet[DataResource]) -> QuerySet[DataResource]:
    return qs.select_related("provider").prefetch_related(
        Prefetch("items", queryset=DataItem.objects.order_by("sort_order", "pk"))
    )


def client_resources(department_id: int) -> list[tuple[DataResource, AccessGrant]]:
    """The published resources the department holds an open grant or application for."""
    grants = (
        AccessGrant.objects.filter(
            consumer_id=department_id,
            status__in=OPEN_GRANT_STATUSES,
            resource__status=ResourceStatus.PUBLISHED,
        )
        .select_related("resource", "resource__provider")
        .prefetch_related(Prefetch("resource__items", queryset=DataItem.objects.order_by("sort_order", "pk")))
        .order_by("resource__code")
    )
    return [(g.resource, g) for g in grants]


def client_resource(department_id: int, code: str) -> tuple[DataResource, AccessGrant | None]:
    """One published resource by code, with the department's open grant if it has one."""
    resource = _with_items(DataResource.objects.filter(code=code, status=ResourceStatus.PUBLISHED)).first()
    if resource is None:
        raise NotFound("No published resource has this code.", code="resource_not_found")
    grant = AccessGrant.objects.filter(
        consumer_id=department_id, resource=resource, status__in=OPEN_GRANT_STATUSES
    ).first()
    return resource, grant


# --- for staff -------------------------------------------------------------------------------


def grants_for_staff(user: User) -> QuerySet[AccessGrant]:
    """Grants where the user acts for the consumer or the provider."""
    return (
        AccessGrant.objects.filter(permissions.department_scope_q(user, "consumer", "resource__provider"))
        .select_related("consumer", "resource", "resource__provider", "requested_by", "decided_by")
        .order_by("-created_at", "-pk")
    )


def grant_for_staff(user: User, pk: int) -> AccessGrant:
    grant = grants_for_staff(user).filter(pk=pk).first()
    if grant is None:
        raise NotFound("No such grant, or it is not yours to see.", code="grant_not_found")
    return grant


def grants_to_decide(user: User) -> QuerySet[AccessGrant]:
    """Pending applications for resources the user's department provides (or, for administrators,
    provided in their jurisdiction)."""
    return grants_for_staff(user).filter(
        permissions.department_scope_q(user, "resource__provider"), status=GrantStatus.PENDING
    )


def grantable_resources(user: User) -> QuerySet[DataResource]:
    """Published resources a department may apply for (everything shared)."""
    return (
        DataResource.objects.filter(status=ResourceStatus.PUBLISHED)
        .exclude(sharing_type="not_shared")
        .select_related("provider")
        .order_by("code")
    )


def calls_for_staff(
    user: User,
    *,
    resource_id: int | None = None,
    consumer_id: int | None = None,
    outcome: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[CallRecord]:
    """Calls on the user's department's resources (who called its data and why) and calls its own
    systems made; an administrator's jurisdiction for either side."""
    provider_q = Q(pk__in=[])
    if permissions.is_data_staff(user) and user.department_id:
        provider_q |= Q(provider_department_id=user.department_id)
    if permissions.is_administrator(user):
        provider_q |= Q(provider_department_id__in=departments_in_jurisdiction(user).values("pk"))
    qs = CallRecord.objects.filter(permissions.department_scope_q(user, "consumer_department") | provider_q)
    if resource_id:
        qs = qs.filter(resource_id=resource_id)
    if consumer_id:
        qs = qs.filter(consumer_department_id=consumer_id)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if since:
        qs = qs.filter(requested_at__gte=since)
    if until:
        qs = qs.filter(requested_at__lt=until)
    return qs.select_related("consumer_department", "resource").order_by("-requested_at")


def daily_stats(
    user: User,
    *,
    first: dt.date,
    last: dt.date,
    resource_id: int | None = None,
    consumer_id: int | None = None,
) -> QuerySet[CallStatDay]:
    """Daily call counts of what the user may see (as provider or consumer), from the rollup table."""
    visible = permissions.department_scope_q(user, "consumer_department")
    provider_ids = DataResource.objects.filter(permissions.department_scope_q(user, "provider")).values("pk")
    qs = CallStatDay.objects.filter(visible | Q(resource_id__in=provider_ids), day__gte=first, day__lte=last)
    if resource_id:
        qs = qs.filter(resource_id=resource_id)
    if consumer_id:
        qs = qs.filter(consumer_department_id=consumer_id)
    return qs.select_related("resource", "consumer_department").order_by("-day", "resource__code")


def stats_totals(qs: QuerySet[CallStatDay]) -> dict[str, int | float]:
    totals = qs.aggregate(
        calls=Sum("calls"), answered=Sum("answered"), refused=Sum("refused"), failed=Sum("failed"),
        latency=Sum("total_latency_ms"),
    )  # fmt: skip
    calls = totals["calls"] or 0
    return {
        "calls": calls,
        "answered": totals["answered"] or 0,
        "refused": totals["refused"] or 0,
        "failed": totals["failed"] or 0,
        "mean_latency_ms": round((totals["latency"] or 0) / calls, 1) if calls else 0.0,
    }


def upstreams_for_staff(user: User) -> QuerySet[UpstreamSystem]:
    return UpstreamSystem.objects.filter(permissions.department_scope_q(user, "department")).select_related(
        "department"
    )


def source_of(resource: DataResource) -> ResourceSource | None:
    return ResourceSource.objects.filter(resource=resource).select_related("upstream").first()
