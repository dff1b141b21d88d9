"""Domain errors with stable codes.

Services raise these; the API turns them into ``{"error": {"code", "message", "fields"}}`` with the
HTTP status below, and pages show ``message`` (translated, Chinese by default). ``code`` is part of
the public API contract and never changes once published.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    status = 400
    default_code = "invalid_request"

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        fields: dict[str, list[str | Promise]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.fields:
            body["fields"] = {name: [str(m) for m in msgs] for name, msgs in self.fields.items()}
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 400
    default_code = "validation_failed"


class AuthenticationFailed(DomainError):
    status = 401
    default_code = "authentication_failed"


class PermissionDenied(DomainError):
    status = 403
    default_code = "permission_denied"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class Locked(DomainError):
    status = 429
    default_code = "account_locked"
