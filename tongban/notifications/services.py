"""Writes to the message centre, and the one way every app tells a user something: ``notify``.

A message is stored inside the caller's transaction, so it exists exactly when the change it
reports does. SMS and e-mail leave only after that transaction commits (``transaction.on_commit``):
nobody is told about a change that was rolled back. A channel that fails is logged and skipped; it
never breaks the request that caused it, nor the other channel.

Marking messages read is not audited: it changes nothing but the reader's own inbox, and writing an
audit row (which serialises on the chain head) for every opened message would only add noise.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import NotFound, ValidationFailed
from tongban.identity.models import User
from tongban.notifications import channels
from tongban.notifications.models import Message

log = structlog.get_logger("tongban.notifications")

SMS_MAX_CHARS = 300


def _sms_text(title: str, body: str) -> str:
    text = f"【{settings.TONGBAN_SITE_NAME}】{title}"
    if body:
        text = f"{text}：{body}"
    return text[:SMS_MAX_CHARS]


def _deliver(*, message_id: int, topic: str, phone: str, email: str, title: str, body: str) -> None:
    """Send one message over each outbound channel the recipient has; each failure is contained."""
    if phone:
        try:
            channels.send_sms(phone, _sms_text(title, body))
        except Exception:
            log.exception("notify.sms_failed", message_id=message_id, topic=topic)
    if email:
        try:
            channels.send_email(email, f"{settings.TONGBAN_SITE_NAME}：{title}", body or title)
        except Exception:
            log.exception("notify.email_failed", message_id=message_id, topic=topic)


def notify(
    *,
    recipient: User,
    topic: str,
    title: str,
    body: str,
    link: str = "",
    subject: models.Model | None = None,
    sms: bool = True,
) -> Message:
    """Store the message in the recipient's message centre (inside the caller's transaction) and send it
    over the outbound channels (SMS to recipient.phone if any and sms=True, e-mail if recipient.email)
    with transaction.on_commit, so nothing goes out for a rolled-back change.

    ``link`` must be a path on this site (it is followed from the message centre, so an absolute URL
    would make the centre an open redirect).
    """
    if link and (not link.startswith("/") or link.startswith("//")):
        raise ValidationFailed(_("A message link must be a path on this site."), code="message_link_invalid")
    message = Message.objects.create(
        recipient=recipient,
        topic=topic[:64],
        title=str(title)[:200],
        body=str(body),
        link=link,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
    )
    phone = recipient.phone if sms else ""
    email = recipient.email or ""
    if phone or email:
        transaction.on_commit(
            lambda: _deliver(
                message_id=message.pk,
                topic=message.topic,
                phone=phone,
                email=email,
                title=message.title,
                body=message.body,
            )
        )
    return message


@transaction.atomic
def message_mark_read(*, message_id: int, by: User) -> Message:
    """Mark one of the user's own messages read; someone else's message is "not found" (no probing)."""
    message = Message.objects.select_for_update().filter(pk=message_id, recipient=by).first()
    if message is None:
        raise NotFound(_("There is no such message."), code="message_not_found")
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


@transaction.atomic
def messages_mark_all_read(*, by: User) -> int:
    """Mark every unread message of the user read; returns how many were marked."""
    return Message.objects.filter(recipient=by, read_at__isnull=True).update(read_at=timezone.now())
