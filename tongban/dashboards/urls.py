"""The dashboards pages (see tongban/urls.py for where they are mounted)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tongban.dashboards import views

app_name = "dashboards"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard.xlsx", views.dashboard_xlsx, name="dashboard_xlsx"),
    path("cases/", views.cases, name="cases"),
    path("cases.xlsx", views.cases_xlsx, name="cases_xlsx"),
    path("refresh/", views.refresh, name="refresh"),
]
