"""Pages of the base databases, mounted under /staff/basedata/."""

from __future__ import annotations

from django.urls import path

from tongban.basedata import views

app_name = "basedata"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress.json", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/abandon/", views.import_abandon, name="import_abandon"),
    path("templates/<str:dataset>.<str:fmt>", views.template_download, name="template"),
    path("lookup/", views.lookup, name="lookup"),
    path("reconciliations/", views.reconciliation_list, name="reconciliation_list"),
    path("reconciliations/new/", views.reconciliation_new, name="reconciliation_new"),
    path("reconciliations/<int:pk>/", views.reconciliation_detail, name="reconciliation_detail"),
    path(
        "reconciliations/<int:pk>/progress.json",
        views.reconciliation_progress,
        name="reconciliation_progress",
    ),
    path("reconciliations/<int:pk>/errors.csv", views.reconciliation_errors, name="reconciliation_errors"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/resolve/", views.task_resolve, name="task_resolve"),
    path("divisions/", views.divisions, name="divisions"),
    path("indicators/", views.indicators, name="indicators"),
]
