"""What an uploaded material may be: PDF, JPEG or PNG, recognised by content, within the size limit.

The extension and the browser's content type are the applicant's claims; the first bytes are the
file's own. A file is accepted only when its bytes say it is one of the accepted types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import ValidationFailed

_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
ACCEPTED_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png")


def max_bytes() -> int:
    return int(getattr(settings, "TONGBAN_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    extension: str
    size: int
    sha256: str
    original_name: str


def check_upload(upload: UploadedFile, *, field: str = "file") -> CheckedUpload:
    """The upload's real type and digest, or ``ValidationFailed`` (``upload_*`` codes)."""
    name = (upload.name or "").rsplit("/", 1)[-1][:255]
    size = upload.size or 0
    if size == 0:
        raise ValidationFailed(
            _("The file %(name)s is empty.") % {"name": name}, code="upload_empty", fields={field: []}
        )
    limit = max_bytes()
    if size > limit:
        message = _("The file %(name)s is larger than %(mb)s MB.") % {
            "name": name,
            "mb": limit // (1024 * 1024),
        }
        raise ValidationFailed(message, code="upload_too_large", fields={field: [message]})
    upload.seek(0)
    head = upload.read(16)
    kind = next(((t, e) for signature, t, e in _SIGNATURES if head.startswith(signature)), None)
    if kind is None:
        message = _("The file %(name)s is not a PDF, JPEG or PNG file.") % {"name": name}
        raise ValidationFailed(message, code="upload_type_not_allowed", fields={field: [message]})
    content_type, extension = kind
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(
        content_type=content_type,
        extension=extension,
        size=size,
        sha256=digest.hexdigest(),
        original_name=name or f"upload{extension}",
    )
