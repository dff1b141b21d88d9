"""The reviews pages, mounted at /reviews/ (see tongban/urls.py); staff pages under /reviews/staff/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tongban.reviews import views_public, views_staff

app_name = "reviews"

urlpatterns: list[URLPattern | URLResolver] = [
    path("case/<int:case_id>/", views_public.case_review, name="case"),
    path("case/<int:case_id>/re-rate/", views_public.case_re_rate, name="re_rate"),
    path("visit/<str:token>/", views_public.visit_rate, name="visit"),
    path("stats/", views_public.stats, name="stats"),
    path("staff/", views_staff.rectification_list, name="rectifications"),
    path("staff/rectifications/<int:pk>/", views_staff.rectification_detail, name="rectification"),
    path("staff/rectifications/<int:pk>/callback/", views_staff.callback_add, name="callback"),
    path("staff/rectifications/<int:pk>/close/", views_staff.rectification_close, name="close"),
    path("staff/ratings/", views_staff.review_list, name="review_list"),
    path("staff/ratings/<int:pk>/appeal/", views_staff.appeal_file, name="appeal_file"),
    path("staff/appeals/", views_staff.appeal_list, name="appeals"),
    path("staff/appeals/<int:pk>/", views_staff.appeal_detail, name="appeal"),
    path("staff/appeals/<int:pk>/decide/", views_staff.appeal_decide, name="appeal_decide"),
    path("staff/visits/", views_staff.visit_start, name="visit_start"),
    path("staff/time-limits/", views_staff.policies, name="policies"),
    path("staff/time-limits/<int:pk>/delete/", views_staff.policy_delete, name="policy_delete"),
]
