"""Staff-side identity pages (second factor, staff and roles), mounted under /staff/."""

from __future__ import annotations

app_name = "identity"

urlpatterns: list = []
