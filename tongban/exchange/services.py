"""Writes of the exchange: grants, upstream systems, resource sources, statistics, real-name checks.

Grant lifecycle (docs/adr/0014-data-exchange.md)::

    request ─┬─(unconditional resource)──────────────▶ active ─suspend─▶ suspended ─resume─▶ active
             └─(conditional)─▶ pending ─approve─▶ active          │                 │
                                  └──refuse──▶ refused     revoke ◀──────────────────┘──▶ revoked
    active / suspended past valid_until ──(sweep, and at every call)──▶ expired

A resource that is not shared cannot be requested. Every change is audited and the other side is
notified.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.catalog.models import ServiceItem
from tongban.core import audit
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.masking import mask_resident_id
from tongban.exchange import gateway, permissions
from tongban.exchange.choices import GrantStatus, Operation, Outcome, SourceKind
from tongban.exchange.models import AccessGrant, CallRecord, CallStatDay, ResourceSource, UpstreamSystem
from tongban.identity import services as identity_services
from tongban.identity.choices import AccountKind, RealNameLevel, Role
from tongban.identity.models import Department, RoleAssignment, User
from tongban.notifications.services import notify
from tongban.resources.choices import ResourceStatus, SharingType
from tongban.resources.models import DataResource

MAX_GRANT_DAYS = 3 * 366
MAX_RATE_PER_MINUTE = 60_000
BASEDATA_DATASETS = ("population", "legal_entity")


# --- helpers ---------------------------------------------------------------------------------


def _text(value: str | None, *, field: str, code: str, message: Any, max_length: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(message, code=code, fields={field: [message]})
    if len(text) > max_length:
        too_long = _("At most %(n)d characters.") % {"n": max_length}
        raise ValidationFailed(too_long, code="text_too_long", fields={field: [too_long]})
    return text


def _locked(grant: AccessGrant) -> AccessGrant:
    return (
        AccessGrant.objects.select_for_update()
        .select_related("consumer", "resource", "resource__provider")
        .get(pk=grant.pk)
    )


def _require_status(grant: AccessGrant, allowed: Iterable[str], action: Any) -> None:
    if grant.status not in set(allowed):
        raise Conflict(
            _("A grant that is “%(status)s” cannot be %(action)s.")
            % {"status": grant.get_status_display(), "action": action},
            code="grant_transition_invalid",
            extra={"status": grant.status},
        )


def _data_officers(department: Department) -> list[User]:
    ids = RoleAssignment.objects.filter(role=Role.DATA_OFFICER, user__department=department).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True))


def _tell(department: Department, grant: AccessGrant, title: Any, body: Any) -> None:
    for officer in _data_officers(department):
        notify(
            recipient=officer,
            topic="exchange.grant",
            title=str(title),
            body=str(body),
            link=f"/staff/exchange/grants/{grant.pk}/",
            subject=grant,
            sms=False,
        )


def _audit(action: str, grant: AccessGrant, by: User | None, **data: Any) -> None:
    audit.record(
        action=action,
        actor=by,
        subject=grant,
        summary=f"{grant.resource.code} → {grant.consumer.name}",
        data={"status": grant.status, "resource": grant.resource.code, "consumer": grant.consumer_id, **data},
    )


def _clean_items(resource: DataResource, items: Sequence[str]) -> list[str]:
    wanted = [str(i).strip() for i in items if str(i).strip()]
    if not wanted:
        required = _("Choose at least one data item.")
        raise ValidationFailed(required, code="items_required", fields={"items": [required]})
    known = set(resource.items.values_list("key", flat=True))
    unknown = sorted(set(wanted) - known)
    if unknown:
        message = _("These items are not items of the resource: %(items)s.") % {"items": "、".join(unknown)}
        raise ValidationFailed(message, code="items_unknown", fields={"items": [message]})
    return sorted(set(wanted), key=wanted.index)


def _clean_period(valid_from: dt.date, valid_until: dt.date, today: dt.date) -> None:
    if valid_until < valid_from:
        message = _("The end of the period must not be before its start.")
        raise ValidationFailed(message, code="period_invalid", fields={"valid_until": [message]})
    if valid_until < today:
        message = _("The period has already ended.")
        raise ValidationFailed(message, code="period_in_past", fields={"valid_until": [message]})
    if (valid_from - today).days > 366:
        message = _("A grant starts within a year; apply nearer the time.")
        raise ValidationFailed(message, code="period_too_far", fields={"valid_from": [message]})
    if (valid_until - valid_from).days > MAX_GRANT_DAYS:
        message = _("A grant lasts at most three years; apply again when it ends.")
        raise ValidationFailed(message, code="period_too_long", fields={"valid_until": [message]})


# --- grants ----------------------------------------------------------------------------------


@transaction.atomic
def grant_request(
    *,
    resource: DataResource,
    consumer: Department,
    items: Sequence[str],
    purpose: str,
    valid_from: dt.date,
    valid_until: dt.date,
    by: User,
    service_items: Sequence[ServiceItem] = (),
    rate_per_minute: int = 600,
) -> AccessGrant:
    """Apply for some items of a published resource; unconditional resources are granted at once."""
    permissions.ensure_acts_for(by, consumer)
    if resource.status != ResourceStatus.PUBLISHED:
        raise NotFound(_("No such published resource."), code="resource_not_found")
    if resource.sharing_type == SharingType.NOT_SHARED:
        raise Conflict(
            _("This resource is not shared (%(basis)s), so it cannot be requested.")
            % {"basis": resource.not_shared_basis or _("no basis given")},
            code="resource_not_shared",
        )
    today = timezone.localdate()
    _clean_period(valid_from, valid_until, today)
    if not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
        message = _("Between 1 and 60,000 calls per minute.")
        raise ValidationFailed(message, code="rate_invalid", fields={"rate_per_minute": [message]})
    grant = AccessGrant(
        consumer=consumer,
        resource=resource,
        items=_clean_items(resource, items),
        purpose=_text(
            purpose, field="purpose", code="purpose_required", message=_("Say what the data is for.")
        ),
        valid_from=valid_from,
        valid_until=valid_until,
        rate_per_minute=rate_per_minute,
        requested_by=by,
    )
    automatic = resource.sharing_type == SharingType.UNCONDITIONAL
    if automatic:
        grant.status = GrantStatus.ACTIVE
        grant.decided_at = timezone.now()
        grant.decision_reason = str(_("Shared unconditionally: granted on request."))
    try:
        with transaction.atomic():
            grant.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            _("Your department already has an application or a grant for this resource."),
            code="grant_exists",
        ) from None
    if service_items:
        grant.service_items.set(service_items)
    _audit("exchange.grant_requested", grant, by, items=grant.items, automatic=automatic)
    if automatic:
        _tell(
            resource.provider,
            grant,
            _("%(consumer)s now uses %(resource)s") % {"consumer": consumer.name, "resource": resource.name},
            _("Shared unconditionally, granted on request. Purpose: %(purpose)s")
            % {"purpose": grant.purpose},
        )
    else:
        _tell(
            resource.provider,
            grant,
            _("%(consumer)s applies for %(resource)s")
            % {"consumer": consumer.name, "resource": resource.name},
            _("Items: %(items)s. Purpose: %(purpose)s")
            % {"items": "、".join(grant.items), "purpose": grant.purpose},
        )
    return grant


@transaction.atomic
def grant_approve(*, grant: AccessGrant, by: User, reason: str = "") -> AccessGrant:
    grant = _locked(grant)
    permissions.ensure_acts_for(by, grant.resource.provider, code="not_provider")
    _require_status(grant, {GrantStatus.PENDING}, pgettext_lazy("exchange", "approved"))
    if grant.valid_until < timezone.localdate():
        raise Conflict(_("The period applied for has already ended."), code="period_in_past")
    grant.status = GrantStatus.ACTIVE
    grant.decided_by = by
    grant.decided_at = timezone.now()
    grant.decision_reason = (reason or "").strip()[:2000]
    grant.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
    _audit("exchange.grant_approved", grant, by)
    _tell(
        grant.consumer,
        grant,
        _("Granted: %(resource)s") % {"resource": grant.resource.name},
        _("Your department may now call it until %(until)s.") % {"until": grant.valid_until.isoformat()},
    )
    return grant


@transaction.atomic
def grant_refuse(*, grant: AccessGrant, by: User, reason: str) -> AccessGrant:
    grant = _locked(grant)
    permissions.ensure_acts_for(by, grant.resource.provider, code="not_provider")
    _require_status(grant, {GrantStatus.PENDING}, pgettext_lazy("exchange", "refused"))
    grant.decision_reason = _text(
        reason, field="reason", code="reason_required", message=_("Give the reason for the refusal.")
    )
    grant.status = GrantStatus.REFUSED
    grant.decided_by = by
    grant.decided_at = timezone.now()
    grant.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
    _audit("exchange.grant_refused", grant, by, reason=grant.decision_reason)
    _tell(
        grant.consumer,
        grant,
        _("Refused: %(resource)s") % {"resource": grant.resource.name},
        _("Reason: %(reason)s") % {"reason": grant.decision_reason},
    )
    return grant


@transaction.atomic
def grant_suspend(*, grant: AccessGrant, by: User, reason: str) -> AccessGrant:
    grant = _locked(grant)
    permissions.ensure_acts_for(by, grant.resource.provider, code="not_provider")
    _require_status(grant, {GrantStatus.ACTIVE}, pgettext_lazy("exchange", "suspended"))
    grant.decision_reason = _text(
        reason, field="reason", code="reason_required", message=_("Give the reason for the suspension.")
    )
    grant.status = GrantStatus.SUSPENDED
    grant.save(update_fields=["status", "decision_reason", "updated_at"])
    _audit("exchange.grant_suspended", grant, by, reason=grant.decision_reason)
    _tell(
        grant.consumer,
        grant,
        _("Suspended: %(resource)s") % {"resource": grant.resource.name},
        _("Calls are refused until the provider resumes the grant. Reason: %(reason)s")
        % {"reason": grant.decision_reason},
    )
    return grant


@transaction.atomic
def grant_resume(*, grant: AccessGrant, by: User) -> AccessGrant:
    grant = _locked(grant)
    permissions.ensure_acts_for(by, grant.resource.provider, code="not_provider")
    _require_status(grant, {GrantStatus.SUSPENDED}, pgettext_lazy("exchange", "resumed"))
    if grant.valid_until < timezone.localdate():
        raise Conflict(_("The grant's period has ended; apply again."), code="grant_expired")
    grant.status = GrantStatus.ACTIVE
    grant.save(update_fields=["status", "updated_at"])
    _audit("exchange.grant_resumed", grant, by)
    _tell(
        grant.consumer,
        grant,
        _("Resumed: %(resource)s") % {"resource": grant.resource.name},
        _("Your department may call it again."),
    )
    return grant


@transaction.atomic
def grant_revoke(*, grant: AccessGrant, by: User, reason: str) -> AccessGrant:
    """The provider withdraws a grant, or the consumer gives it up (or withdraws its application)."""
    grant = _locked(grant)
    if not permissions.acts_for(by, grant.consumer):
        permissions.ensure_acts_for(by, grant.resource.provider, code="not_provider")
    _require_status(
        grant,
        {GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.SUSPENDED},
        pgettext_lazy("exchange", "revoked"),
    )
    grant.decision_reason = _text(
        reason, field="reason", code="reason_required", message=_("Give the reason.")
    )
    grant.status = GrantStatus.REVOKED
    grant.save(update_fields=["status", "decision_reason", "updated_at"])
    _audit("exchange.grant_revoked", grant, by, reason=grant.decision_reason)
    other = grant.consumer if permissions.acts_for(by, grant.resource.provider) else grant.resource.provider
    _tell(
        other,
        grant,
        _("Revoked: %(resource)s") % {"resource": grant.resource.name},
        _("Reason: %(reason)s") % {"reason": grant.decision_reason},
    )
    return grant


def grants_expire(*, today: dt.date | None = None) -> int:
    """The sweep: grants past their period become expired (calls already refuse them at read time)."""
    today = today or timezone.localdate()
    expired = 0
    due = AccessGrant.objects.filter(
        status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED], valid_until__lt=today
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            grant = AccessGrant.objects.select_for_update().select_related("resource", "consumer").get(pk=pk)
            if grant.status not in (GrantStatus.ACTIVE, GrantStatus.SUSPENDED) or grant.valid_until >= today:
                continue
            grant.status = GrantStatus.EXPIRED
            grant.save(update_fields=["status", "updated_at"])
            _audit("exchange.grant_expired", grant, None)
            expired += 1
    return expired


# --- upstream systems and sources ------------------------------------------------------------


@transaction.atomic
def upstream_register(
    *,
    department: Department,
    name: str,
    base_url: str,
    by: User,
    api_key: str = "",
    timeout_seconds: float = 2.0,
    retries: int = 1,
    failure_threshold: int = 5,
    reset_seconds: int = 30,
) -> UpstreamSystem:
    permissions.ensure_administrator(by)
    permissions.ensure_acts_for(by, department)
    url = (base_url or "").strip().rstrip("/")
    if not (url.startswith("http://") or url.startswith("https://")):
        message = _("Give the system's address, starting with https:// (or http:// inside the network).")
        raise ValidationFailed(message, code="url_invalid", fields={"base_url": [message]})
    if not 0.05 <= timeout_seconds <= 30:
        message = _("Between 0.05 and 30 seconds.")
        raise ValidationFailed(message, code="timeout_invalid", fields={"timeout_seconds": [message]})
    if not 0 <= retries <= 3:
        message = _("Between 0 and 3 retries.")
        raise ValidationFailed(message, code="retries_invalid", fields={"retries": [message]})
    if not 1 <= failure_threshold <= 100:
        message = _("Between 1 and 100 failures.")
        raise ValidationFailed(message, code="threshold_invalid", fields={"failure_threshold": [message]})
    if not 1 <= reset_seconds <= 3600:
        message = _("Between 1 and 3,600 seconds.")
        raise ValidationFailed(message, code="reset_invalid", fields={"reset_seconds": [message]})
    if len(url) > 200:
        message = _("At most 200 characters.")
        raise ValidationFailed(message, code="url_invalid", fields={"base_url": [message]})
    if len(api_key or "") > 200:
        message = _("At most 200 characters.")
        raise ValidationFailed(message, code="api_key_invalid", fields={"api_key": [message]})
    upstream = UpstreamSystem.objects.create(
        department=department,
        name=_text(name, field="name", code="name_required", message=_("Name the system."), max_length=100),
        base_url=url,
        api_key=(api_key or "").strip(),
        timeout_seconds=timeout_seconds,
        retries=retries,
        failure_threshold=failure_threshold,
        reset_seconds=reset_seconds,
    )
    audit.record(
        action="exchange.upstream_registered",
        actor=by,
        subject=upstream,
        data={"base_url": url, "department": department.pk, "timeout_seconds": timeout_seconds},
    )
    return upstream


@transaction.atomic
def resource_source_set(
    *,
    resource: DataResource,
    kind: str,
    by: User,
    dataset: str = "",
    upstream: UpstreamSystem | None = None,
    path: str = "",
) -> ResourceSource:
    """Say where the exchange reads a resource: a base dataset, an upstream system's path, or the
    electronic licence library (a licence by holder and type)."""
    permissions.ensure_administrator(by)
    permissions.ensure_acts_for(by, resource.provider)
    if kind == SourceKind.BASEDATA:
        if dataset not in BASEDATA_DATASETS:
            message = _("Choose the population or the legal-entity base.")
            raise ValidationFailed(message, code="dataset_invalid", fields={"dataset": [message]})
        upstream, path = None, ""
    elif kind == SourceKind.UPSTREAM:
        if upstream is None:
            message = _("Choose the upstream system.")
            raise ValidationFailed(message, code="upstream_required", fields={"upstream": [message]})
        if "{key}" not in path or not path.startswith("/"):
            message = _("The path starts with / and contains {key}, e.g. /marriages/{key}.")
            raise ValidationFailed(message, code="path_invalid", fields={"path": [message]})
        dataset = ""
    elif kind == SourceKind.LICENCES:
        dataset, upstream, path = "", None, ""
    else:
        message = _("Unknown kind of source.")
        raise ValidationFailed(message, code="source_kind_invalid", fields={"kind": [message]})
    source, _created = ResourceSource.objects.update_or_create(
        resource=resource, defaults={"kind": kind, "dataset": dataset, "upstream": upstream, "path": path}
    )
    audit.record(
        action="exchange.source_set",
        actor=by,
        subject=resource,
        data={"kind": kind, "dataset": dataset, "upstream": upstream.pk if upstream else None, "path": path},
    )
    return source


# --- statistics ------------------------------------------------------------------------------


def call_stats_rollup(*, days: int = 2, today: dt.date | None = None) -> int:
    """Recount the daily statistics of the last ``days`` days from the call record (idempotent).

    Run every few minutes by the scheduler; each run replaces the rows of the days it recounts, so a
    late or repeated run never counts a call twice.
    """
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    rows = (
        CallRecord.objects.filter(
            requested_at__gte=start, resource_id__isnull=False, consumer_department_id__isnull=False
        )
        .annotate(day=TruncDate("requested_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "resource_id", "consumer_department_id")
        .annotate(
            calls=Count("pk"),
            answered=Count("pk", filter=Q(outcome__in=[Outcome.OK, Outcome.NOT_FOUND])),
            refused=Count("pk", filter=Q(outcome=Outcome.REFUSED)),
            failed=Count("pk", filter=Q(outcome=Outcome.ERROR)),
            total_latency=Sum(Cast(F("latency_ms"), FloatField())),
        )
    )
    fresh = [
        CallStatDay(
            day=row["day"],
            resource_id=row["resource_id"],
            consumer_department_id=row["consumer_department_id"],
            calls=row["calls"],
            answered=row["answered"],
            refused=row["refused"],
            failed=row["failed"],
            total_latency_ms=row["total_latency"] or 0.0,
        )
        for row in rows
    ]
    with transaction.atomic():
        CallStatDay.objects.filter(day__gte=first).delete()
        CallStatDay.objects.bulk_create(fresh)
    return len(fresh)


# --- real-name level 2 -----------------------------------------------------------------------

REAL_NAME_CLIENT = "tongban-identity"
REAL_NAME_PURPOSE = "统一身份认证：核验实名信息（二级实名）"


@dataclass(frozen=True)
class RealNameResult:
    matched: bool
    call_id: str
    level: int


def _real_name_unavailable(detail: str = "") -> Conflict:
    return Conflict(
        _("The check against the population base is not available right now; try again later."),
        code="real_name_unavailable",
        extra={"reason": detail} if detail else None,
    )


def real_name_verify(*, user: User) -> RealNameResult:
    """Check a citizen's name against the population base through the exchange (a verify call, so
    no data comes back) and raise their real-name level to 2 when it matches.

    The platform's identity service calls as the department that runs it
    (``TONGBAN_REAL_NAME_DEPARTMENT``) under that department's grant for the population resource, so
    the call is recorded and limited like any department system's. Not one transaction: the call
    record commits on its own, whatever happens after.
    """
    if user.kind != AccountKind.CITIZEN or not user.resident_id:
        raise ValidationFailed(
            _("Only citizens' accounts are checked against the population base."),
            code="real_name_citizens_only",
        )
    if user.real_name_level >= RealNameLevel.L2:
        return RealNameResult(matched=True, call_id="", level=user.real_name_level)
    department = Department.objects.filter(code=settings.TONGBAN_REAL_NAME_DEPARTMENT).first()
    source = (
        ResourceSource.objects.filter(
            kind=SourceKind.BASEDATA, dataset="population", resource__status=ResourceStatus.PUBLISHED
        )
        .select_related("resource")
        .order_by("resource__code")
        .first()
    )
    if department is None or source is None:
        raise _real_name_unavailable("no population resource or identity department")
    result = gateway.call(
        caller=gateway.Caller(department_id=department.pk, client_id=REAL_NAME_CLIENT),
        request=gateway.CallRequest(
            operation=Operation.VERIFY,
            body={
                "resource": source.resource.code,
                "key": user.resident_id,
                "fields": {"name": user.name, "life_status": "alive"},
                "purpose": REAL_NAME_PURPOSE,
                "on_behalf_of": mask_resident_id(user.resident_id),
            },
        ),
    )
    call_id = str(result.call_id)
    if result.status != 200:
        audit.record(
            action="account.real_name_check",
            actor=user,
            subject=user,
            outcome="failure",
            data={"call_id": call_id, "error": result.body.get("error", {}).get("code", "")},
        )
        raise _real_name_unavailable(result.body.get("error", {}).get("code", ""))
    if not result.body.get("match"):
        audit.record(
            action="account.real_name_check",
            actor=user,
            subject=user,
            outcome="failure",
            data={"call_id": call_id, "fields": result.body.get("fields", {})},
        )
        raise ValidationFailed(
            _(
                "Your name and ID number do not match the population base. Check the name on your "
                "account, or ask at a service hall."
            ),
            code="real_name_mismatch",
        )
    user = identity_services.real_name_level_raise(
        user=user, level=RealNameLevel.L2, evidence={"call_id": call_id}
    )
    return RealNameResult(matched=True, call_id=call_id, level=user.real_name_level)


# --- the platform's own calls while a citizen applies (免提交) --------------------------------

PREFILL_CLIENT = "tongban-prefill"


def platform_fetch(
    *,
    department: Department,
    resource_code: str,
    key: str,
    purpose: str,
    case_number: str = "",
    on_behalf_of: str = "",
    items: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> gateway.CallResult:
    """Fetch one record for an application, as the department handling it and under that
    department's own grant: the call is checked, limited and recorded like any system's (client id
    ``tongban-prefill``), and its result says what came back or why nothing did.

    ``extra`` adds to the body (e.g. ``{"licence_type": ...}`` for the licence library); it cannot
    change the resource, the key or the purpose. Not one transaction: run outside one, so the call
    record commits on its own whatever happens to the case afterwards.
    """
    body: dict[str, Any] = {
        **(extra or {}),
        "resource": resource_code,
        "key": key,
        "purpose": purpose,
        "case_number": case_number,
        "on_behalf_of": on_behalf_of,
    }
    if items is not None:
        body["items"] = list(items)
    return gateway.call(
        caller=gateway.Caller(department_id=department.pk, client_id=PREFILL_CLIENT),
        request=gateway.CallRequest(operation=Operation.QUERY, body=body),
    )


def prefill_resources(department: Department) -> dict[str, list[str]]:
    """Resource code -> the item keys the department's grants allow today (active, in their period,
    of a published resource), in one query: what an application to it can have fetched."""
    today = timezone.localdate()
    rows = AccessGrant.objects.filter(
        consumer=department,
        status=GrantStatus.ACTIVE,
        valid_from__lte=today,
        valid_until__gte=today,
        resource__status=ResourceStatus.PUBLISHED,
    ).values_list("resource__code", "items")
    return {code: [str(i) for i in items or []] for code, items in rows}


# --- for the staff pages ---------------------------------------------------------------------


@transaction.atomic
def calls_view(
    *, by: User, filters: dict[str, Any], page: int | None = None, call: CallRecord | None = None
) -> None:
    """Record that ``by`` read the call record (a sensitive read): the filters and page, or one call."""
    if not permissions.is_data_staff(by):
        raise PermissionDenied(
            _("Only data officers and administrators may read the call record."), code="data_staff_required"
        )
    used = {key: value for key, value in filters.items() if value not in (None, "")}
    data: dict[str, Any] = {"filters": used}
    if page is not None:
        data["page"] = page
    if call is not None:
        data["call_id"] = str(call.call_id)
    summary = (
        f"viewed exchange call {call.call_id}" if call is not None else "viewed the exchange call record"
    )
    audit.record(action="exchange.calls_viewed", actor=by, summary=summary, data=data)


@transaction.atomic
def stats_recount(*, by: User, days: int = 2) -> int:
    """An administrator's "recount now": the scheduled rollup, run at once; audited."""
    permissions.ensure_administrator(by)
    rows = call_stats_rollup(days=days)
    audit.record(action="exchange.stats_recounted", actor=by, data={"days": days, "rows": rows})
    return rows
