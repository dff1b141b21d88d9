"""The OpenAPI document is served, lists the identity endpoints, and matches the committed copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tongban.portal.openapi import OPENAPI_PATH, REGENERATE_HINT, openapi_document, render_openapi

IDENTITY_PATHS = {
    "/api/v1/auth/login": "post",
    "/api/v1/auth/logout": "post",
    "/api/v1/accounts/citizen": "post",
    "/api/v1/accounts/enterprise": "post",
    "/api/v1/me": "get",
}


def served(client: Client) -> dict:
    response = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(json.dumps(response.json()))


def test_openapi_is_served_and_lists_the_identity_paths(client: Client) -> None:
    document = served(client)
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == "1.0.0"
    for path, method in IDENTITY_PATHS.items():
        assert method in document["paths"].get(path, {}), f"{method.upper()} {path} missing"


def test_served_document_is_the_exported_one(client: Client) -> None:
    assert served(client) == openapi_document()


def _differences(live: dict, committed: dict) -> str:
    lines = []
    for path in sorted(set(live.get("paths", {})) | set(committed.get("paths", {}))):
        if live.get("paths", {}).get(path) != committed.get("paths", {}).get(path):
            state = (
                "added" if path not in committed.get("paths", {}) else
                "removed" if path not in live.get("paths", {}) else "changed"
            )  # fmt: skip
            lines.append(f"  {state}: {path}")
    live_schemas = live.get("components", {}).get("schemas", {})
    committed_schemas = committed.get("components", {}).get("schemas", {})
    for name in sorted(set(live_schemas) | set(committed_schemas)):
        if live_schemas.get(name) != committed_schemas.get(name):
            lines.append(f"  schema changed: {name}")
    return "\n".join(lines) or "  (other top-level fields)"


def test_committed_document_matches_the_live_api(client: Client) -> None:
    assert OPENAPI_PATH.exists(), f"{OPENAPI_PATH} is missing. {REGENERATE_HINT}"
    committed = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    live = served(client)
    assert live == committed, (
        f"The API differs from the committed {OPENAPI_PATH.name}:\n{_differences(live, committed)}\n"
        f"{REGENERATE_HINT}"
    )


def test_export_command_writes_and_checks(tmp_path: Path) -> None:
    target = tmp_path / "api" / "openapi-v1.json"
    with pytest.raises(CommandError, match="openapi_export"):
        call_command("openapi_export", "--check", "--output", str(target))
    call_command("openapi_export", "--output", str(target))
    assert target.read_text(encoding="utf-8") == render_openapi()
    call_command("openapi_export", "--check", "--output", str(target))
    target.write_text(target.read_text(encoding="utf-8").replace("/api/v1/me", "/api/v1/whoami"))
    with pytest.raises(CommandError, match="not the live API"):
        call_command("openapi_export", "--check", "--output", str(target))
