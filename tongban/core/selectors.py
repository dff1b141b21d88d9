"""Reads for core: the audit trail and working-day overrides.

Core knows nothing of departments' jurisdictions (that is identity's business), so the caller decides
the scope and passes it in: ``department_ids`` is the list of departments whose staff's events may be
seen (None: every department), ``include_unassigned`` whether events with no department (anonymous
visitors, citizens, enterprises, the system) may be seen too.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from tongban.core.calendar import SHANGHAI
from tongban.core.models import AuditEvent, WorkingDayOverride


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def audit_events(
    *,
    department_ids: Collection[int] | None,
    include_unassigned: bool = True,
    action: str = "",
    outcome: str = "",
    actor_id: int | None = None,
    subject_type: str = "",
    subject_id: str = "",
    since: date | None = None,
    until: date | None = None,
    request_id: str = "",
) -> QuerySet[AuditEvent]:
    """Audit events in scope, newest first, filtered.

    ``action`` matches a prefix (``auth.`` finds every login event); ``since``/``until`` are calendar
    dates in Asia/Shanghai, both inclusive; the other filters match exactly.
    """
    events = AuditEvent.objects.all()
    if department_ids is not None:
        scope = Q(actor_department_id__in=list(department_ids))
        if include_unassigned:
            scope |= Q(actor_department_id__isnull=True)
        events = events.filter(scope)
    if action:
        events = events.filter(action__startswith=action)
    if outcome:
        events = events.filter(outcome=outcome)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if subject_type:
        events = events.filter(subject_type=subject_type)
    if subject_id:
        events = events.filter(subject_id=subject_id)
    if since is not None:
        events = events.filter(occurred_at__gte=_start_of(since))
    if until is not None:
        events = events.filter(occurred_at__lt=_start_of(until + timedelta(days=1)))
    if request_id:
        events = events.filter(request_id=request_id)
    return events.order_by("-seq")


def audit_event(
    *, seq: int, department_ids: Collection[int] | None, include_unassigned: bool = True
) -> AuditEvent | None:
    """One event by its sequence number, or None when there is none or it is out of scope."""
    return (
        audit_events(department_ids=department_ids, include_unassigned=include_unassigned)
        .filter(seq=seq)
        .first()
    )


def working_day_overrides(*, year: int | None = None) -> QuerySet[WorkingDayOverride]:
    overrides = WorkingDayOverride.objects.order_by("date")
    if year is not None:
        overrides = overrides.filter(date__year=year)
    return overrides
