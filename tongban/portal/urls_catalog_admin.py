"""Administrators' editors for service items, forms and processes and the Excel import/export, under /staff/catalog/."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "catalogadmin"

urlpatterns: list[URLPattern] = []
