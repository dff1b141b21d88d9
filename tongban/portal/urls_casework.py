"""Staff case handling: department queues, case actions and the one-window intake, under /staff/."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "casework"

urlpatterns: list[URLPattern] = []
