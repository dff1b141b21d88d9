"""The audit trail: ``record`` appends a hash-chained event, ``verify`` walks the chain.

Services call ``record`` inside the transaction of the change they audit, so the change and its
audit row commit or roll back together. Appends serialise on the chain head row: the first
statement is an UPDATE of that row, which takes PostgreSQL's row lock and SQLite's write lock
before the previous hash is read, so two writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from tongban.core import context
from tongban.core.models import AuditChainHead, AuditEvent, AuditOutcome

GENESIS_HASH = "0" * 64


class Auditable(Protocol):
    pk: Any

    @property
    def audit_label(self) -> str: ...


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _fields_of(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "actor_department_id": event.actor_department_id,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "summary": event.summary,
        "data": event.data,
        "ip": event.ip,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(_fields_of(event))).hexdigest()


def _subject_ref(subject: models.Model | None) -> tuple[str, str]:
    if subject is None:
        return "", ""
    return subject._meta.label_lower, str(subject.pk)


def _advance_head(count: int = 1) -> tuple[int, str] | None:
    """``length += count`` on the head row, returning the new length and the last hash (None: no row yet).

    One statement: it takes the row lock (PostgreSQL) or finds the write lock already held (SQLite's
    ``BEGIN IMMEDIATE``) and reads the head under it.
    """
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET length = length + %s WHERE id = 1 RETURNING length, last_hash",  # noqa: S608
            [count],
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _lock_head(count: int = 1) -> tuple[int, str]:
    """Take the chain head's row lock (creating the row on the very first append) and count ``count``
    more.

    Returns the first new ``seq`` (the new length, for one event) and the previous event's hash. Two
    first appends can race to create the row: the loser's INSERT waits for the winner to commit, fails
    on the primary key inside a savepoint, and then takes the lock with the UPDATE like any later append.
    """
    head = _advance_head(count)
    if head is None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(pk=1, length=count, last_hash=GENESIS_HASH)
        except IntegrityError:
            head = _advance_head(count)
            if head is None:  # pragma: no cover - the row exists: the INSERT just failed on it
                raise
        else:
            return 1, GENESIS_HASH
    return head[0] - count + 1, head[1]


def record(
    *,
    action: str,
    actor: Any = None,
    subject: models.Model | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` is a user (or None for anonymous/system); ``data`` must be JSON."""
    # No savepoint of its own: an append that fails fails the change it audits (two statements less).
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _lock_head()
        event = _event(
            seq,
            prev_hash,
            action=action,
            actor=actor,
            subject=subject,
            outcome=outcome,
            summary=summary,
            data=data,
        )
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(last_hash=event.hash)
    return event


def record_many(entries: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Append several events in their order, each what ``record(**entry)`` would append, with one
    lock of the chain head and one INSERT: a service that changes several rows at once (the licences
    of one application) audits every one of them for the statements of a single append."""
    if len(entries) <= 1:
        return [record(**entry) for entry in entries]
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _lock_head(len(entries))
        events = []
        for offset, entry in enumerate(entries):
            event = _event(seq + offset, prev_hash, **entry)
            events.append(event)
            prev_hash = event.hash
        AuditEvent.objects.bulk_create(events)
        AuditChainHead.objects.filter(pk=1).update(last_hash=prev_hash)
    return events


def _event(
    seq: int,
    prev_hash: str,
    *,
    action: str,
    actor: Any = None,
    subject: models.Model | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """The event at ``seq`` after ``prev_hash``, its hash computed (not saved)."""
    ctx = context.current()
    subject_type, subject_id = _subject_ref(subject)
    # Round-trip through JSON now so the stored value hashes the same when read back.
    clean_data = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    actor_is_user = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        seq=seq,
        occurred_at=timezone.now(),
        action=action,
        outcome=outcome,
        actor_id=actor.pk if actor_is_user else None,
        actor_label=(getattr(actor, "audit_label", "") or str(actor))[:200] if actor_is_user else "",
        actor_department_id=getattr(actor, "department_id", None) if actor_is_user else None,
        subject_type=subject_type,
        subject_id=subject_id,
        summary=summary[:255],
        data=clean_data,
        ip=ctx.ip,
        request_id=ctx.request_id,
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(event)
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def _events_in_order(up_to_seq: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(seq__lte=up_to_seq).order_by("seq").iterator(chunk_size=5000)


def verify() -> VerifyResult:
    """Walk the whole chain; report the first row whose content, link or position is wrong.

    The head is read first and only rows up to its length are walked: an append commits its row and
    the head together, so rows appended while the walk runs are neither missed nor mistaken for
    tampering.
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    length = head.length if head else 0
    last_hash = head.last_hash if head else GENESIS_HASH
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in _events_in_order(length):
        if event.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"row #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return VerifyResult(False, checked, event.seq, "link to the previous row is broken")
        if compute_hash(event) != event.hash:
            return VerifyResult(False, checked, event.seq, "content does not match its hash")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    if length != checked:
        return VerifyResult(False, checked, checked + 1, "rows at the end of the trail were removed")
    if last_hash != expected_prev:
        return VerifyResult(False, checked, checked, "the last row does not match the chain head")
    return VerifyResult(True, checked)


@dataclass(frozen=True)
class RowCheck:
    content_ok: bool  # the row's fields hash to its stored hash
    link_ok: bool  # its prev_hash is the stored hash of the row before it (or the genesis hash)

    @property
    def ok(self) -> bool:
        return self.content_ok and self.link_ok


def check_row(event: AuditEvent) -> RowCheck:
    """Check one row against its own hash and its neighbour (a quick look; ``verify`` walks all)."""
    if event.seq == 1:
        expected_prev: str | None = GENESIS_HASH
    else:
        expected_prev = AuditEvent.objects.filter(seq=event.seq - 1).values_list("hash", flat=True).first()
    return RowCheck(content_ok=compute_hash(event) == event.hash, link_ok=event.prev_hash == expected_prev)
