"""Licence pages (public), see tongban/urls.py for where they are mounted (/licences/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from tongban.licences import views_public

app_name = "licences_public"

urlpatterns: list[URLPattern] = [
    # What a licence's QR code holds (selectors.verification_url): keep this path stable.
    path("v/<str:identifier>/", views_public.verify, name="verify"),
    path("verify/", views_public.verify_form, name="verify_form"),
    path("shared/", views_public.shared, name="shared"),
    path("keys.json", views_public.keys_json, name="keys_json"),
    path("keys/", views_public.keys, name="keys"),
]
