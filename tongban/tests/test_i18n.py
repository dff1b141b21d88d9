"""Every interface string has its Simplified Chinese translation.

For each app, the catalogue is regenerated from the source in a temporary copy (so the check sees
strings added since the last ``./scripts/messages``) and msgfmt counts what is untranslated or fuzzy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in (ROOT / "tongban").glob("*/apps.py"))


@pytest.mark.parametrize("app", APPS)
def test_catalogue_is_complete(app: str, tmp_path: Path) -> None:
    if shutil.which("msgfmt") is None:
        pytest.fail("GNU gettext (msgfmt) is required: apt-get install gettext")
    src = ROOT / "tongban" / app
    copy = tmp_path / app
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__", "tests", "*.mo"))
    (copy / "locale").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "TONGBAN_ENV": "dev",
        "DJANGO_SETTINGS_MODULE": "tongban.settings",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-P", "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location", "-v", "0"],
        cwd=copy,
        env=env,
        check=True,
    )
    po = copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    stats = subprocess.run(
        ["msgfmt", "--statistics", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    hint = f"{app}: {stats.strip()}; run ./scripts/messages and translate tongban/{app}/locale/zh_Hans/"
    assert "untranslated" not in stats, hint
    assert "fuzzy" not in stats, hint
