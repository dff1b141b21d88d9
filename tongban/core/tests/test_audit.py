"""The audit trail: the hash chain detects edits and removals; appends never fork it; PG refuses changes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from tongban.core import audit, context
from tongban.core.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only")


@contextmanager
def tampering() -> Iterator[None]:
    """Let the test change rows as an attacker with table rights would (PostgreSQL's trigger off)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")


def make_trail(n: int = 5) -> list[AuditEvent]:
    return [
        audit.record(action=f"test.event{i}", summary=f"event {i}", data={"i": i, "名": "张三"})
        for i in range(n)
    ]


def run_verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_record_chains_rows_and_verify_accepts_them() -> None:
    events = make_trail(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    head = AuditChainHead.objects.get(pk=1)
    assert (head.length, head.last_hash) == (3, events[2].hash)
    assert audit.verify() == audit.VerifyResult(ok=True, checked=3)
    stored = AuditEvent.objects.get(seq=2)
    assert audit.compute_hash(stored) == stored.hash  # survives the database round trip
    assert audit.check_row(stored).ok


def test_record_keeps_the_request_context_and_a_masked_actor_label(citizen: Any) -> None:
    token = context.bind(context.RequestContext(request_id="req-123", ip="10.1.2.3"))
    try:
        event = audit.record(action="auth.login", actor=citizen, subject=citizen)
    finally:
        context.reset(token)
    assert (event.request_id, event.ip) == ("req-123", "10.1.2.3")
    assert event.actor_label.startswith("citizen ")
    assert citizen.resident_id not in event.actor_label
    assert audit.verify().ok


def test_an_empty_trail_verifies() -> None:
    assert audit.verify() == audit.VerifyResult(ok=True, checked=0)


def test_editing_the_data_of_a_row_is_detected() -> None:
    make_trail(5)
    with tampering():
        AuditEvent.objects.filter(seq=3).update(data={"i": 99})
    result = audit.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 2)
    assert "hash" in result.reason
    assert not audit.check_row(AuditEvent.objects.get(seq=3)).content_ok


def test_editing_the_summary_of_a_row_is_detected() -> None:
    make_trail(5)
    with tampering():
        AuditEvent.objects.filter(seq=2).update(summary="nothing happened")
    assert audit.verify().first_bad_seq == 2


def test_rehashing_an_edited_row_breaks_the_link_of_the_next_one() -> None:
    make_trail(5)
    row = AuditEvent.objects.get(seq=2)
    row.action = "test.harmless"
    forged = audit.compute_hash(row)
    with tampering():
        AuditEvent.objects.filter(seq=2).update(action="test.harmless", hash=forged)
    result = audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "link" in result.reason
    assert not audit.check_row(AuditEvent.objects.get(seq=3)).link_ok


def test_deleting_a_middle_row_is_detected() -> None:
    make_trail(5)
    with tampering():
        AuditEvent.objects.filter(seq=3).delete()
    result = audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "missing" in result.reason


def test_deleting_the_last_row_is_detected() -> None:
    make_trail(5)
    with tampering():
        AuditEvent.objects.filter(seq=5).delete()
    result = audit.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 5, 4)
    assert "removed" in result.reason


def test_audit_verify_command_reports_ok_and_exits_zero() -> None:
    make_trail(4)
    code, out, _ = run_verify()
    assert code == 0
    assert out.startswith("OK")
    assert "4" in out
    code, out, _ = run_verify("--json")
    assert (code, json.loads(out)) == (0, {"ok": True, "checked": 4})


def test_audit_verify_command_names_the_first_tampered_row_and_exits_one() -> None:
    make_trail(6)
    with tampering():
        AuditEvent.objects.filter(seq=4).update(data={"changed": True})
    code, out, err = run_verify()
    assert code == 1
    assert "#4" in err
    assert "TAMPERED" in err
    code, out, _ = run_verify("--json")
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "checked": 3,
        "first_bad_seq": 4,
        "reason": "content does not match its hash",
    }


@on_postgres
def test_postgres_refuses_update_and_delete() -> None:
    make_trail(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(summary="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()
    assert AuditEvent.objects.count() == 2
    assert audit.verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain() -> None:
    threads_n, per_thread = 4, 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                audit.record(action="test.concurrent", data={"worker": worker, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    total = threads_n * per_thread
    assert audit.verify() == audit.VerifyResult(ok=True, checked=total)
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, total + 1))
    assert AuditEvent.objects.values("prev_hash").distinct().count() == total  # no two rows share a parent


# --- several events in one append (``record_many``) ---------------------------------------------


def test_record_many_appends_each_event_in_order_in_one_append(
    citizen: Any, django_assert_num_queries: Any
) -> None:
    first = audit.record(action="test.before")
    with django_assert_num_queries(3):  # the head's lock, one INSERT of every row, the head's hash
        events = audit.record_many(
            [
                {"action": "test.one", "data": {"n": 1}},
                {"action": "test.two", "actor": citizen, "subject": citizen, "summary": "two"},
                {"action": "test.three", "outcome": "denied"},
            ]
        )
    assert [e.seq for e in events] == [2, 3, 4]
    assert [e.prev_hash for e in events] == [first.hash, events[0].hash, events[1].hash]
    stored = list(AuditEvent.objects.filter(seq__gte=2).order_by("seq"))
    assert [(e.action, e.hash) for e in stored] == [(e.action, e.hash) for e in events]
    assert (stored[1].actor_id, stored[1].subject_id, stored[2].outcome) == (
        citizen.pk,
        str(citizen.pk),
        "denied",
    )
    head = AuditChainHead.objects.get(pk=1)
    assert (head.length, head.last_hash) == (4, events[2].hash)
    after = audit.record(action="test.after")
    assert (after.seq, after.prev_hash) == (5, events[2].hash)
    assert audit.verify() == audit.VerifyResult(ok=True, checked=5)


def test_record_many_as_the_very_first_append_and_with_nothing_to_append() -> None:
    assert audit.record_many([]) == []
    assert not AuditChainHead.objects.exists()
    events = audit.record_many([{"action": f"test.first{i}"} for i in range(3)])
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert audit.verify() == audit.VerifyResult(ok=True, checked=3)


def test_a_failed_record_many_leaves_the_trail_as_it_was() -> None:
    make_trail(2)
    with pytest.raises(TypeError), transaction.atomic():
        audit.record_many([{"action": "test.ok"}, {"action": "test.bad", "unknown": 1}])
    assert AuditChainHead.objects.get(pk=1).length == 2
    assert audit.verify() == audit.VerifyResult(ok=True, checked=2)
