"""Themed bundles (一件事一次办): one application for several items."""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_bundles

app_name = "bundles"

urlpatterns = [
    path("bundles/", views_bundles.bundle_list, name="list"),
    path("bundles/<str:code>/", views_bundles.bundle_detail, name="detail"),
    path("bundles/<str:code>/apply/", views_bundles.bundle_apply, name="apply"),
    path("my/bundles/", views_bundles.my_bundles, name="mine"),
    path("my/bundles/<int:pk>/", views_bundles.bundle_progress, name="progress"),
    path("staff/bundles/", views_bundles.admin_list, name="admin_list"),
    path("staff/bundles/<int:pk>/publish", views_bundles.admin_publish, name="admin_publish"),
]
