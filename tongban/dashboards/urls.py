"""The dashboards pages (see tongban/urls.py for where they are mounted)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "dashboards"

urlpatterns: list[URLPattern | URLResolver] = []
