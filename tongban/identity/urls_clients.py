"""Administrators' pages for department systems registered as OIDC clients, under /staff/clients/."""

from __future__ import annotations

app_name = "clients"

urlpatterns: list = []
