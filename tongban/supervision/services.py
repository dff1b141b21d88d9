"""Writes of supervision: the policy, handling notes, and the sweep with its digests (ADR 18).

Every write is atomic and audited. The sweep locks the policy row first, so two sweeps (a late
scheduled one and one started by hand) run one after the other, never interleaved.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tongban.cases.models import Case
from tongban.core import audit
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import jurisdiction_prefix
from tongban.notifications.services import notify
from tongban.supervision import permissions, selectors, sweep
from tongban.supervision.choices import FACT_TRIGGERS, CloseReason, Level, SweepOrigin
from tongban.supervision.levels import cutoffs
from tongban.supervision.models import Alert, AlertChange, AlertNote, SupervisionPolicy, Sweep

MAX_NOTE = 2000
POLICY_LIMITS = {"warning_days": (0, 30), "red_days": (1, 60), "unaccepted_days": (1, 30)}
DIGEST_LINES = 20


def _locked_policy() -> SupervisionPolicy:
    SupervisionPolicy.objects.get_or_create(pk=1)
    return SupervisionPolicy.objects.select_for_update().get(pk=1)


@transaction.atomic
def policy_update(*, by: User, warning_days: Any, red_days: Any, unaccepted_days: Any) -> SupervisionPolicy:
    """Set the thresholds (working days). Every value is checked and all errors are given at once."""
    if not permissions.can_set_policy(by):
        raise PermissionDenied(
            _("Only an administrator sets the supervision thresholds."), code="not_administrator"
        )
    values: dict[str, int] = {}
    errors: dict[str, list[Any]] = {}
    for name, raw in (
        ("warning_days", warning_days),
        ("red_days", red_days),
        ("unaccepted_days", unaccepted_days),
    ):
        low, high = POLICY_LIMITS[name]
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            errors[name] = [_("Give a whole number of working days.")]
            continue
        if not low <= value <= high:
            errors[name] = [_("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high}]
            continue
        values[name] = value
    if errors:
        raise ValidationFailed(
            _("The thresholds were not saved; correct the marked values."),
            code="policy_invalid",
            fields=errors,
        )
    policy = _locked_policy()
    before = {name: getattr(policy, name) for name in POLICY_LIMITS}
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_by = by
    policy.save()
    audit.record(
        action="supervision.policy_updated",
        actor=by,
        subject=policy,
        data={"before": before, "after": values},
    )
    return policy


@transaction.atomic
def alert_note_add(*, alert_id: int, text: str, by: User, close: bool = False) -> AlertNote:
    """A supervisor's handling note on a warning of their jurisdiction; it may close a fact finding.

    Another jurisdiction's warning is "not found", as if it did not exist. Clock warnings close by
    themselves when the case moves on, so a note cannot close them (``alert_closes_itself``).
    """
    if not permissions.can_note(by):
        raise PermissionDenied(_("Only supervisors write handling notes."), code="not_supervisor")
    alert = selectors.alert_in_scope(by, alert_id)
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    text = (text or "").strip()
    if not text:
        message = _("Write the note.")
        raise ValidationFailed(message, code="note_required", fields={"text": [message]})
    if len(text) > MAX_NOTE:
        message = _("At most 2000 characters.")
        raise ValidationFailed(message, code="text_too_long", fields={"text": [message]})
    if close:
        if alert.trigger not in FACT_TRIGGERS:
            message = _("A time-limit warning closes by itself when the case moves on.")
            raise Conflict(message, code="alert_closes_itself", fields={"close": [message]})
        if alert.closed_at is not None:
            raise Conflict(_("This warning is already closed."), code="alert_closed")
    note = AlertNote.objects.create(alert=alert, text=text, closes=close, written_by=by)
    if close:
        now = timezone.now()
        alert.closed_at = now
        alert.closed_reason = CloseReason.HANDLED
        alert.changed_at = now
        alert.save(update_fields=["closed_at", "closed_reason", "changed_at"])
        AlertChange.objects.create(alert=alert, level=Level.NORMAL, at=now)
    audit.record(
        action="supervision.note_added",
        actor=by,
        subject=alert,
        data={"case": alert.case_id, "note": note.pk, "closes": close, "trigger": alert.trigger},
    )
    return note


def supervised_case_viewed(*, case: Case, by: User) -> None:
    """Opening a case's supervision file is a sensitive read."""
    audit.record(action="supervision.case_viewed", actor=by, subject=case)


# --- the sweep ------------------------------------------------------------------------------------


