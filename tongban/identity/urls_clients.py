"""Administrators' pages for department systems registered as OIDC clients, under /staff/clients/."""

from __future__ import annotations

from django.urls import path

from tongban.identity.views import clients as views

app_name = "clients"

urlpatterns = [
    path("", views.client_list, name="list"),
    path("register/", views.client_register, name="register"),
    path("<int:pk>/", views.client_detail, name="detail"),
    path("<int:pk>/rotate-secret/", views.client_rotate_secret, name="rotate_secret"),
    path("<int:pk>/disable/", views.client_disable, name="disable"),
]
