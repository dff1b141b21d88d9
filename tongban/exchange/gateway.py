"""The exchange's call path: authenticate the system, check the grant, read, answer, record.

One call is at most five short statements: the token, the resource with the caller's grant, the
record(s) (or an upstream request), and the call record's INSERT, which commits before the answer
leaves (``_write_record``): a call is answered only once its record is durable. A resource served
from the licence library (``SourceKind.LICENCES``) goes through the licences app's selectors instead,
and its use rows commit with the call record (``_write_record_and_uses``); the other paths never
reach that code. The statements are
hand-written SQL over the tables' own columns because this path runs thousands of times a second
(docs/adr/0014-data-exchange.md, bench/README.md ``exchange_verify``); everything else in the
exchange goes through the ORM.

Errors are ``CallError`` with the HTTP status and a stable code; they are recorded like answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import get_access_token_model, get_application_model
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from tongban.basedata.models import LegalEntity, Person
from tongban.exchange import upstream as upstream_adapter
from tongban.exchange.choices import GrantStatus, Operation, Outcome, SourceKind
from tongban.exchange.models import AccessGrant, CallRecord, ResourceSource
from tongban.identity.models import Department, DepartmentSystem
from tongban.licences import selectors as licence_selectors
from tongban.licences import services as licence_services
from tongban.licences.choices import UseKind
from tongban.licences.models import Licence
from tongban.resources.models import DataItem, DataResource

EXCHANGE_SCOPE = "exchange"
ITEMS_CACHE_SECONDS = 10.0
MAX_BODY_BYTES = 256 * 1024

DATASET_MODELS: dict[str, Any] = {"population": Person, "legal_entity": LegalEntity}


# --- the caller, the request and errors ------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who calls: a department system (OAuth2 client credentials) or the platform itself."""

    department_id: int
    client_id: str
    application_id: int | None = None


@dataclass
class CallRequest:
    operation: str
    body: Mapping[str, Any]
    size: int = 0
    request_id: str = ""


@dataclass
class CallResult:
    status: int
    body: dict[str, Any]
    call_id: uuid.UUID
    headers: dict[str, str] = field(default_factory=dict)
    encoded: bytes = b""  # the body as sent (and as counted in the record)


class CallError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        outcome: str = Outcome.REFUSED,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
        resource_id: int | None = None,
        provider_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.provider_id = provider_id
        self.status = status
        self.code = code
        self.message = message
        self.outcome = outcome
        self.fields = fields or {}
        self.extra = extra or {}
        self.retry_after = retry_after

    def as_body(self, call_id: uuid.UUID) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        error.update(self.extra)
        return {"error": error, "call_id": str(call_id)}


def _bad(code: str, message: str, field_name: str) -> CallError:
    return CallError(400, code, message, fields={field_name: [message]})


# --- small caches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInfo:
    key: str
    data_type: str
    is_key: bool
    sensitive: bool


_items_cache: dict[int, tuple[float, dict[str, ItemInfo]]] = {}


