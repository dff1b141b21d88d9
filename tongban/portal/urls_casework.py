"""Staff case handling: department queues, case actions and the one-window intake, under /staff/."""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_bundles_window as bundle_views
from tongban.portal import views_casework as views

app_name = "casework"

urlpatterns = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/reveal/", views.case_reveal, name="case_reveal"),
    path("cases/<int:pk>/files/<int:file_id>/", views.material_download, name="material_download"),
    path("cases/<int:pk>/notices/<slug:kind>.pdf", views.notice_download, name="notice"),
    path("cases/<int:pk>/notices/<slug:kind>-<int:round>.pdf", views.notice_download, name="notice_round"),
    path("cases/<int:pk>/accept/", views.case_accept, name="case_accept"),
    path("cases/<int:pk>/correction/", views.case_correction, name="case_correction"),
    path("cases/<int:pk>/not-accept/", views.case_not_accept, name="case_not_accept"),
    path("cases/<int:pk>/tasks/<int:task_id>/decide/", views.task_decide, name="task_decide"),
    path("cases/<int:pk>/suspend/", views.case_suspend, name="case_suspend"),
    path("cases/<int:pk>/resume/", views.case_resume, name="case_resume"),
    path("cases/<int:pk>/fees/", views.case_fee, name="case_fee"),
    path("cases/<int:pk>/deliver/", views.case_deliver, name="case_deliver"),
    path("cases/<int:pk>/materials/<int:material_id>/", views.material_upload, name="material_upload"),
    path("window/", views.window_search, name="window_search"),
    path("window/<int:item_id>/", views.window_identify, name="window_identify"),
    path("window/<int:item_id>/apply/", views.window_apply, name="window_apply"),
    path("window/bundles/<slug:code>/", bundle_views.window_bundle_identify, name="window_bundle_identify"),
    path("window/bundles/<slug:code>/apply/", bundle_views.window_bundle_apply, name="window_bundle_apply"),
    path("window/bundles/filed/<int:pk>/", bundle_views.window_bundle_filed, name="window_bundle_filed"),
]
