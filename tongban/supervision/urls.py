"""The supervision pages, mounted at /staff/supervision/ (see tongban/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tongban.supervision import views

app_name = "supervision"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.board, name="board"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("alerts/<int:pk>/notes/", views.note_add, name="note_add"),
    path("policy/", views.policy, name="policy"),
]
