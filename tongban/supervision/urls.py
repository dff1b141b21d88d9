"""The supervision pages (see tongban/urls.py for where they are mounted)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "supervision"

urlpatterns: list[URLPattern | URLResolver] = []
