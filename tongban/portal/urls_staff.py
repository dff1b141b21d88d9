"""Staff pages for platform-wide records (audit trail, working-day calendar), under /staff/."""

from __future__ import annotations

app_name = "staffpages"

urlpatterns: list = []
