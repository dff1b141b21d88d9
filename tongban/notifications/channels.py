"""Outbound channels: the SMS port and its backends, and e-mail through Django's mail framework.

The SMS gateway of a real deployment is another backend behind ``send_sms``; the ones here write the
message somewhere a developer or a test can read it. ``TONGBAN_SMS_BACKEND`` picks one.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Protocol

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from tongban.core.masking import mask_phone

log = structlog.get_logger("tongban.notifications")

# Messages sent by the "locmem" backend, newest last; tests read and clear it.
outbox: list[dict[str, str]] = []

_file_lock = threading.Lock()


class SmsBackend(Protocol):
    def send_sms(self, phone: str, text: str) -> None: ...


class ConsoleBackend:
    """One structured log line per SMS; the number is masked since logs are widely read."""

    def send_sms(self, phone: str, text: str) -> None:
        log.info("sms.sent", phone=mask_phone(phone), text=text)


class FileBackend:
    """Appends one JSON line per SMS to ``<VAR_DIR>/outbox/sms.jsonl`` (the development default)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or Path(settings.VAR_DIR) / "outbox") / "sms.jsonl"

    def send_sms(self, phone: str, text: str) -> None:
        line = json.dumps(
            {"at": timezone.now().isoformat(), "phone": phone, "text": text}, ensure_ascii=False
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class LocmemBackend:
    """Keeps the messages in the module-level ``outbox`` list (the test backend)."""

    def send_sms(self, phone: str, text: str) -> None:
        outbox.append({"phone": phone, "text": text})


_BACKENDS: dict[str, type[Any]] = {"console": ConsoleBackend, "file": FileBackend, "locmem": LocmemBackend}


def sms_backend() -> SmsBackend:
    backend: SmsBackend = _BACKENDS[settings.TONGBAN_SMS_BACKEND]()
    return backend


def send_sms(phone: str, text: str) -> None:
    sms_backend().send_sms(phone, text)


def send_email(address: str, subject: str, text: str) -> None:
    send_mail(subject, text, None, [address])
