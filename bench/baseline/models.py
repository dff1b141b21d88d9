from __future__ import annotations

from django.db import models


class Row(models.Model):
    """A tiny table: the cheapest write a request can make through the ORM."""

    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        app_label = "baseline"

    def __str__(self) -> str:
        return f"row {self.pk}"
