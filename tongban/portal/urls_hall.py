"""The online hall: applying, drafts, corrections, my cases, the public progress lookup."""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_hall

app_name = "hall"

urlpatterns = [
    path("services/<str:implementation_code>/apply/", views_hall.apply, name="apply"),
    path(
        "services/<str:implementation_code>/materials/<int:material_id>/<slug:which>/",
        views_hall.material_file,
        name="material_file",
    ),
    path("my/cases/", views_hall.my_cases, name="my_cases"),
    path("my/cases/<int:pk>/", views_hall.case_detail, name="case_detail"),
    path("my/cases/<int:pk>/edit/", views_hall.case_edit, name="case_edit"),
    path("my/cases/<int:pk>/discard/", views_hall.case_discard, name="case_discard"),
    path("my/cases/<int:pk>/withdraw/", views_hall.case_withdraw, name="case_withdraw"),
    path("my/cases/<int:pk>/deferred/", views_hall.deferred_upload, name="deferred_upload"),
    path(
        "my/cases/<int:pk>/files/<int:material_pk>/", views_hall.material_download, name="material_download"
    ),
    # Before the plain one: a slug may contain "-".
    path(
        "my/cases/<int:pk>/notices/<slug:kind>-<int:round>.pdf",
        views_hall.notice_download,
        name="notice_round",
    ),
    path("my/cases/<int:pk>/notices/<slug:kind>.pdf", views_hall.notice_download, name="notice"),
    path("progress/", views_hall.progress, name="progress"),
]