def _items_of(resource_id: int) -> dict[str, ItemInfo]:
    """A resource's data items, kept ten seconds per process (items of a published resource are only
    ever added, so a new item becomes callable within ten seconds)."""
    now = time.monotonic()
    cached = _items_cache.get(resource_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    _ensure_sql()
    items = {
        row[0]: ItemInfo(key=row[0], data_type=row[1], is_key=bool(row[2]), sensitive=bool(row[3]))
        for row in _fetch(_SQL["items"], [resource_id], many=True)
    }
    if len(_items_cache) > 4096:
        _items_cache.clear()
    _items_cache[resource_id] = (now + ITEMS_CACHE_SECONDS, items)
    return items


def forget_cached_items() -> None:
    _items_cache.clear()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _build_sql() -> dict[str, str]:
    token = get_access_token_model()._meta.db_table
    system = DepartmentSystem._meta.db_table
    resource = DataResource._meta.db_table
    source = ResourceSource._meta.db_table
    grant = AccessGrant._meta.db_table
    item = DataItem._meta.db_table
    open_statuses = ", ".join(
        f"'{s}'" for s in (GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.SUSPENDED)
    )
    application = get_application_model()._meta.db_table
    return {
        # A client-credentials token of an enabled department system, carrying the exchange scope.
        "token": (
            f"SELECT a.id, a.client_id, s.department_id, s.disabled_at, t.scope "  # noqa: S608
            f"FROM {_q(token)} t JOIN {_q(application)} a ON a.id = t.application_id "
            f"LEFT JOIN {_q(system)} s ON s.application_id = a.id "
            f"WHERE t.token_checksum = %s AND t.expires > %s AND t.user_id IS NULL"
        ),
        # The token, its system, the published resource, its source and the caller's open grant, in
        # one statement: every call starts with it.
        "call": (
            f"SELECT a.id, a.client_id, s.department_id, s.disabled_at, t.scope, "  # noqa: S608
            f"r.id, r.code, r.provider_id, src.kind, src.dataset, src.upstream_id, src.path, "
            f"g.id, g.items, g.valid_from, g.valid_until, g.rate_per_minute, g.status "
            f"FROM {_q(token)} t JOIN {_q(application)} a ON a.id = t.application_id "
            f"LEFT JOIN {_q(system)} s ON s.application_id = a.id "
            f"LEFT JOIN {_q(resource)} r ON r.code = %s AND r.status = 'published' "
            f"LEFT JOIN {_q(source)} src ON src.resource_id = r.id "
            f"LEFT JOIN {_q(grant)} g ON g.resource_id = r.id AND g.consumer_id = s.department_id "
            f"AND g.status IN ({open_statuses}) "
            f"WHERE t.token_checksum = %s AND t.expires > %s AND t.user_id IS NULL"
        ),
        # The published resource, its source and the caller's open grant (the platform's own calls).
        "resource": (
            f"SELECT r.id, r.code, r.provider_id, "  # noqa: S608
            f"s.kind, s.dataset, s.upstream_id, s.path, "
            f"g.id, g.items, g.valid_from, g.valid_until, g.rate_per_minute, g.status "
            f"FROM {_q(resource)} r LEFT JOIN {_q(source)} s ON s.resource_id = r.id "
            f"LEFT JOIN {_q(grant)} g ON g.resource_id = r.id AND g.consumer_id = %s "
            f"AND g.status IN ({open_statuses}) "
            f"WHERE r.code = %s AND r.status = 'published'"
        ),
        "items": (
            f"SELECT key, data_type, is_key, sensitive FROM {_q(item)} "  # noqa: S608
            f"WHERE resource_id = %s ORDER BY sort_order, id"
        ).replace("SELECT key,", f"SELECT {_q('key')},"),
    }


_SQL: dict[str, str] = {}


def _fetch(sql: str, params: Sequence[Any], *, many: bool = False, rows: bool = True) -> Any:
    """Run one statement of the hot path and return its row (or rows; nothing when ``rows`` is False).

    On PostgreSQL through a psycopg cursor with server-side binding on Django's own connection, so
    the statement is prepared once per connection and then only executed (parsing and planning
    were a third of the database's work per call); elsewhere through Django's cursor.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            if not rows:
                return None
            return cursor.fetchall() if many else cursor.fetchone()
    db.ensure_connection()
    cursor = _cursor_of(db)
    try:
        cursor.execute(sql, params, prepare=True)
        if not rows:
            return None
        return cursor.fetchall() if many else cursor.fetchone()
    except psycopg.Error as exc:
        db.errors_occurred = True  # so Django checks the connection before reusing it
        raise DatabaseError(str(exc)) from exc


def _cursor_of(db: Any) -> Any:
    """One server-side-binding psycopg cursor per live connection, reused by every call on it."""
    raw = db.connection
    cursor = getattr(db, "_tongban_exchange_cursor", None)
    if cursor is None or cursor.connection is not raw or cursor.closed:
        if raw.prepare_threshold is None:
            # Django turns prepared statements off (None); the hot path asks for them explicitly
            # (prepare=True), and Django's own client-side-binding cursors never prepare anything.
            raw.prepare_threshold = 1_000_000
        cursor = psycopg.Cursor(raw)
        db._tongban_exchange_cursor = cursor
    return cursor


def _ensure_sql() -> None:
    if not _SQL:
        _SQL.update(_build_sql())


# --- authentication --------------------------------------------------------------------------


def authenticate(bearer: str | None) -> Caller:
    """The department system behind a bearer token, or a 401 ``CallError``."""
    _ensure_sql()
    if not bearer:
        raise CallError(
            401, "not_authenticated", _("Send an access token of a registered department system.")
        )
    row = _fetch(_SQL["token"], [_checksum(bearer), _now_param()])
    return _caller_of(row)


def _checksum(bearer: str) -> str:
    return hashlib.sha256(bearer.encode()).hexdigest()


def _now_param() -> Any:
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _caller_of(row: Sequence[Any] | None) -> Caller:
    if row is None:
        raise CallError(401, "token_invalid", _("The access token is invalid or has expired."))
    application_id, client_id, department_id, disabled_at, scope = row[:5]
    if department_id is None or disabled_at is not None:  # not a department system, or disabled
        raise CallError(
            403,
            "client_not_allowed",
            _("Only enabled department systems may call the exchange."),
        )
    if EXCHANGE_SCOPE not in (scope or "").split():
        raise CallError(403, "scope_missing", _("The token lacks the “exchange” scope."))
    return Caller(department_id=department_id, client_id=client_id, application_id=application_id)


# --- the resource and the grant --------------------------------------------------------------


@dataclass
class Target:
    resource_id: int
    code: str
    provider_id: int
    source_kind: str | None
    dataset: str
    upstream_id: int | None
    path: str
    grant_id: int | None
    grant_items: frozenset[str]
    rate_per_minute: int
    items: dict[str, ItemInfo]

    @property
    def key_item(self) -> ItemInfo | None:
        return next((i for i in self.items.values() if i.is_key), None)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _load_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def authenticate_and_fetch(
    bearer: str | None, code: str, *, key: str | None = None, wanted: Sequence[str] = ()
) -> tuple[Caller, Sequence[Any] | None, Prefetched | None]:
    """The system behind the token and the row of the resource it calls (None: no such published
    resource), in one statement; ``_target_of`` reads the row once the request is checked.

    With ``key``, when this process has seen the resource served from a base dataset before, the
    same statement also reads the record's ``wanted`` items (default: every item of the resource),
    so a single-key call needs no second statement; ``_read`` uses the record only if the resource
    turns out to be served that way still and the items match.
    """
    _ensure_sql()
    if not bearer:
        raise CallError(
            401, "not_authenticated", _("Send an access token of a registered department system.")
        )
    hint = _dataset_hint.get(code) if key else None
    columns = _prefetch_columns(hint, wanted) if hint else None
    if hint is None or not columns:
        row = _fetch(_SQL["call"], [code, _checksum(bearer), _now_param()])
        prefetched = None
    else:
        row = _fetch(_call_with_record_sql(hint[0], columns), [code, key, _checksum(bearer), _now_param()])
        prefetched = None
        if row is not None:
            record = row[CALL_COLUMNS:]
            prefetched = Prefetched(
                dataset=hint[0], key=str(key), columns=columns, row=record if record[0] is not None else None
            )
    caller = _caller_of(row)
    return caller, (row[5:CALL_COLUMNS] if row[5] is not None else None), prefetched


@dataclass(frozen=True)
class Prefetched:
    """A record read together with the token and the grant: dataset, key, the item keys read (after
    the primary key) and the row (None: no such record)."""

    dataset: str
    key: str
    columns: tuple[str, ...]
    row: Sequence[Any] | None


CALL_COLUMNS = 18  # columns of the "call" statement before a prefetched record's
# resource code -> (base dataset, item keys) it was last served with, in this process: a hint only
_dataset_hint: dict[str, tuple[str, tuple[str, ...]]] = {}
_call_record_sql: dict[tuple[str, tuple[str, ...]], str] = {}


def _prefetch_columns(hint: tuple[str, tuple[str, ...]], wanted: Sequence[str]) -> tuple[str, ...]:
    dataset, known = hint
    keys = tuple(wanted) or known
    fields = {f.name for f in DATASET_MODELS[dataset]._meta.concrete_fields}
    return keys if keys and all(k in fields for k in keys) and len(keys) <= 32 else ()


def _call_with_record_sql(dataset: str, keys: tuple[str, ...]) -> str:
    sql = _call_record_sql.get((dataset, keys))
    if sql is None:
        model = DATASET_MODELS[dataset]
        pk = model._meta.pk.column
        columns = [pk, *(model._meta.get_field(k).column for k in keys)]
        select = ", ".join(f"rec.{_q(c)}" for c in columns)
        head, where = _SQL["call"].split(" WHERE ", 1)
        select_list, from_part = head.split(" FROM ", 1)
        sql = (
            f"{select_list}, {select} FROM {from_part} "
            f"LEFT JOIN {_q(model._meta.db_table)} rec ON rec.{_q(pk)} = %s WHERE {where}"
        )
        if len(_call_record_sql) > 1024:
            _call_record_sql.clear()
        _call_record_sql[(dataset, keys)] = sql
    return sql


def _target_of(row: Sequence[Any] | None, *, today: dt.date) -> Target:
    if row is None:
        raise CallError(404, "resource_not_found", _("No published resource has this code."))
    (resource_id, code, provider_id, kind, dataset, upstream_id, path, grant_id, items, valid_from,
     valid_until, rate, status) = row  # fmt: skip

    def refuse(code: str, message: str) -> CallError:
        return CallError(403, code, message, resource_id=resource_id, provider_id=provider_id)

    if grant_id is None:
        raise refuse(
            "grant_missing", _("Your department has no grant for this resource; apply for one first.")
        )
    if status == GrantStatus.PENDING:
        raise refuse("grant_pending", _("Your department's application awaits the provider's decision."))
    if status == GrantStatus.SUSPENDED:
        raise refuse("grant_suspended", _("The provider has suspended your department's grant."))
    if _as_date(valid_until) < today:
        raise refuse("grant_expired", _("Your department's grant has expired; apply again."))
    if _as_date(valid_from) > today:
        raise refuse("grant_not_yet_valid", _("Your department's grant is not valid yet."))
    return Target(
        resource_id=resource_id,
        code=code,
        provider_id=provider_id,
        source_kind=kind,
        dataset=dataset or "",
        upstream_id=upstream_id,
        path=path or "",
        grant_id=grant_id,
        grant_items=frozenset(_load_json(items) or []),
        rate_per_minute=int(rate),
        items=_items_of(resource_id),
    )


def _check_items(target: Target, wanted: Sequence[str]) -> list[str]:
    unknown = [key for key in wanted if key not in target.items]
    if unknown:
        message = _("These items are not items of the resource: %(items)s.") % {"items": "、".join(unknown)}
        raise CallError(
            400, "items_unknown", message, fields={"items": [message]}, extra={"unknown": unknown}
        )
    refused = [key for key in wanted if key not in target.grant_items]
    if refused:
        message = _("Your department's grant does not cover these items: %(items)s.") % {
            "items": "、".join(refused)
        }
        raise CallError(
            403, "items_not_granted", message, fields={"items": [message]}, extra={"not_granted": refused}
        )
    return list(wanted)


def _rate(target: Target, now: float) -> None:
    """A fixed one-minute window per grant, counted in the cache (Redis when configured, so shared by
    every worker; the local-memory cache of the embedded set-up counts per process)."""
    if target.grant_id is None:
        return
    minute = int(now // 60)
    key = f"tongban:exchange:rate:{target.grant_id}:{minute}"
    if cache.add(key, 1, timeout=120):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=120)
            count = 1
    if count > target.rate_per_minute:
        retry_after = max(1, 60 - int(now % 60))
        raise CallError(
            429,
            "rate_limited",
            _("Your department's grant allows %(n)d calls a minute; try again in %(s)d s.")
            % {"n": target.rate_per_minute, "s": retry_after},
            retry_after=retry_after,
        )


# --- keys, values and reading ----------------------------------------------------------------


def _clean_key(target: Target, raw: Any, *, field_name: str = "key") -> str:
    key_item = target.key_item
    value = str(raw if raw is not None else "").strip().upper()
    if not value:
        raise _bad("key_required", _("Give the record's key."), field_name)
    if len(value) > 64:
        raise _bad("key_invalid", _("The key is too long."), field_name)
    kind = key_item.key if key_item else ""
    try:
        if kind == "resident_id":
            _fast_ric(value)
        elif kind == "credit_code":
            uscc.validate(value)
        elif kind == "holder_id":
            _holder_id(value)
    except StdnumError:
        if kind == "resident_id":
            raise _bad("key_invalid", _("This is not a valid resident ID number."), field_name) from None
        if kind == "holder_id":
            raise _bad(
                "key_invalid",
                _("This is neither a valid resident ID number nor a valid unified social credit code."),
                field_name,
            ) from None
        raise _bad("key_invalid", _("This is not a valid unified social credit code."), field_name) from None
    return value


def _holder_id(value: str) -> None:
    """A licence holder: a person (resident ID) or an enterprise or organisation (credit code)."""
    try:
        _fast_ric(value)
    except StdnumError:
        uscc.validate(value)


def _fast_ric(value: str) -> None:
    """Format and check digit of a resident ID (stdnum's full validate also looks the birthplace up in
    a table, which is slow and knows only past division codes; the base answers whether it exists)."""
    if len(value) != 18 or not value[:17].isdigit():
        raise StdnumError()
    if ric.calc_check_digit(value) != value[-1]:
        raise StdnumError()


def hash_key(value: str) -> str:
    secret = settings.TONGBAN_EXCHANGE_KEY_SECRET.encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):  # as text, without a float's rounding or trailing zeros: "500", "12.5"
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return value


def _columns(dataset: str, keys: Sequence[str]) -> tuple[Any, list[str], str]:
    model = DATASET_MODELS.get(dataset)
    if model is None:
        raise CallError(
            503, "source_unavailable", _("The resource has no source yet."), outcome=Outcome.ERROR
        )
    names = []
    for key in keys:
        try:
            names.append(model._meta.get_field(key).column)
        except Exception:
            raise CallError(
                503,
                "source_unavailable",
                _("The base does not hold item %(item)s.") % {"item": key},
                outcome=Outcome.ERROR,
            ) from None
    return model, names, model._meta.pk.column


_read_sql: dict[tuple[str, tuple[str, ...], int], str] = {}


def _read_basedata(target: Target, keys: Sequence[str], items: Sequence[str]) -> dict[str, dict[str, Any]]:
    shape = (target.dataset, tuple(items), len(keys))
    sql = _read_sql.get(shape)
    if sql is None:
        model, columns, pk = _columns(target.dataset, items)
        select = ", ".join(_q(c) for c in [pk, *columns])
        marks = ", ".join(["%s"] * len(keys))
        sql = f"SELECT {select} FROM {_q(model._meta.db_table)} WHERE {_q(pk)} IN ({marks})"  # noqa: S608
        if len(_read_sql) > 2048:
            _read_sql.clear()
        _read_sql[shape] = sql
    rows = _fetch(sql, list(keys), many=True)
    types = [target.items[key].data_type if key in target.items else "" for key in items]
    return {
        row[0]: {key: _typed(v, t) for key, v, t in zip(items, row[1:], types, strict=True)} for row in rows
    }


def _from_prefetched(
    target: Target, prefetched: Prefetched, items: Sequence[str]
) -> dict[str, dict[str, Any]]:
    if prefetched.row is None:
        return {}
    position = {key: i + 1 for i, key in enumerate(prefetched.columns)}  # after the primary key
    return {
        prefetched.key: {
            key: _typed(
                prefetched.row[position[key]], target.items[key].data_type if key in target.items else ""
            )
            for key in items
        }
    }


def _typed(value: Any, data_type: str) -> Any:
    """A stored value as JSON of the item's declared type (SQLite hands decimals back as numbers)."""
    if value is None:
        return None
    if data_type == "decimal":
        number = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else str(value))
        )
        return _json_value(number)
    if data_type == "boolean":
        return bool(value)
    return _json_value(value)


