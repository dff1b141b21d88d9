"""The message centre: one row per message sent to a user, read or not."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    """A message in the recipient's message centre.

    The subject is kept as type and id (like the audit trail) rather than a foreign key, so any app
    can point a message at its own object without notifications depending on it.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox", verbose_name=_("recipient")
    )
    topic = models.CharField(_("topic"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    subject_type = models.CharField(_("subject type"), max_length=64, blank=True)
    subject_id = models.CharField(_("subject id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notif_msg_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
