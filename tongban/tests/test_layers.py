"""Dependencies between apps point one way: portal -> domain apps -> core (STYLE.md).

A domain app may use another domain app only through its services and selectors; core uses none.
This test reads the imports of every module and fails on an import that points the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# app -> apps it may import from (besides itself)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "identity": {"core"},
    "catalog": {"core", "identity"},
    "notifications": {"core", "identity"},
    "appointments": {"core", "identity", "catalog", "notifications"},
    "cases": {
        "core",
        "identity",
        "catalog",
        "notifications",
        "basedata",
        "resources",
        "exchange",
        "licences",
    },
    "bundles": {"core", "identity", "catalog", "notifications", "cases", "licences", "exchange"},
    "basedata": {"core", "identity"},
    "resources": {"core", "identity", "catalog", "basedata"},
    "licences": {"core", "identity", "catalog", "notifications", "basedata"},
    "exchange": {"core", "identity", "catalog", "notifications", "basedata", "resources", "licences"},
    "supervision": {"core", "identity", "catalog", "notifications", "cases"},
    "reviews": {"core", "identity", "catalog", "notifications", "appointments", "cases"},
    "dashboards": {
        "core",
        "identity",
        "catalog",
        "cases",
        "exchange",
        "licences",
        "supervision",
        "reviews",
    },
    "portal": {
        "core",
        "identity",
        "catalog",
        "notifications",
        "appointments",
        "cases",
        "bundles",
        "basedata",
        "resources",
        "exchange",
        "licences",
        "supervision",
        "reviews",
        "dashboards",
    },
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _app_modules(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts and "tests" not in p.parts]


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_app_imports_point_one_way(app: str) -> None:
    wrong: list[str] = []
    for path in _app_modules(app):
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] != "tongban" or len(parts) < 2 or parts[1] not in ALLOWED:
                continue
            target = parts[1]
            if target != app and target not in ALLOWED[app]:
                wrong.append(f"{path.relative_to(ROOT.parent)} imports {module}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_every_app_is_listed() -> None:
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps == set(ALLOWED), f"add new apps to ALLOWED in {__file__}"
