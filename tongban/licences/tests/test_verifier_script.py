"""scripts/verify_licence.py, the independent verifier, run as a third party would run it: a
separate process, with a licence file and the published keys, and without Django or Tongban."""

from __future__ import annotations

import ast
import copy
import functools
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, make_credit_code
from tongban.licences import identifiers, selectors, services, signing
from tongban.licences.models import Licence
from tongban.licences.tests.test_public import World, make_world

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "verify_licence.py"
# Run the script with Django and Tongban made unimportable: it must not need them.
NO_DJANGO = (
    "import runpy, sys; "
    "sys.modules.update(django=None, tongban=None); "
    "sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.fixture
def world(city: Department) -> World:
    return make_world(city)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, with arguments the test chose
        [sys.executable, "-c", NO_DJANGO, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )


def write(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def keys_file(tmp_path: Path) -> Path:
    return write(tmp_path / "keys.json", {"keys": selectors.published_keys()})


def licence_file(tmp_path: Path, licence: Licence | dict[str, Any], name: str = "licence.json") -> Path:
    signed = selectors.signed_document(licence) if isinstance(licence, Licence) else licence
    return write(tmp_path / name, signed)


def resigned(document: dict[str, Any], licence: Licence) -> dict[str, Any]:
    """The document signed with the licence's own key: a genuine signature over other content."""
    return {
        "licence": document,
        "signature": signing.sign(bytes(licence.key.private_key), signing.canonical(document)),
    }


def test_the_script_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    others = modules - set(sys.stdlib_module_names) - {"__future__"}
    assert others == {"cryptography", "stdnum"}, others


def test_the_canonical_form_is_the_platforms(world: World) -> None:
    """The script's canonical bytes are signing.canonical's (imported here, not by a subprocess)."""
    namespace: dict[str, Any] = {}
    exec(compile(SCRIPT.read_text(encoding="utf-8"), str(SCRIPT), "exec"), namespace)  # noqa: S102
    document = selectors.document_of(world.licence)
    assert namespace["canonical"](document) == signing.canonical(document)


def test_a_genuine_licence_exits_0(tmp_path: Path, world: World) -> None:
    result = run(licence_file(tmp_path, world.licence), "--keys", keys_file(tmp_path))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("GENUINE / 真实")
    assert world.licence.key.key_id in first
    assert "active / 在用" in first
    assert "online" in result.stdout
    assert "在线" in result.stdout


def test_the_identifier_check_passes_on_a_genuine_licence(tmp_path: Path, world: World) -> None:
    result = run(licence_file(tmp_path, world.licence), "--keys", keys_file(tmp_path), "--identifier-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ISO 7064" in result.stdout


def test_a_licence_signed_with_a_retired_key_still_verifies(tmp_path: Path, world: World) -> None:
    services.signing_key_rotate(department=world.issuer, by=None, reason="rotation")
    result = run(licence_file(tmp_path, world.licence), "--keys", keys_file(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "retired / 已停用" in result.stdout.splitlines()[0]


@pytest.mark.parametrize("where", ["data", "holder_id", "valid_until", "signature"])
def test_one_byte_changed_exits_1(tmp_path: Path, world: World, where: str) -> None:
    signed = copy.deepcopy(selectors.signed_document(world.licence))
    if where == "data":
        value = signed["licence"]["data"]["registered_on"]
        signed["licence"]["data"]["registered_on"] = value[:-1] + ("2" if value[-1] != "2" else "3")
    elif where == "holder_id":
        value = signed["licence"]["holder_id"]
        signed["licence"]["holder_id"] = value[:-2] + ("1" if value[-2] != "1" else "2") + value[-1]
    elif where == "valid_until":
        signed["licence"]["valid_until"] = "2099-12-31"
    else:
        value = signed["signature"]
        signed["signature"] = ("B" if value[0] != "B" else "C") + value[1:]
    result = run(licence_file(tmp_path, signed), "--keys", keys_file(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("NOT GENUINE / 非真实证照")
    assert "forged or altered" in result.stdout


def test_an_unknown_key_exits_1(tmp_path: Path, world: World) -> None:
    keys = [k for k in selectors.published_keys() if k["kid"] != world.licence.key.key_id]
    result = run(
        licence_file(tmp_path, world.licence), "--keys", write(tmp_path / "keys.json", {"keys": keys})
    )
    assert result.returncode == 1
    assert "no published key" in result.stdout


def test_a_key_of_another_department_exits_1(tmp_path: Path, world: World) -> None:
    """A genuine signature by another department's key over a licence naming this issuer."""
    other: Any = DepartmentFactory(name="六安市公安局", code="t-gaj", credit_code=make_credit_code())
    other_key = services.signing_key_rotate(department=other, by=None)
    document = {**selectors.document_of(world.licence), "key_id": other_key.key_id}
    signed = {
        "licence": document,
        "signature": signing.sign(bytes(other_key.private_key), signing.canonical(document)),
    }
    result = run(licence_file(tmp_path, signed), "--keys", keys_file(tmp_path))
    assert result.returncode == 1, result.stdout
    assert "六安市公安局" in result.stdout


def test_a_wrong_check_character_fails_the_identifier_check(tmp_path: Path, world: World) -> None:
    document = selectors.document_of(world.licence)
    identifier = document["identifier"]
    document["identifier"] = identifier[:-1] + ("0" if identifier[-1] != "0" else "1")
    assert identifiers.parse(document["identifier"]) is None
    path = licence_file(tmp_path, resigned(document, world.licence))
    assert run(path, "--keys", keys_file(tmp_path)).returncode == 0  # the signature alone is fine
    checked = run(path, "--keys", keys_file(tmp_path), "--identifier-check")
    assert checked.returncode == 1
    assert "check character" in checked.stdout


def test_keys_from_a_url(tmp_path: Path, world: World) -> None:
    served = tmp_path / "site"
    (served / "licences").mkdir(parents=True)
    keys_file(served / "licences")
    with serve(served) as base:
        result = run(licence_file(tmp_path, world.licence), "--keys", f"{base}/licences/keys.json")
        missing = run(licence_file(tmp_path, world.licence), "--keys", f"{base}/nothing/keys.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{base}/licences/v/{world.licence.identifier}/" in result.stdout  # where to check revocation
    assert missing.returncode == 2
    assert "cannot fetch" in missing.stderr


@pytest.mark.parametrize(
    "case",
    ["no_args", "no_keys", "missing_file", "missing_keys", "not_json", "not_a_licence", "not_keys", "flag"],
)
def test_usage_and_file_errors_exit_2(tmp_path: Path, world: World, case: str) -> None:
    good = licence_file(tmp_path, world.licence)
    keys = keys_file(tmp_path)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json", encoding="utf-8")
    table: dict[str, list[str | Path]] = {
        "no_args": [],
        "no_keys": [good],
        "missing_file": [tmp_path / "absent.json", "--keys", keys],
        "missing_keys": [good, "--keys", tmp_path / "absent-keys.json"],
        "not_json": [bad_json, "--keys", keys],
        "not_a_licence": [write(tmp_path / "x.json", {"licence": "x"}), "--keys", keys],
        "not_keys": [good, "--keys", write(tmp_path / "k.json", {"keys": "none"})],
        "flag": [good, "--keys", keys, "--no-such-flag"],
    }
    result = run(*table[case])
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "error" in result.stderr


def test_help_says_revocation_is_only_known_online() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "--identifier-check" in result.stdout
    assert "revoked the licence can only be known online" in " ".join(result.stdout.split())
    assert "在线核验" in result.stdout


# --- a tiny web server for the keys ------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class serve:
    """Serve a directory on 127.0.0.1 for the length of a ``with`` block; yields the base URL."""

    def __init__(self, directory: Path) -> None:
        handler: Any = functools.partial(_Quiet, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
