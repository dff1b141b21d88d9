"""Themed bundles (一件事一次办): one application for several items."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "bundles"

urlpatterns: list[URLPattern] = []
