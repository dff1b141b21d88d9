"""Staff pages for platform-wide records (audit trail, working-day calendar), under /staff/."""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_staff as views

app_name = "staffpages"

urlpatterns = [
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/<int:seq>/", views.audit_detail, name="audit_detail"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar/overrides/", views.calendar_override_set, name="calendar_override_set"),
    path(
        "calendar/overrides/<int:pk>/delete/", views.calendar_override_delete, name="calendar_override_delete"
    ),
]
