"""Writes for core: working-day overrides (the only core data an administrator edits).

Core may not depend on identity, so these services take ``by`` as any user object (or None for the
system, e.g. a command run without ``--by``) and leave the role check to the caller: the calendar
page is for administrators only, and ``calendar_import`` is run by whoever operates the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongban.core import audit, calendar
from tongban.core.errors import NotFound, ValidationFailed
from tongban.core.models import AuditEvent, WorkingDayOverride

NAME_MAX = WorkingDayOverride._meta.get_field("name").max_length or 64
NOTE_MAX = WorkingDayOverride._meta.get_field("note").max_length or 255


@dataclass(frozen=True)
class OverrideEntry:
    """One override to set, e.g. a row of a published holiday schedule."""

    date: date
    is_workday: bool
    name: str = ""
    note: str = ""


def _user_or_none(by: Any) -> Any:
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _forget_year(year: int) -> None:
    # Now, so later reads in this transaction see the change, and after commit, so a read that
    # cached the old rows while this transaction was open does not keep them.
    calendar.forget_overrides([year])
    transaction.on_commit(lambda: calendar.forget_overrides([year]))


def _validate(*, name: str, note: str) -> tuple[str, str]:
    name, note = name.strip(), note.strip()
    fields: dict[str, list[Any]] = {}
    if len(name) > NAME_MAX:
        fields["name"] = [_("At most %(max)d characters.") % {"max": NAME_MAX}]
    if len(note) > NOTE_MAX:
        fields["note"] = [_("At most %(max)d characters.") % {"max": NOTE_MAX}]
    if fields:
        raise ValidationFailed(_("Check the highlighted fields."), fields=fields)
    return name, note


def _snapshot(override: WorkingDayOverride) -> dict[str, Any]:
    return {
        "date": override.date.isoformat(),
        "is_workday": override.is_workday,
        "name": override.name,
        "note": override.note,
    }


@transaction.atomic
def working_day_override_set(
    *, date: date, is_workday: bool, name: str = "", note: str = "", by: Any
) -> WorkingDayOverride:
    """Create or replace the override of ``date``; the calendar follows it from now on."""
    name, note = _validate(name=name, note=note)
    override = WorkingDayOverride.objects.select_for_update().filter(date=date).first()
    previous = _snapshot(override) if override is not None else None
    if override is None:
        override = WorkingDayOverride.objects.create(
            date=date, is_workday=is_workday, name=name, note=note, created_by=_user_or_none(by)
        )
    else:
        override.is_workday, override.name, override.note = is_workday, name, note
        override.save(update_fields=["is_workday", "name", "note", "updated_at"])
    audit.record(
        action="calendar.override_set",
        actor=by,
        subject=override,
        summary=f"{date.isoformat()} {'workday' if is_workday else 'rest day'}",
        data={"override": _snapshot(override), "previous": previous},
    )
    _forget_year(date.year)
    return override


@transaction.atomic
def working_day_override_delete(*, override: WorkingDayOverride, by: Any) -> None:
    """Remove an override; the day falls back to the official or provisional calendar."""
    locked = WorkingDayOverride.objects.select_for_update().filter(pk=override.pk).first()
    if locked is None:
        raise NotFound(_("This override no longer exists."), code="override_not_found")
    snapshot, year = _snapshot(locked), locked.date.year
    audit.record(
        action="calendar.override_delete",
        actor=by,
        subject=locked,
        summary=f"{locked.date.isoformat()} override removed",
        data={"override": snapshot},
    )
    locked.delete()
    _forget_year(year)


@transaction.atomic
def working_day_overrides_import(*, entries: Sequence[OverrideEntry], by: Any) -> list[WorkingDayOverride]:
    """Set many overrides at once (all or none), e.g. a year's schedule published by the State Council."""
    dates = [entry.date for entry in entries]
    if len(set(dates)) != len(dates):
        raise ValidationFailed(_("A date appears more than once."), code="override_duplicate_date")
    return [
        working_day_override_set(
            date=entry.date, is_workday=entry.is_workday, name=entry.name, note=entry.note, by=by
        )
        for entry in entries
    ]


@transaction.atomic
def audit_trail_view(
    *, by: Any, filters: dict[str, Any], page: int | None = None, event: AuditEvent | None = None
) -> AuditEvent:
    """Record that ``by`` looked at the audit trail (a sensitive read): the filters, or the one row."""
    used = {key: value for key, value in filters.items() if value not in (None, "")}
    data: dict[str, Any] = {"filters": used}
    if page is not None:
        data["page"] = page
    if event is not None:
        data["seq"] = event.seq
    return audit.record(
        action="audit.view",
        actor=by,
        subject=event,
        summary=f"viewed audit event #{event.seq}" if event is not None else "viewed the audit trail",
        data=data,
    )
