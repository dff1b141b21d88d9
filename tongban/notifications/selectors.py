"""Reads of the message centre. A user only ever reads their own messages."""

from __future__ import annotations

from django.db.models import QuerySet

from tongban.identity.models import User
from tongban.notifications.models import Message


def messages_for(user: User, *, unread_only: bool = False) -> QuerySet[Message]:
    """The user's messages, newest first."""
    messages = Message.objects.filter(recipient=user)
    if unread_only:
        messages = messages.filter(read_at__isnull=True)
    return messages.order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    """One COUNT query on the (recipient, read_at, -created_at) index."""
    return Message.objects.filter(recipient=user, read_at__isnull=True).count()
