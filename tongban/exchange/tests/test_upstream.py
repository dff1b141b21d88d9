"""Resources served by a department's own system: a real HTTP server on loopback behind the exchange."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from django.core.cache import cache
from django.test import Client

from tongban.exchange import gateway, upstream
from tongban.exchange.choices import SourceKind
from tongban.exchange.models import CallRecord, ResourceSource, UpstreamSystem
from tongban.exchange.tests import factories as f

pytestmark = pytest.mark.django_db

MARRIAGE_ITEMS = (
    ("resident_id", "公民身份号码", "string", True),
    ("name", "姓名", "string", False),
    ("marital_status", "婚姻状况", "code", False),
    ("registered_on", "登记日期", "date", False),
)


class Upstream(BaseHTTPRequestHandler):
    """民政局's marriage registry as a department would run it: GET /marriages/<id>."""

    mode: ClassVar[str] = "ok"
    records: ClassVar[dict[str, dict[str, Any]]] = {}
    seen: ClassVar[list[dict[str, str]]] = []
    hits: ClassVar[int] = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        type(self).seen.append(dict(self.headers.items()))
        if self.mode == "slow":
            time.sleep(0.6)
        if self.mode == "fail":
            self._send(503, b'{"error":"down"}')
            return
        if self.mode == "garbage":
            self._send(200, b"<html>oops</html>")
            return
        key = self.path.rsplit("/", 1)[-1]
        record = self.records.get(key)
        if record is None:
            self._send(404, b'{"error":"not found"}')
        else:
            self._send(200, json.dumps(record, ensure_ascii=False).encode())

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Upstream.mode, Upstream.records, Upstream.seen, Upstream.hits = "ok", {}, [], 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    upstream.forget()
    cache.clear()
    gateway.forget_cached_items()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    upstream.forget()


@pytest.fixture
def world(server: str) -> dict[str, Any]:
    mzj = f.department("u-mzj", "六安市民政局")
    rsj = f.department("u-rsj", "六安市人社局")
    marriages = f.resource(mzj, name="婚姻登记信息", items=MARRIAGE_ITEMS, dataset=None)
    system = UpstreamSystem.objects.create(
        department=mzj, name="婚姻登记系统", base_url=server, api_key="mzj-secret", timeout_seconds=0.3,
        retries=1, failure_threshold=3, reset_seconds=60,
    )  # fmt: skip
    ResourceSource.objects.create(
        resource=marriages, kind=SourceKind.UPSTREAM, upstream=system, path="/marriages/{key}"
    )
    f.grant(rsj, marriages, items=["name", "marital_status", "registered_on"])
    key = f.make_resident_id("341502", "19860312", seq=11)
    Upstream.records = {
        key: {"resident_id": key, "name": "张伟", "marital_status": "20", "registered_on": "2012-10-01"}
    }
    return {"marriages": marriages, "system": f.system(rsj), "key": key, "upstream": system}


def query(client: Client, world: dict[str, Any], key: str | None = None) -> Any:
    body = {
        "resource": world["marriages"].code,
        "key": key or world["key"],
        "purpose": "办理社保待遇核验婚姻状况",
    }
    return client.post(
        "/api/v1/exchange/query",
        json.dumps(body),
        content_type="application/json",
        headers=world["system"].headers,
    )


def test_a_record_from_the_upstream_system(client: Client, world: dict[str, Any]) -> None:
    reply = query(client, world)
    assert reply.status_code == 200, reply.content
    assert reply.json()["record"] == {"name": "张伟", "marital_status": "20", "registered_on": "2012-10-01"}
    sent = Upstream.seen[-1]
    assert sent["Authorization"] == "Bearer mzj-secret"
    assert sent["X-Tongban-Call-Id"] == reply.json()["call_id"]
    assert bytes.fromhex(sent["X-Tongban-Purpose"]).decode() == "办理社保待遇核验婚姻状况"
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert record.outcome == "ok"
    assert record.upstream_ms is not None
    assert record.upstream_ms > 0


def test_not_found_upstream_is_404(client: Client, world: dict[str, Any]) -> None:
    reply = query(client, world, key=f.make_resident_id("341502", "19900101", seq=12))
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "record_not_found"


def test_a_timeout_is_504_recorded_and_not_retried(client: Client, world: dict[str, Any]) -> None:
    Upstream.mode = "slow"
    started = time.monotonic()
    reply = query(client, world)
    assert reply.status_code == 504
    assert reply.json()["error"]["code"] == "upstream_timeout"
    assert time.monotonic() - started < 0.6 + 0.3  # one timeout, no retry
    assert Upstream.hits == 1
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert (record.outcome, record.error_code, record.http_status) == ("error", "upstream_timeout", 504)


def test_failures_are_retried_then_the_circuit_opens(client: Client, world: dict[str, Any]) -> None:
    Upstream.mode = "fail"
    first = query(client, world)
    assert first.status_code == 503
    assert first.json()["error"]["code"] == "upstream_unavailable"
    assert Upstream.hits == 2  # one retry of a 503
    query(client, world)
    query(client, world)  # the third failure opens the circuit
    hits = Upstream.hits
    opened = query(client, world)
    assert opened.status_code == 503
    assert Upstream.hits == hits  # answered at once, the upstream is spared
    assert upstream.breaker_state(world["upstream"].pk) == "open"


def test_an_unreadable_answer_is_502(client: Client, world: dict[str, Any]) -> None:
    Upstream.mode = "garbage"
    reply = query(client, world)
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "upstream_bad_response"


def test_an_upstream_that_is_not_listening_is_503(client: Client, world: dict[str, Any]) -> None:
    UpstreamSystem.objects.filter(pk=world["upstream"].pk).update(base_url="http://127.0.0.1:9")
    upstream.forget()
    reply = query(client, world)
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "upstream_unavailable"
