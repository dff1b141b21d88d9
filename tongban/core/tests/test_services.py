"""Working-day override services and the calendar_import command."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongban.core import audit, calendar
from tongban.core.errors import NotFound, ValidationFailed
from tongban.core.models import AuditEvent, WorkingDayOverride
from tongban.core.services import (
    OverrideEntry,
    audit_trail_view,
    working_day_override_delete,
    working_day_override_set,
    working_day_overrides_import,
)

pytestmark = pytest.mark.django_db


def test_set_creates_an_override_audits_it_and_the_calendar_follows_at_once(admin_user: Any) -> None:
    day = date(2027, 10, 4)
    assert calendar.is_working_day(day)  # provisional: an ordinary Monday (and now cached)
    override = working_day_override_set(
        date=day, is_workday=False, name=" 国庆节 ", note="国办发", by=admin_user
    )
    assert (override.is_workday, override.name, override.created_by) == (False, "国庆节", admin_user)
    assert not calendar.is_working_day(day)
    event = AuditEvent.objects.get(action="calendar.override_set")
    assert event.actor_id == admin_user.pk
    assert event.subject_type == "core.workingdayoverride"
    assert event.data == {
        "override": {"date": "2027-10-04", "is_workday": False, "name": "国庆节", "note": "国办发"},
        "previous": None,
    }


def test_set_again_replaces_the_row_and_records_what_it_was(admin_user: Any) -> None:
    day = date(2027, 2, 20)
    working_day_override_set(date=day, is_workday=False, name="first", by=admin_user)
    working_day_override_set(date=day, is_workday=True, name="春节调休", by=admin_user)
    assert WorkingDayOverride.objects.filter(date=day).count() == 1
    assert calendar.is_working_day(day)
    last = AuditEvent.objects.filter(action="calendar.override_set").order_by("-seq").first()
    assert last is not None
    assert last.data["previous"]["name"] == "first"
    assert audit.verify().ok


def test_delete_removes_the_override_and_audits_it(admin_user: Any) -> None:
    override = working_day_override_set(date=date(2026, 10, 8), is_workday=False, by=admin_user)
    assert not calendar.is_working_day(date(2026, 10, 8))
    working_day_override_delete(override=override, by=admin_user)
    assert not WorkingDayOverride.objects.exists()
    assert calendar.is_working_day(date(2026, 10, 8))  # back to the official schedule
    event = AuditEvent.objects.get(action="calendar.override_delete")
    assert event.data["override"]["date"] == "2026-10-08"
    with pytest.raises(NotFound):
        working_day_override_delete(override=override, by=admin_user)


def test_set_refuses_overlong_text_and_writes_nothing(admin_user: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        working_day_override_set(date=date(2027, 1, 4), is_workday=False, name="长" * 65, by=admin_user)
    assert "name" in caught.value.fields
    assert not WorkingDayOverride.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_system_may_set_overrides_without_a_user() -> None:
    override = working_day_override_set(date=date(2027, 1, 4), is_workday=False, by=None)
    assert override.created_by is None
    assert AuditEvent.objects.get().actor_id is None


def test_import_is_all_or_nothing(admin_user: Any) -> None:
    entries = [OverrideEntry(date(2027, 2, 9), False, "春节"), OverrideEntry(date(2027, 2, 9), True)]
    with pytest.raises(ValidationFailed):
        working_day_overrides_import(entries=entries, by=admin_user)
    assert not WorkingDayOverride.objects.exists()


def test_audit_trail_view_records_the_filters_used(supervisor: Any) -> None:
    event = audit_trail_view(
        by=supervisor, filters={"action": "auth.", "outcome": "", "since": date(2026, 1, 1)}
    )
    assert event.action == "audit.view"
    assert event.data == {"filters": {"action": "auth.", "since": "2026-01-01"}}
    detail = audit_trail_view(by=supervisor, filters={}, event=event)
    assert detail.data == {"filters": {}, "seq": event.seq}
    assert detail.subject_id == str(event.pk)


# --- calendar_import ---------------------------------------------------------------------------------------

GOOD_CSV = """\ufeffdate,is_workday,name,note
2027-02-05,0,春节,国办发明电
2027-02-09,休,春节,
2027-02-20,1,春节调休,
2027-10-09,workday,国庆节调休,"a note, with a comma"
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "schedule.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_import(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_calendar_import_loads_a_published_schedule(tmp_path: Path, admin_user: Any) -> None:
    out, _ = run_import(write(tmp_path, GOOD_CSV), "--by", admin_user.username)
    assert out.startswith("OK: 4 override(s) imported for 2027")
    assert not calendar.is_working_day(date(2027, 2, 9))
    assert calendar.is_working_day(date(2027, 2, 20))  # a Saturday worked
    assert WorkingDayOverride.objects.get(date=date(2027, 10, 9)).note == "a note, with a comma"
    assert AuditEvent.objects.filter(action="calendar.override_set", actor_id=admin_user.pk).count() == 4


def test_calendar_import_reports_every_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    text = (
        "date,is_workday,name,note\n"
        "2027-02-05,0,春节,\n"
        "2027-02-30,0,春节,\n"
        "2027-03-01,maybe,,\n"
        "2027-02-05,1,,\n"
        f"2027-03-02,0,{'x' * 65},\n"
    )
    with pytest.raises(CommandError) as caught:
        run_import(write(tmp_path, text))
    assert caught.value.returncode == 1
    assert "4 error(s); nothing was imported" in str(caught.value)
    assert not WorkingDayOverride.objects.exists()
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("calendar_import", write(tmp_path, text), stdout=out, stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        "line 3: date '2027-02-30' is not a date (YYYY-MM-DD)",
        "line 4: is_workday 'maybe' must be 1 (working day) or 0 (rest day)",
        "line 5: 2027-02-05 already appears on line 2",
        "line 6: name is longer than 64 characters",
    ]


def test_calendar_import_json_dry_run_and_bad_header(tmp_path: Path) -> None:
    out, _ = run_import(write(tmp_path, GOOD_CSV), "--dry-run", "--json")
    assert json.loads(out) == {"ok": True, "imported": 0, "checked": 4, "years": [2027], "dry_run": True}
    assert not WorkingDayOverride.objects.exists()
    buffer = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "calendar_import", write(tmp_path, "day,workday\n2027-01-04,0\n"), "--json", stdout=buffer
        )
    assert json.loads(buffer.getvalue())["errors"][0]["line"] == 1
    with pytest.raises(CommandError, match="no active account"):
        run_import(write(tmp_path, GOOD_CSV), "--by", "nobody")
    with pytest.raises(CommandError, match="cannot read"):
        run_import(str(tmp_path / "missing.csv"))
