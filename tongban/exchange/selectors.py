"""Reads of the exchange, scoped to what the asking staff member or system may see."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, Count, F, Max, Prefetch, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy
from django_q.models import Schedule, Task

from tongban.core import selectors as core_selectors
from tongban.core.errors import NotFound
from tongban.core.masking import mask_resident_id
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
from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import departments_in_jurisdiction, has_role
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


# --- for the staff pages (views/) ------------------------------------------------------------
# Everything below narrows the scoped selectors above; none widens them.

GRANT_SIDES = ("consumer", "provider")
RESIDENT_ID = re.compile(r"\d{17}[\dXx]")
CALL_SIDES = ("provider", "consumer")
KEY_HASH_SHOWN = 12


def _effective_expr(today: dt.date) -> Case:
    return Case(
        When(
            status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED],
            valid_until__lt=today,
            then=Value(GrantStatus.EXPIRED.value),
        ),
        default=F("status"),
        output_field=CharField(),
    )


def grants_search(
    user: User,
    *,
    side: str = "",
    status: str = "",
    resource_id: int | None = None,
    today: dt.date | None = None,
) -> QuerySet[AccessGrant]:
    """The user's grants (``grants_for_staff``), each annotated with ``effective`` (the status a call
    would see), narrowed to one side (the user's department as ``consumer`` or as ``provider``), an
    effective status and a resource."""
    today = today or timezone.localdate()
    qs = grants_for_staff(user).annotate(effective=_effective_expr(today))
    if side == "consumer":
        qs = qs.filter(permissions.department_scope_q(user, "consumer"))
    elif side == "provider":
        qs = qs.filter(permissions.department_scope_q(user, "resource__provider"))
    if status:
        qs = qs.filter(effective=status)
    if resource_id:
        qs = qs.filter(resource_id=resource_id)
    return qs


def grant_actions(user: User, grant: AccessGrant, today: dt.date | None = None) -> frozenset[str]:
    """The actions the user may take on the grant now (the services check again when they are taken)."""
    status = effective_status(grant, today)
    provider = permissions.acts_for(user, grant.resource.provider)
    consumer = permissions.acts_for(user, grant.consumer)
    actions: set[str] = set()
    if provider and status == GrantStatus.PENDING:
        actions |= {"approve", "refuse"}
    if provider and status == GrantStatus.ACTIVE:
        actions.add("suspend")
    if provider and status == GrantStatus.SUSPENDED:
        actions.add("resume")
    if (provider or consumer) and grant.status in OPEN_GRANT_STATUSES:
        actions.add("revoke")
    return frozenset(actions)


def grant_items(grant: AccessGrant) -> list[tuple[str, DataItem | None]]:
    """The granted item keys with the resource's items they name (None for a key no longer there)."""
    by_key = {item.key: item for item in DataItem.objects.filter(resource_id=grant.resource_id)}
    return [(key, by_key.get(key)) for key in grant.items]


GRANT_EVENT_LABELS: dict[str, Promise] = {
    "exchange.grant_requested": pgettext_lazy("exchange", "Applied for"),
    "exchange.grant_approved": pgettext_lazy("exchange", "Approved"),
    "exchange.grant_refused": pgettext_lazy("exchange", "Refused"),
    "exchange.grant_suspended": pgettext_lazy("exchange", "Suspended"),
    "exchange.grant_resumed": pgettext_lazy("exchange", "Resumed"),
    "exchange.grant_revoked": pgettext_lazy("exchange", "Revoked"),
    "exchange.grant_expired": pgettext_lazy("exchange", "Expired"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    action: str
    label: str
    actor_name: str
    actor_department: str
    reason: str
    automatic: bool


def grant_history(grant: AccessGrant) -> list[HistoryEntry]:
    """The grant's audit events, oldest first. The grant itself is scoped (``grant_for_staff``), so
    whoever may see it sees its whole history, whichever department acted."""
    events = list(
        core_selectors.audit_events(
            department_ids=None, subject_type=AccessGrant._meta.label_lower, subject_id=str(grant.pk)
        ).order_by("seq")
    )
    actors = {
        u.pk: u
        for u in User.objects.filter(pk__in={e.actor_id for e in events if e.actor_id}).select_related(
            "department"
        )
    }
    entries = []
    for event in events:
        actor = actors.get(event.actor_id) if event.actor_id else None
        entries.append(
            HistoryEntry(
                at=event.occurred_at,
                action=event.action,
                label=str(GRANT_EVENT_LABELS.get(event.action, event.action)),
                actor_name=actor.name if actor else "",
                actor_department=actor.department.name if actor and actor.department else "",
                reason=str(event.data.get("reason") or ""),
                automatic=bool(event.data.get("automatic")),
            )
        )
    return entries


def consumer_departments_for(user: User) -> QuerySet[Department]:
    """The departments the user may apply for (``permissions.acts_for``): their own for a data
    officer, the jurisdiction's for an administrator."""
    if not user.is_authenticated or not user.department_id:
        return Department.objects.none()
    query = Q(pk__in=[])
    if has_role(user, Role.DATA_OFFICER):
        query |= Q(pk=user.department_id)
    if permissions.is_administrator(user):
        query |= Q(pk__in=departments_in_jurisdiction(user).values("pk"))
    return Department.objects.filter(query, is_active=True).order_by("sort_order", "name")


def grantable_search(user: User, *, q: str = "", provider_id: int | None = None) -> QuerySet[DataResource]:
    """``grantable_resources`` with a text search (name, code, summary), a provider and item counts."""
    qs = grantable_resources(user).annotate(item_count=Count("items"))
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(summary__icontains=q))
    if provider_id:
        qs = qs.filter(provider_id=provider_id)
    return qs


def grantable_providers(user: User) -> QuerySet[Department]:
    return Department.objects.filter(pk__in=grantable_resources(user).values("provider_id")).order_by(
        "sort_order", "name"
    )


def published_resource_for_request(pk: int) -> DataResource:
    """A published resource by id, whatever its sharing type (the apply page tells a not-shared one),
    with its items in order; ``NotFound`` for drafts and retired resources."""
    resource = _with_items(DataResource.objects.filter(pk=pk, status=ResourceStatus.PUBLISHED)).first()
    if resource is None:
        raise NotFound("No such published resource.", code="resource_not_found")
    return resource


def open_grants_of(department_id: int | None, resource_ids: list[int]) -> dict[int, AccessGrant]:
    """The department's open application or grant per resource (one at most: a unique constraint)."""
    if not department_id or not resource_ids:
        return {}
    grants = AccessGrant.objects.filter(
        consumer_id=department_id, resource_id__in=resource_ids, status__in=OPEN_GRANT_STATUSES
    ).annotate(effective=_effective_expr(timezone.localdate()))
    return {g.resource_id: g for g in grants}


def grant_resources_for(user: User) -> QuerySet[DataResource]:
    """Resources named by the user's grants or provided by their departments (for filters)."""
    return DataResource.objects.filter(
        Q(pk__in=grants_for_staff(user).values("resource_id"))
        | permissions.department_scope_q(user, "provider")
    ).order_by("code")


# --- call records --------------------------------------------------------------------------------


def calls_search(user: User, *, side: str = "", **filters: Any) -> QuerySet[CallRecord]:
    """``calls_for_staff`` narrowed to one side: calls on the user's departments' data
    (``provider``) or calls their systems made (``consumer``)."""
    qs = calls_for_staff(user, **filters)
    # provider_department_id is a plain column; department_scope_q appends "_id" to the name.
    if side == "provider":
        qs = qs.filter(permissions.department_scope_q(user, "provider_department"))
    elif side == "consumer":
        qs = qs.filter(permissions.department_scope_q(user, "consumer_department"))
    return qs


def call_for_staff(user: User, call_id: Any) -> CallRecord:
    call = calls_for_staff(user).filter(call_id=call_id).first()
    if call is None:
        raise NotFound("No such call, or it is not yours to see.", code="call_not_found")
    return call


def short_key_hash(value: str) -> str:
    """The start of a keyed hash: enough to see that two calls asked for the same record."""
    return f"{value[:KEY_HASH_SHOWN]}…" if value else ""


def shown_on_behalf_of(value: str) -> str:
    """Who a call was made for, masked when a system put a resident ID there."""
    if RESIDENT_ID.fullmatch(value or ""):
        return mask_resident_id(value)
    return value


@dataclass(frozen=True)
class CallRow:
    """One call as a page shows it: the key hash cut short, a resident ID on whose behalf masked."""

    call: CallRecord
    key: str
    on_behalf_of: str
    provider: str


def call_rows(calls: list[CallRecord]) -> list[CallRow]:
    ids = {c.provider_department_id for c in calls if c.provider_department_id}
    names = dict(Department.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [
        CallRow(
            call=c,
            key=short_key_hash(c.key_hash),
            on_behalf_of=shown_on_behalf_of(c.on_behalf_of),
            provider=names.get(c.provider_department_id or 0, ""),
        )
        for c in calls
    ]


def filter_resources(user: User) -> QuerySet[DataResource]:
    """Resources to narrow the call record or the statistics by: every published one (the catalogue
    is open to all departments) and those of the user's grants and departments."""
    return DataResource.objects.filter(
        Q(status=ResourceStatus.PUBLISHED)
        | Q(pk__in=grants_for_staff(user).values("resource_id"))
        | permissions.department_scope_q(user, "provider")
    ).order_by("code")


def filter_departments() -> QuerySet[Department]:
    """Departments to narrow the call record or the statistics by: every active one, since a refused
    call may come from a department that holds no grant. The rows stay scoped by their selector."""
    return Department.objects.filter(is_active=True).order_by("sort_order", "name")


# --- statistics ----------------------------------------------------------------------------------


def stats_overview(user: User, today: dt.date | None = None) -> dict[str, dict[str, int | float]]:
    """Calls today and in the last seven days, on the user's departments' data and by their systems."""
    today = today or timezone.localdate()
    week = today - dt.timedelta(days=6)
    provided = DataResource.objects.filter(permissions.department_scope_q(user, "provider")).values("pk")
    on_ours = CallStatDay.objects.filter(resource_id__in=provided)
    by_ours = CallStatDay.objects.filter(permissions.department_scope_q(user, "consumer_department"))
    return {
        "provider_today": stats_totals(on_ours.filter(day=today)),
        "provider_week": stats_totals(on_ours.filter(day__gte=week, day__lte=today)),
        "consumer_today": stats_totals(by_ours.filter(day=today)),
        "consumer_week": stats_totals(by_ours.filter(day__gte=week, day__lte=today)),
    }


def stats_grouped(qs: QuerySet[CallStatDay], by: str) -> list[dict[str, Any]]:
    """Totals of the daily rows per resource (``by="resource"``) or per consumer department."""
    if by == "resource":
        fields = ["resource_id", "resource__code", "resource__name"]
    else:
        fields = ["consumer_department_id", "consumer_department__name"]
    rows = (
        qs.order_by()
        .values(*fields)
        .annotate(
            calls=Sum("calls"),
            answered=Sum("answered"),
            refused=Sum("refused"),
            failed=Sum("failed"),
            latency=Sum("total_latency_ms"),
        )
        .order_by("-calls", *fields)
    )
    return [
        {**row, "mean_latency_ms": round((row["latency"] or 0) / row["calls"], 1) if row["calls"] else 0.0}
        for row in rows
    ]


@dataclass(frozen=True)
class RollupStatus:
    latest_day: dt.date | None  # the newest day the table holds
    last_run: dt.datetime | None  # when the scheduled rollup last finished, if the scheduler ran it
    next_run: dt.datetime | None


ROLLUP_JOB = "tongban.exchange.tasks.rollup_call_stats"


def rollup_status() -> RollupStatus:
    latest = CallStatDay.objects.aggregate(latest=Max("day"))["latest"]
    last = Task.objects.filter(func=ROLLUP_JOB, success=True).order_by("-stopped").first()
    schedule = Schedule.objects.filter(func=ROLLUP_JOB).order_by("next_run").first()
    return RollupStatus(
        latest_day=latest,
        last_run=last.stopped if last else None,
        next_run=schedule.next_run if schedule else None,
    )


# --- upstream systems and sources ----------------------------------------------------------------


def upstreams_listing(user: User) -> QuerySet[UpstreamSystem]:
    return upstreams_for_staff(user).annotate(source_count=Count("sources")).order_by("name", "pk")


def upstream_for_staff(user: User, pk: int) -> UpstreamSystem:
    upstream = upstreams_for_staff(user).filter(pk=pk).first()
    if upstream is None:
        raise NotFound("No such upstream system, or it is not yours to see.", code="upstream_not_found")
    return upstream


def sources_of_upstream(upstream: UpstreamSystem) -> QuerySet[ResourceSource]:
    return (
        ResourceSource.objects.filter(upstream=upstream).select_related("resource").order_by("resource__code")
    )


def source_resources_for(user: User) -> QuerySet[DataResource]:
    """Resources whose provider the user acts for, in every state but retired (to say where the
    exchange reads them)."""
    return (
        DataResource.objects.filter(permissions.department_scope_q(user, "provider"))
        .exclude(status=ResourceStatus.RETIRED)
        .select_related("provider")
        .order_by("code")
    )


def source_resource_for(user: User, pk: int) -> DataResource:
    resource = source_resources_for(user).filter(pk=pk).first()
    if resource is None:
        raise NotFound("No such resource, or it is not yours to see.", code="resource_not_found")
    return resource


def sources_by_resource(resource_ids: list[int]) -> dict[int, ResourceSource]:
    sources = ResourceSource.objects.filter(resource_id__in=resource_ids).select_related("upstream")
    return {s.resource_id: s for s in sources}
