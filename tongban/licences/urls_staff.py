"""Licence pages (staff), mounted at /staff/licences/ (see tongban/urls.py)."""

from __future__ import annotations

from django.urls import path

from tongban.licences import views_staff as views

app_name = "licences_staff"

urlpatterns = [
    path("", views.licence_list, name="list"),
    path("<int:pk>/", views.licence_detail, name="detail"),
    path("<int:pk>/revoke/", views.licence_revoke, name="revoke"),
    path("types/", views.type_list, name="types"),
    path("types/<int:pk>/template.xlsx", views.type_template, name="type_template"),
    path("issue/<int:type_pk>/", views.licence_issue, name="issue"),
    path("keys/", views.key_list, name="keys"),
    path("keys/<int:department_pk>/rotate/", views.key_rotate, name="key_rotate"),
    path("check/", views.check, name="check"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_report, name="import_report"),
    path("import/<int:pk>/refused.xlsx", views.import_report_xlsx, name="import_report_xlsx"),
]
