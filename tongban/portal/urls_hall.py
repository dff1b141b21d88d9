"""The online hall: applying, drafts, corrections, my cases, the public progress lookup."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "hall"

urlpatterns: list[URLPattern] = []
