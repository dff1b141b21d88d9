"""The adapter to department systems that serve a resource over HTTP (docs/adr/0014-data-exchange.md).

The contract an upstream system implements: ``GET {base_url}{path}`` with ``{key}`` replaced by the
record's key (URL-encoded), ``Authorization: Bearer <api key>`` when one is registered, and the
headers ``X-Tongban-Call-Id``, ``X-Tongban-Purpose`` (hex of the UTF-8 purpose) and
``X-Tongban-Consumer``. It answers 200 with a JSON object of the record's items, or 404 when there
is no such record.

Each upstream gets one pooled ``httpx.Client`` per process, a timeout for the whole request, a few
retries of connection failures and of 502/503/504 answers (a GET is safe to repeat; a timeout is
not retried, so a slow system costs the caller at most one timeout), and a circuit breaker
(pybreaker) that, after ``failure_threshold`` failures in a row, answers "unavailable" at once for
``reset_seconds`` before letting one trial request through.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pybreaker

from tongban.exchange.models import UpstreamSystem

CONFIG_SECONDS = 10.0
RETRY_STATUSES = {502, 503, 504}


class UpstreamError(Exception):
    pass


class UpstreamTimeout(UpstreamError):
    pass


class UpstreamUnavailable(UpstreamError):
    pass


class UpstreamBadAnswer(UpstreamError):
    pass


@dataclass(frozen=True)
class _Config:
    pk: int
    base_url: str
    api_key: str
    timeout: float
    retries: int
    failure_threshold: int
    reset_seconds: int
    is_active: bool
    version: str


@dataclass
class _Link:
    config: _Config
    client: httpx.Client
    breaker: pybreaker.CircuitBreaker
    checked_at: float


_links: dict[int, _Link] = {}
_lock = threading.Lock()


def _read_config(upstream_id: int) -> _Config:
    system = UpstreamSystem.objects.filter(pk=upstream_id).first()
    if system is None:
        raise UpstreamUnavailable(f"upstream {upstream_id} is not registered")
    return _Config(
        pk=system.pk,
        base_url=system.base_url.rstrip("/"),
        api_key=system.api_key,
        timeout=system.timeout_seconds,
        retries=system.retries,
        failure_threshold=system.failure_threshold,
        reset_seconds=system.reset_seconds,
        is_active=system.is_active,
        version=system.updated_at.isoformat(),
    )


def _link(upstream_id: int) -> _Link:
    """The upstream's client and breaker, re-read from the database every ten seconds; a changed
    registration gets a new client and a fresh breaker."""
    now = time.monotonic()
    link = _links.get(upstream_id)
    if link is not None and now - link.checked_at < CONFIG_SECONDS:
        return link
    config = _read_config(upstream_id)
    with _lock:
        link = _links.get(upstream_id)
        if link is not None and link.config.version == config.version:
            link.checked_at = now
            return link
        if link is not None:
            link.client.close()
        link = _Link(
            config=config,
            client=httpx.Client(
                timeout=httpx.Timeout(config.timeout),
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
                follow_redirects=False,
            ),
            breaker=pybreaker.CircuitBreaker(
                fail_max=config.failure_threshold,
                reset_timeout=config.reset_seconds,
                exclude=[UpstreamBadAnswer],
                name=f"upstream-{config.pk}",
                throw_new_error_on_trip=False,
            ),
            checked_at=now,
        )
        _links[upstream_id] = link
        return link


def forget() -> None:
    """Drop every client and breaker (the tests start each upstream afresh)."""
    with _lock:
        for link in _links.values():
            link.client.close()
        _links.clear()


def _get(link: _Link, url: str, headers: dict[str, str]) -> dict[str, Any] | None:
    attempts = 1 + link.config.retries
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            response = link.client.get(url, headers=headers)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except httpx.TransportError as exc:
            if last:
                raise UpstreamUnavailable(str(exc)) from exc
            continue
        if response.status_code == 404:
            return None
        if response.status_code in RETRY_STATUSES and not last:
            continue
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"upstream answered {response.status_code}")
        if response.status_code != 200:
            raise UpstreamBadAnswer(f"upstream answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise UpstreamBadAnswer("upstream answered something other than JSON") from exc
        if not isinstance(data, dict):
            raise UpstreamBadAnswer("upstream answered JSON that is not an object")
        return data
    raise UpstreamUnavailable("no attempt left")  # pragma: no cover - the loop returns or raises


def fetch(*, upstream_id: int, path: str, key: str, headers: dict[str, str]) -> dict[str, Any] | None:
    """The record for ``key`` from the upstream system, None when it has none."""
    link = _link(upstream_id)
    if not link.config.is_active:
        raise UpstreamUnavailable("upstream is disabled")
    url = link.config.base_url + path.replace("{key}", quote(key, safe=""))
    sent = dict(headers)
    if link.config.api_key:
        sent["Authorization"] = f"Bearer {link.config.api_key}"
    try:
        return link.breaker.call(_get, link, url, sent)
    except pybreaker.CircuitBreakerError as exc:
        raise UpstreamUnavailable(str(exc)) from exc


def breaker_state(upstream_id: int) -> str:
    link = _links.get(upstream_id)
    return link.breaker.current_state if link else "closed"