@transaction.atomic
def supervision_sweep(*, origin: str = SweepOrigin.SCHEDULE, now: datetime | None = None) -> Sweep:
    """Measure every open case and stage now, open, re-level and close alerts set-based, and send one
    digest per recipient of what was newly raised."""
    policy = _locked_policy()
    moment = now or timezone.now()
    record = Sweep.objects.create(origin=origin, started_at=moment)
    counts = sweep.run(cutoffs(moment, policy), record)
    record.opened, record.changed, record.closed = counts.opened, counts.changed, counts.closed
    record.notified = _send_digests(counts.raised) if counts.raised else 0
    record.finished_at = timezone.now()
    record.save()
    audit.record(
        action="supervision.swept",
        subject=record,
        data={
            "opened": record.opened,
            "changed": record.changed,
            "closed": record.closed,
            "notified": record.notified,
            "policy": {name: getattr(policy, name) for name in POLICY_LIMITS},
        },
    )
    return record


def _digest_text(per_department: dict[int, dict[int, int]], names: dict[int, str]) -> tuple[str, str, int]:
    totals = {level: sum(c.get(level, 0) for c in per_department.values()) for level in Level}
    parts = [
        ngettext("%(n)s red card", "%(n)s red cards", totals[Level.RED]) % {"n": totals[Level.RED]},
        ngettext("%(n)s yellow card", "%(n)s yellow cards", totals[Level.YELLOW])
        % {"n": totals[Level.YELLOW]},
        ngettext("%(n)s warning", "%(n)s warnings", totals[Level.WARNING]) % {"n": totals[Level.WARNING]},
    ]
    title = str(_("Supervision: newly raised %(parts)s") % {"parts": "、".join(parts)})
    ordered = sorted(per_department.items(), key=lambda kv: (-kv[1].get(Level.RED, 0), names.get(kv[0], "")))
    lines = [
        str(
            _("%(department)s: red %(red)s, yellow %(yellow)s, warning %(warning)s")
            % {
                "department": names.get(d, str(d)),
                "red": counts.get(Level.RED, 0),
                "yellow": counts.get(Level.YELLOW, 0),
                "warning": counts.get(Level.WARNING, 0),
            }
        )
        for d, counts in ordered[:DIGEST_LINES]
    ]
    if len(ordered) > DIGEST_LINES:
        lines.append(str(_("… and %(n)s more departments.") % {"n": len(ordered) - DIGEST_LINES}))
    top = max((lvl for lvl in Level if totals[lvl]), default=Level.WARNING)
    return title, "\n".join(lines), int(top)


def _send_digests(raised: list[tuple[int, int, int]]) -> int:
    """One message per recipient: the responsible departments' approvers and clerks get their own
    department's new alerts; each supervisor gets the yellow and red cards of their jurisdiction."""
    by_department: dict[int, dict[int, int]] = defaultdict(dict)
    for department_id, level, n in raised:
        by_department[department_id][level] = n
    departments = {d.pk: d for d in Department.objects.filter(pk__in=by_department)}
    names = {pk: d.name for pk, d in departments.items()}
    staff = (
        User.objects.filter(kind=AccountKind.STAFF, is_active=True, department__isnull=False)
        .filter(
            Q(department__in=list(departments), role_assignments__role__in=[Role.APPROVER, Role.WINDOW_CLERK])
            | Q(role_assignments__role=Role.SUPERVISOR)
        )
        .select_related("department")
        .prefetch_related("role_assignments")
        .distinct()
        .order_by("pk")
    )
    sent = 0
    board = reverse("supervision:cases")
    for user in staff:
        roles = {r.role for r in user.role_assignments.all()}
        mine: dict[int, dict[int, int]] = {}
        if roles & {Role.APPROVER, Role.WINDOW_CLERK} and user.department_id in by_department:
            mine[user.department_id] = dict(by_department[user.department_id])
        if Role.SUPERVISOR in roles and user.department is not None:
            prefix = jurisdiction_prefix(user.department)
            for pk, dept in departments.items():
                if dept.division_code.startswith(prefix):
                    cards = {lvl: n for lvl, n in by_department[pk].items() if lvl >= Level.YELLOW}
                    if cards:
                        merged = mine.setdefault(pk, {})
                        for lvl, n in cards.items():
                            merged[lvl] = max(merged.get(lvl, 0), n)
        if not mine:
            continue
        title, body, top = _digest_text(mine, names)
        query: dict[str, Any] = {"level": {3: "red", 2: "yellow", 1: "warning"}[top]}
        if len(mine) == 1:
            query["department"] = next(iter(mine))
        notify(
            recipient=user,
            topic="supervision.digest",
            title=title,
            body=body,
            link=f"{board}?{urlencode(query)}",
            sms=False,
        )
        sent += 1
    return sent
