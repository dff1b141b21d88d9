"""Opening an uploaded Excel workbook (openpyxl), for every app that imports one.

Refuses what is not an .xlsx by name, what is larger than the caller's limit, and what openpyxl
cannot read, each with a stable code on the ``file`` field; nothing else is read before that.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO, Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from tongban.core.errors import ValidationFailed


def file_error(message: str | Promise, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={"file": [message]})


def open_workbook(upload: IO[bytes], *, name: str | None, size: int | None, max_bytes: int) -> Any:
    """The workbook of ``upload`` (read-only, cell values rather than formulas)."""
    if name is not None and not name.lower().endswith(".xlsx"):
        raise file_error(_("Upload an Excel workbook (.xlsx)."), "import_wrong_file_type")
    data = upload.read(max_bytes + 1)
    if (size is not None and size > max_bytes) or len(data) > max_bytes:
        raise file_error(
            _("The file is larger than %(mb)d MB.") % {"mb": max_bytes // (1024 * 1024)},
            "import_file_too_large",
        )
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise file_error(_("The file is not a readable Excel workbook (.xlsx)."), "import_not_xlsx") from None
