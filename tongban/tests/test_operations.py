"""Health checks, request ids, security headers and fail-fast settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_the_database(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] in {"sqlite", "postgresql"}


def test_request_id_is_echoed_or_generated(client: Client) -> None:
    given = client.get("/healthz", HTTP_X_REQUEST_ID="req-abc-12345")
    assert given["X-Request-ID"] == "req-abc-12345"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert made["X-Request-ID"] != "bad id with spaces"
    assert len(made["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_security_headers_on_pages(client: Client) -> None:
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "Strict-Transport-Security" not in response  # plain HTTP: no HSTS


@pytest.mark.django_db
def test_hsts_over_https(client: Client, settings: object) -> None:
    settings.SECURE_HSTS_SECONDS = 31_536_000  # type: ignore[attr-defined]
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def _run_with_settings(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", f"import json, tongban.settings as s; {code}"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TONGBAN_SECRET_KEY is required"),
        ({"TONGBAN_SECRET_KEY": "short"}, "at least 50 characters"),
        ({"TONGBAN_ENV": "staging"}, "TONGBAN_ENV must be one of"),
        ({"TONGBAN_ENV": "dev", "TONGBAN_DEBUG": "maybe"}, "TONGBAN_DEBUG must be a boolean"),
        ({"TONGBAN_ENV": "dev", "TONGBAN_LOGIN_FAILURE_LIMIT": "five"}, "must be an integer"),
        ({"TONGBAN_ENV": "dev", "DATABASE_URL": "mysql://x@y/z"}, "SQLite or PostgreSQL"),
        ({"TONGBAN_ENV": "dev", "TONGBAN_STAFF_2FA": "sometimes"}, "TONGBAN_STAFF_2FA must be one of"),
        ({"TONGBAN_SECRET_KEY": "x" * 60}, "TONGBAN_OIDC_RSA_PRIVATE_KEY"),
    ],
)
def test_bad_settings_stop_start_up(env: dict[str, str], message: str, tmp_path: Path) -> None:
    result = _run_with_settings("pass", TONGBAN_VAR_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_good_production_settings_start(tmp_path: Path) -> None:
    key = subprocess.run(
        [sys.executable, "-c", "from tongban.devsecrets import _new_rsa_pem; print(_new_rsa_pem())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = _run_with_settings(
        "print(json.dumps([s.DEBUG, s.HTTPS, s.SESSION_COOKIE_SECURE]))",
        TONGBAN_VAR_DIR=str(tmp_path),
        TONGBAN_SECRET_KEY="k" * 64,
        TONGBAN_OIDC_RSA_PRIVATE_KEY=key,
        TONGBAN_PUBLIC_URL="https://zwfw.example.gov.cn",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, True, True]
