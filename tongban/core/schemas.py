"""The error body every API endpoint answers with (see tongban/api.py)."""

from __future__ import annotations

from ninja import Schema


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None
    unlock_at: str | None = None


class ErrorOut(Schema):
    error: ErrorBody
