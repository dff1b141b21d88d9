"""Staff-side identity pages, mounted under /staff/."""

from __future__ import annotations

from django.urls import path  # noqa: F401  (routes are added by the staff pages)

app_name = "identity"

urlpatterns: list = []
