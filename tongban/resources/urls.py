"""Pages of the data resource catalogue, mounted at /staff/resources/."""

from __future__ import annotations

from django.urls import path

from tongban.resources import views

app_name = "resources"

urlpatterns = [
    path("", views.resource_list, name="list"),
    path("new/", views.resource_create, name="create"),
    path("review/", views.review_queue, name="review"),
    path("export.xlsx", views.export, name="export"),
    path("template.xlsx", views.template, name="template"),
    path("import/", views.import_view, name="import"),
    path("import/errors.xlsx", views.import_errors, name="import_errors"),
    path("demands/", views.demand_list, name="demands"),
    path("demands/new/", views.demand_create, name="demand_create"),
    path("demands/<int:pk>/", views.demand_detail, name="demand_detail"),
    path("demands/<int:pk>/answer/", views.demand_answer, name="demand_answer"),
    path("demands/<int:pk>/withdraw/", views.demand_withdraw, name="demand_withdraw"),
    path("responsibilities/", views.responsibility_list, name="responsibilities"),
    path("<int:pk>/", views.resource_detail, name="detail"),
    path("<int:pk>/edit/", views.resource_edit, name="edit"),
    path("<int:pk>/submit/", views.resource_submit, name="submit"),
    path("<int:pk>/withdraw/", views.resource_withdraw, name="withdraw"),
    path("<int:pk>/publish/", views.resource_publish, name="publish"),
    path("<int:pk>/return/", views.resource_return, name="return"),
    path("<int:pk>/retire/", views.resource_retire, name="retire"),
    path("<int:pk>/discard/", views.resource_discard, name="discard"),
    path("<int:pk>/correction/", views.correction_edit, name="correction"),
    path("<int:pk>/correction/submit/", views.correction_submit, name="correction_submit"),
    path("<int:pk>/correction/withdraw/", views.correction_withdraw, name="correction_withdraw"),
    path("<int:pk>/correction/apply/", views.correction_apply, name="correction_apply"),
    path("<int:pk>/correction/return/", views.correction_return, name="correction_return"),
    path("<int:pk>/correction/discard/", views.correction_discard, name="correction_discard"),
    path("<int:pk>/responsibilities/", views.responsibility_add, name="responsibility_add"),
    path(
        "<int:pk>/responsibilities/<int:entry_id>/remove/",
        views.responsibility_remove,
        name="responsibility_remove",
    ),
]
