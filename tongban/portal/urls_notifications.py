"""The message centre of citizens, enterprises and staff."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "notices"

urlpatterns: list[URLPattern] = []