def _read(
    target: Target, keys: Sequence[str], items: Sequence[str], ctx: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    if target.source_kind == SourceKind.BASEDATA:
        prefetched: Prefetched | None = ctx.get("prefetched")
        if (
            prefetched is not None
            and prefetched.dataset == target.dataset
            and list(keys) == [prefetched.key]
            and set(items) <= set(prefetched.columns)
        ):
            return _from_prefetched(target, prefetched, items)
        return _read_basedata(target, keys, items)
    if target.source_kind == SourceKind.UPSTREAM and target.upstream_id is not None:
        started = time.perf_counter()
        try:
            found = {}
            for key in keys:
                record = upstream_adapter.fetch(
                    upstream_id=target.upstream_id,
                    path=target.path,
                    key=key,
                    headers={
                        "X-Tongban-Call-Id": ctx["call_id"],
                        "X-Tongban-Purpose": ctx["purpose_header"],
                        "X-Tongban-Consumer": str(ctx["consumer"] or ""),
                    },
                )
                if record is not None:
                    found[key] = {item: _json_value(record.get(item)) for item in items}
            return found
        except upstream_adapter.UpstreamTimeout:
            raise CallError(
                504,
                "upstream_timeout",
                _("The provider's system did not answer in time."),
                outcome=Outcome.ERROR,
            ) from None
        except upstream_adapter.UpstreamUnavailable:
            raise CallError(
                503,
                "upstream_unavailable",
                _("The provider's system is unavailable; try again later."),
                outcome=Outcome.ERROR,
            ) from None
        except upstream_adapter.UpstreamBadAnswer:
            raise CallError(
                502,
                "upstream_bad_response",
                _("The provider's system gave an answer the exchange cannot read."),
                outcome=Outcome.ERROR,
            ) from None
        finally:
            ctx["upstream_ms"] = (time.perf_counter() - started) * 1000
    if target.source_kind == SourceKind.LICENCES:
        return _read_licences(target, keys, items, ctx)
    raise CallError(503, "source_unavailable", _("The resource has no source yet."), outcome=Outcome.ERROR)


# --- the licence library ---------------------------------------------------------------------

LICENCE_TYPE_MAX = 32


def _licence_type_of(body: Mapping[str, Any]) -> str:
    """The licence type a call of the licence library asks for (checked before anything is read)."""
    value = body.get("licence_type")
    if value is not None and not isinstance(value, str):
        raise _bad(
            "request_invalid", _("“%(field)s” must be text.") % {"field": "licence_type"}, "licence_type"
        )
    text = (value or "").strip().upper()
    if not text:
        raise _bad(
            "licence_type_required",
            _("Say which licence you want: its type code (GB/T 36902) as “licence_type”."),
            "licence_type",
        )
    return text[: LICENCE_TYPE_MAX + 1]


def _licence_record(licence: Licence, items: Sequence[str]) -> dict[str, Any]:
    """A licence as a record of the licence library's items (the signature is checked now, and only
    when asked for)."""
    values: dict[str, Callable[[], Any]] = {
        "holder_id": lambda: licence.holder_id,
        "identifier": lambda: licence.identifier,
        "type_code": lambda: licence.type.code,
        "type_name": lambda: licence.type.name,
        "holder_name": lambda: licence.holder_name,
        "number": lambda: licence.number,
        "issuer_name": lambda: licence.issuer.name,
        "issued_on": lambda: licence.issued_on.isoformat(),
        "valid_until": lambda: licence.valid_until.isoformat() if licence.valid_until else None,
        "status": lambda: str(licence_selectors.effective_status(licence)),
        "data": lambda: dict(licence.data or {}),
        "signature": lambda: licence.signature,
        "key_id": lambda: licence.key.key_id,
        "signature_valid": lambda: licence_selectors.signature_ok(licence),
    }
    return {item: values[item]() if item in values else None for item in items}


def _read_licences(
    target: Target, keys: Sequence[str], items: Sequence[str], ctx: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each holder's newest usable licence of the asked type (revoked and expired ones are never
    served); the licences are kept in ``ctx`` so that each gets its use row with the call record."""
    code = ctx["licence_type"]
    if len(code) > LICENCE_TYPE_MAX or licence_selectors.type_by_code(code) is None:
        message = _("No licence type in the library has this code.")
        raise CallError(
            404, "licence_type_unknown", message, fields={"licence_type": [message]}, outcome=Outcome.REFUSED
        )
    found = licence_selectors.usable_licences(keys, code)
    ctx["licences"] = list(found.values())
    return {key: _licence_record(licence, items) for key, licence in found.items()}


def _normalise(value: Any) -> str:
    text = "" if value is None else str(_json_value(value))
    return unicodedata.normalize("NFKC", text).strip().upper()


# --- the operations --------------------------------------------------------------------------


def _text_field(body: Mapping[str, Any], name: str, *, required: bool, max_length: int) -> str:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _bad("request_invalid", _("“%(field)s” must be text.") % {"field": name}, name)
    text = (value or "").strip()
    if required and len(text) < 2:
        raise _bad(f"{name}_required", _("Say what the data is for (the purpose of the call)."), name)
    if len(text) > max_length:
        raise _bad("request_invalid", _("“%(field)s” is too long.") % {"field": name}, name)
    return text


def _wanted_items(target: Target, body: Mapping[str, Any]) -> list[str]:
    raw = body.get("items")
    if raw is None:
        return [key for key in target.items if key in target.grant_items]
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw) or not raw:
        raise _bad("items_invalid", _("“items” is a non-empty list of item keys."), "items")
    return _check_items(target, list(dict.fromkeys(raw)))


def _query(target: Target, body: Mapping[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    items = _wanted_items(target, body)
    key = _clean_key(target, body.get("key"))
    ctx["key_hash"], ctx["key_count"], ctx["items"] = hash_key(key), 1, items
    _rate(target, ctx["clock"])
    found = _read(target, [key], items, ctx).get(key)
    if found is None:
        ctx["items"] = []
        raise CallError(404, "record_not_found", _("No record has this key."), outcome=Outcome.NOT_FOUND)
    return {"resource": target.code, "record": found}


def _verify(target: Target, body: Mapping[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    claims = body.get("fields")
    if not isinstance(claims, dict) or not claims:
        raise _bad("fields_required", _('Give the values to verify, as {"item": "value"}.'), "fields")
    items = _check_items(target, list(claims))
    key = _clean_key(target, body.get("key"))
    ctx["key_hash"], ctx["key_count"], ctx["items"] = hash_key(key), 1, []
    _rate(target, ctx["clock"])
    record = _read(target, [key], items, ctx).get(key)
    fields = {
        item: record is not None and _normalise(record.get(item)) == _normalise(claims[item])
        for item in items
    }
    if record is None:
        ctx["outcome"] = Outcome.NOT_FOUND
    return {"resource": target.code, "match": all(fields.values()), "fields": fields}


def _batch(target: Target, body: Mapping[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    items = _wanted_items(target, body)
    raw_keys = body.get("keys")
    limit = settings.TONGBAN_EXCHANGE_BATCH_MAX
    if not isinstance(raw_keys, list) or not raw_keys:
        raise _bad("keys_required", _("Give the keys, as a list."), "keys")
    if len(raw_keys) > limit:
        raise _bad("batch_too_large", _("At most %(n)d keys in one batch.") % {"n": limit}, "keys")
    keys = list(dict.fromkeys(_clean_key(target, k, field_name=f"keys.{i}") for i, k in enumerate(raw_keys)))
    ctx["key_hashes"] = [hash_key(k) for k in keys]
    ctx["key_count"], ctx["items"] = len(keys), items
    _rate(target, ctx["clock"])
    found = _read(target, keys, items, ctx)
    return {
        "resource": target.code,
        "results": [{"key": k, "found": k in found, "record": found.get(k)} for k in keys],
    }


OPERATIONS: dict[str, Callable[[Target, Mapping[str, Any], dict[str, Any]], dict[str, Any]]] = {
    Operation.QUERY: _query,
    Operation.VERIFY: _verify,
    Operation.BATCH: _batch,
}


def call(
    *,
    caller: Caller | None,
    request: CallRequest,
    authenticate_with: str | None = None,
) -> CallResult:
    """Serve one call and record it. ``caller`` is given for the platform's own calls; systems
    calling over HTTP pass their bearer token as ``authenticate_with``."""
    _ensure_sql()
    started_clock = time.time()
    started = time.perf_counter()
    requested_at = timezone.now()
    call_id = uuid.uuid4()
    body = request.body
    ctx: dict[str, Any] = {
        "call_id": str(call_id),
        "clock": started_clock,
        "items": [],
        "key_hash": "",
        "key_hashes": [],
        "key_count": 0,
        "upstream_ms": None,
        "outcome": Outcome.OK,
        "consumer": caller.department_id if caller else None,
        "purpose_header": "",
    }
    target: Target | None = None
    purpose = on_behalf_of = case_number = ""
    resource_code = str(body.get("resource") or "")[:32] if isinstance(body, Mapping) else ""
    status, error, answer = 200, None, None
    try:
        today = timezone.localdate()
        fetched: Sequence[Any] | None = None
        if caller is None:
            # The token first, even for a malformed body: a refusal must name who was refused.
            guess: str | None = None
            wanted: tuple[str, ...] = ()
            if request.operation != Operation.BATCH and isinstance(body, Mapping):
                guess = str(body.get("key") or "").strip().upper()[:64] or None
                asked = body.get("fields") if request.operation == Operation.VERIFY else body.get("items")
                if isinstance(asked, dict | list):
                    wanted = tuple(k for k in asked if isinstance(k, str))
            caller, fetched, ctx["prefetched"] = authenticate_and_fetch(
                authenticate_with, resource_code or "-", key=guess, wanted=wanted
            )
            ctx["consumer"] = caller.department_id
        else:
            fetched = _fetch(_SQL["resource"], [caller.department_id, resource_code])
        if not isinstance(body, Mapping):
            raise _bad("request_invalid", _("The body is a JSON object."), "request")
        if not resource_code:
            raise _bad("resource_required", _("Say which resource you call (its code)."), "resource")
        purpose = _text_field(body, "purpose", required=True, max_length=200)
        on_behalf_of = _text_field(body, "on_behalf_of", required=False, max_length=64)
        case_number = _text_field(body, "case_number", required=False, max_length=64)
        ctx["purpose_header"] = purpose.encode("utf-8").hex()
        target = _target_of(fetched, today=today)
        if target.source_kind == SourceKind.BASEDATA and target.dataset in DATASET_MODELS:
            _dataset_hint[target.code] = (target.dataset, tuple(target.items))
        else:
            _dataset_hint.pop(target.code, None)
            if target.source_kind == SourceKind.LICENCES:
                ctx["licence_type"] = _licence_type_of(body)
        answer = OPERATIONS[request.operation](target, body, ctx)
    except CallError as exc:
        error, status = exc, exc.status
        ctx["outcome"] = exc.outcome
    except DatabaseError:
        error = CallError(
            503, "exchange_unavailable", _("The exchange cannot read the data right now; try again later."),
            outcome=Outcome.ERROR,
        )  # fmt: skip
        status = error.status
        ctx["outcome"] = error.outcome

    payload = error.as_body(call_id) if error else {"call_id": str(call_id), **(answer or {})}
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    responded_at = timezone.now()
    row = {
        "call_id": call_id,
        "requested_at": requested_at,
        "responded_at": responded_at,
        "latency_ms": (time.perf_counter() - started) * 1000,
        "operation": request.operation,
        "consumer_department_id": caller.department_id if caller else None,
        "client_id": caller.client_id if caller else "",
        "on_behalf_of": on_behalf_of,
        "case_number": case_number,
        "purpose": purpose,
        "resource_id": target.resource_id if target else (error.resource_id if error else None),
        "resource_code": target.code if target else resource_code,
        "provider_department_id": target.provider_id if target else (error.provider_id if error else None),
        "grant_id": target.grant_id if target else None,
        "key_hash": ctx["key_hash"],
        "key_count": ctx["key_count"],
        "key_hashes": ctx["key_hashes"],
        "items": ctx["items"] if not error or error.outcome == Outcome.NOT_FOUND else [],
        "outcome": ctx["outcome"],
        "error_code": error.code if error else "",
        "http_status": status,
        "request_bytes": request.size,
        "response_bytes": len(encoded),
        "upstream_ms": ctx["upstream_ms"],
        "request_id": request.request_id[:64],
    }
    try:
        served: list[Licence] | None = ctx.get("licences")
        if served and error is None:
            _write_record_and_uses(row, served)
        else:
            _write_record(row)
    except DatabaseError:
        failure = CallError(
            503, "call_record_failed", _("The call could not be recorded, so it is not answered.")
        )
        return CallResult(503, failure.as_body(call_id), call_id)
    headers = {"X-Call-Id": str(call_id)}
    if error is not None and error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    return CallResult(status, payload, call_id, headers, encoded)


# --- the call record -------------------------------------------------------------------------

# The model's columns in its own order.
_RECORD_COLUMNS: list[str] = [str(f.column) for f in CallRecord._meta.concrete_fields]
_JSON_COLUMNS = {"items", "key_hashes"}
_DATETIME_COLUMNS = {"requested_at", "responded_at"}
_insert_sql: dict[str, str] = {}


def _record_sql() -> str:
    vendor = connection.vendor
    sql = _insert_sql.get(vendor)
    if sql is None:
        marks = ", ".join(
            "%s::jsonb" if vendor == "postgresql" and c in _JSON_COLUMNS else "%s" for c in _RECORD_COLUMNS
        )
        sql = (
            f"INSERT INTO {_q(CallRecord._meta.db_table)} ({', '.join(_q(c) for c in _RECORD_COLUMNS)}) "  # noqa: S608
            f"VALUES ({marks})"
        )
        _insert_sql[vendor] = sql
    return sql


def _write_record(row: dict[str, Any]) -> None:
    """Insert the call record and commit it (its own transaction unless the caller runs one)."""
    ops = connection.ops
    params = []
    for column in _RECORD_COLUMNS:
        value = row[column]
        if column == "call_id":
            value = value if connection.features.has_native_uuid_field else value.hex
        elif column in _DATETIME_COLUMNS:
            value = ops.adapt_datetimefield_value(value)
        elif column in _JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False)
        params.append(value)
    # In autocommit (an HTTP call) the INSERT is its own transaction, committed when it returns.
    _fetch(_record_sql(), params, rows=False)


def _write_record_and_uses(row: dict[str, Any], licences: Sequence[Licence]) -> None:
    """The call record and one use row per licence served or checked, in one transaction: the
    holder's wallet shows every use the record shows, and the answer waits for both."""
    kind = UseKind.EXCHANGE_VERIFY if row["operation"] == Operation.VERIFY else UseKind.EXCHANGE_FETCH
    department = Department.objects.filter(pk=row["consumer_department_id"]).first()
    with transaction.atomic():
        for licence in licences:
            licence_services.use_record(
                licence=licence,
                kind=kind,
                department=department,
                actor_label=row["client_id"],
                case_number=row["case_number"],
                purpose=row["purpose"],
                call_id=row["call_id"],
            )
        _write_record(row)
