"""Administrators' editors for service items, forms and processes, and the Excel import/export.

Mounted at /staff/catalog/.
"""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_catalog_admin as views

app_name = "catalogadmin"

urlpatterns = [
    path("", views.item_list, name="item_list"),
    path("new/", views.item_create, name="item_create"),
    path("export/", views.export, name="export"),
    path("import/", views.import_view, name="import"),
    path("import/errors.xlsx", views.import_errors, name="import_errors"),
    path("<int:item_id>/", views.item_detail, name="item_detail"),
    path("<int:item_id>/edit/", views.version_edit, name="version_edit"),
    path("<int:item_id>/publish/", views.version_publish, name="version_publish"),
    path("<int:item_id>/draft/", views.version_draft, name="version_draft"),
    path("<int:item_id>/retire/", views.item_retire, name="item_retire"),
    path("<int:item_id>/materials/add/", views.material_add, name="material_add"),
    path("<int:item_id>/materials/<int:material_id>/edit/", views.material_edit, name="material_edit"),
    path("<int:item_id>/materials/<int:material_id>/delete/", views.material_delete, name="material_delete"),
    path("<int:item_id>/form/", views.form_editor, name="form_editor"),
    path("<int:item_id>/form/add/", views.form_field_add, name="form_field_add"),
    path("<int:item_id>/form/<slug:key>/edit/", views.form_field_edit, name="form_field_edit"),
    path("<int:item_id>/form/<slug:key>/delete/", views.form_field_delete, name="form_field_delete"),
    path("<int:item_id>/form/<slug:key>/move/", views.form_field_move, name="form_field_move"),
    path("<int:item_id>/process/", views.process_editor, name="process_editor"),
    path("<int:item_id>/process/add/", views.stage_add, name="stage_add"),
    path("<int:item_id>/process/<int:number>/edit/", views.stage_edit, name="stage_edit"),
    path("<int:item_id>/process/<int:number>/delete/", views.stage_delete, name="stage_delete"),
    path("<int:item_id>/process/<int:number>/move/", views.stage_move, name="stage_move"),
]
