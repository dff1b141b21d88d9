"""The committed OpenAPI document of the public API (``docs/api/openapi-v1.json``).

Department systems and open-data clients are written against it, so a change to the API must be a
deliberate change to this file too: ``python manage.py openapi_export`` rewrites it from the live
API, and ``tongban/portal/tests/test_openapi.py`` fails while the two differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import translation

OPENAPI_PATH = Path(settings.BASE_DIR) / "docs" / "api" / "openapi-v1.json"
REGENERATE_HINT = (
    "Regenerate it with `TONGBAN_ENV=dev .venv/bin/python manage.py openapi_export`, review the diff "
    "(clients depend on it) and commit docs/api/openapi-v1.json."
)


def openapi_document() -> dict[str, Any]:
    """The live document as plain JSON data, with its texts in English (the msgid language)."""
    from tongban.api import api

    with translation.override("en"):
        schema = api.get_openapi_schema(path_prefix="/api/v1/")
        return json.loads(json.dumps(schema, default=str))


def render_openapi() -> str:
    """The document as committed: sorted keys and two-space indents, so diffs stay readable."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
