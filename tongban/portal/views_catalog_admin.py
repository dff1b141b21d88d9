"""Administrators' pages for the service catalogue (事项管理), under /staff/catalog/.

An administrator sees and edits the items of the departments in their jurisdiction: every item is
looked up through ``catalog.selectors.items_for_staff``, so another jurisdiction's item is a 404,
and every change goes through one ``catalog.services`` function, which checks the permission again,
refuses anything but a draft and audits. The form and process editors change one field or stage
at a time and hand the whole new list to ``form_schema_set`` / ``process_set``, which validate it
before storing: a refused change leaves the draft as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.catalog import excel, selectors, services
from tongban.catalog.choices import Channel, VersionStatus
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
from tongban.core.errors import DomainError
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import Department, User
from tongban.identity.selectors import portal_user
from tongban.portal.forms_catalog_admin import (
    FIELD_TYPE_LABELS,
    FormFieldForm,
    ImportForm,
    ItemCreateForm,
    ItemFilterForm,
    MaterialForm,
    StageForm,
    VersionForm,
)

PAGE_SIZE = 50
IMPORT_ERRORS_SESSION_KEY = "catalog_import_errors"
MAX_STORED_ERRORS = 1000

admin_required = staff_required(Role.ADMINISTRATOR)


# --- lookups ---------------------------------------------------------------------------------


def _item(user: User, item_id: int) -> ServiceItem:
    """The item if it lies in the administrator's jurisdiction; 404 otherwise (no hint it exists)."""
    item = selectors.items_for_staff(user).filter(pk=item_id).first()
    if item is None:
        raise Http404
    return item


def _draft(user: User, item: ServiceItem) -> ServiceItemVersion | None:
    return selectors.versions_for_staff(user, item_id=item.pk).filter(status=VersionStatus.DRAFT).first()


def _detail_url(item: ServiceItem) -> str:
    return reverse("catalogadmin:item_detail", args=[item.pk])


def _no_draft(request: HttpRequest, item: ServiceItem) -> HttpResponse:
    messages.error(request, _("This item has no draft. Start a new draft to change it."))
    return redirect(_detail_url(item))


def _active_departments(user: User) -> QuerySet[Department]:
    return (
        identity_selectors.departments_in_jurisdiction(user)
        .filter(is_active=True)
        .order_by("sort_order", "code")
    )


def _edit_page(
    request: HttpRequest,
    item: ServiceItem,
    form: Any,
    *,
    title: str,
    submit: str,
    back: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "item": item,
        "form": form,
        "title": title,
        "submit": submit,
        "back": back or _detail_url(item),
    }
    return render(request, "portal/catalog_admin/edit.html", context, status=status)


def _error_text(exc: DomainError) -> str:
    details = [str(m) for messages_ in exc.fields.values() for m in messages_ if str(m) != str(exc.message)]
    return " ".join([str(exc.message), *details])


# --- list, create, detail --------------------------------------------------------------------


@admin_required
@require_GET
def item_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = ItemFilterForm(request.GET or None)
    newest = ServiceItemVersion.objects.filter(item=OuterRef("pk")).order_by("-number")
    items = selectors.items_for_staff(user).annotate(
        newest_name=Subquery(newest.values("name")[:1]),
        has_draft=Exists(ServiceItemVersion.objects.filter(item=OuterRef("pk"), status=VersionStatus.DRAFT)),
    )
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            matching = ServiceItemVersion.objects.filter(name__contains=query).values("item_id")
            items = items.filter(Q(implementation_code__icontains=query) | Q(pk__in=matching))
        status = form.cleaned_data["status"]
        if status == VersionStatus.PUBLISHED:
            items = items.filter(current_version__isnull=False)
        elif status == VersionStatus.DRAFT:
            items = items.filter(has_draft=True)
        elif status == VersionStatus.RETIRED:
            items = items.filter(current_version__isnull=True, retired_at__isnull=False)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/catalog_admin/list.html", {"form": form, "page": page})


@admin_required
@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    departments = _active_departments(user).exclude(credit_code="").exclude(credit_code__isnull=True)
    form = ItemCreateForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_create(by=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The item was created with a draft version 1."))
            return redirect(_detail_url(item))
    status = 400 if form.errors else 200
    return render(request, "portal/catalog_admin/create.html", {"form": form}, status=status)


def _stages_with_names(version: ServiceItemVersion) -> list[dict[str, Any]]:
    names = selectors.department_names(code for stage in version.process for code in stage["departments"])
    return [
        {**stage, "number": n, "department_names": [names.get(code, code) for code in stage["departments"]]}
        for n, stage in enumerate(version.process, start=1)
    ]


@admin_required
@require_GET
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    versions = list(selectors.versions_for_staff(user, item_id=item.pk).select_related("published_by"))
    draft = next((v for v in versions if v.status == VersionStatus.DRAFT), None)
    shown = draft or item.current_version or (versions[0] if versions else None)
    if shown is None:  # pragma: no cover - item_create always makes v1
        raise Http404
    context = {
        "item": item,
        "versions": versions,
        "draft": draft,
        "shown": shown,
        "materials": shown.materials.order_by("sort_order", "pk"),
        "channels": [Channel(c).label for c in shown.channels],
        "themes": shown.themes.all(),
        "stages": _stages_with_names(shown),
    }
    return render(request, "portal/catalog_admin/detail.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    form = VersionForm(request.POST or None, initial=VersionForm.initial_for(draft))
    if request.method == "POST" and form.is_valid():
        try:
            services.item_version_update(version=draft, by=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect(_detail_url(item))
    title = _("Edit draft version %(n)s") % {"n": draft.number}
    return _edit_page(
        request, item, form, title=title, submit=_("Save the draft"), status=400 if form.errors else 200
    )


# --- materials -------------------------------------------------------------------------------


def _material(draft: ServiceItemVersion, material_id: int) -> Material:
    material = draft.materials.filter(pk=material_id).first()
    if material is None:
        raise Http404
    return material


@admin_required
@require_http_methods(["GET", "POST"])
def material_add(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    form = MaterialForm(
        request.POST or None, request.FILES or None, initial={"sort_order": draft.materials.count()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.material_add(version=draft, by=user, **form.changes())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The material was added."))
            return redirect(_detail_url(item))
    return _edit_page(
        request,
        item,
        form,
        title=_("Add a material"),
        submit=_("Add the material"),
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def material_edit(request: HttpRequest, item_id: int, material_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    material = _material(draft, material_id)
    form = MaterialForm(
        request.POST or None, request.FILES or None, initial=MaterialForm.initial_for(material)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.material_update(material=material, by=user, **form.changes())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The material was saved."))
            return redirect(_detail_url(item))
    title = _("Edit the material %(name)s") % {"name": material.name}
    return _edit_page(
        request, item, form, title=title, submit=_("Save the material"), status=400 if form.errors else 200
    )


@admin_required
@require_POST
def material_delete(request: HttpRequest, item_id: int, material_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    material = _material(draft, material_id)
    try:
        services.material_remove(material=material, by=user)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The material %(name)s was removed.") % {"name": material.name})
    return redirect(_detail_url(item))


# --- the application form --------------------------------------------------------------------


def _form_editor_url(item: ServiceItem) -> str:
    return reverse("catalogadmin:form_editor", args=[item.pk])


def _field_index(draft: ServiceItemVersion, key: str) -> int:
    for index, field in enumerate(draft.form_schema):
        if field["key"] == key:
            return index
    raise Http404


def _save_schema(
    request: HttpRequest, draft: ServiceItemVersion, schema: list[dict[str, Any]], user: User
) -> DomainError | None:
    try:
        services.form_schema_set(version=draft, schema=schema, by=user)
    except DomainError as exc:
        return exc
    return None


@admin_required
@require_GET
def form_editor(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    fields = [
        {**field, "type_label": FIELD_TYPE_LABELS.get(field["type"], field["type"])}
        for field in draft.form_schema
    ]
    return render(
        request, "portal/catalog_admin/form_editor.html", {"item": item, "draft": draft, "fields": fields}
    )


def _field_page(request: HttpRequest, item_id: int, key: str | None) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    index = _field_index(draft, key) if key is not None else None
    initial = FormFieldForm.initial_for(draft.form_schema[index]) if index is not None else None
    form = FormFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        schema = copy.deepcopy(draft.form_schema)
        if index is None:
            schema.append(form.definition())
        else:
            schema[index] = form.definition()
        error = _save_schema(request, draft, schema, user)
        if error is None:
            messages.success(request, _("The form field was saved."))
            return redirect(_form_editor_url(item))
        form.add_domain_error(error)
    title = _("Add a form field") if index is None else _("Edit the form field %(key)s") % {"key": key}
    return _edit_page(
        request,
        item,
        form,
        title=title,
        submit=_("Save the field"),
        back=_form_editor_url(item),
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def form_field_add(request: HttpRequest, item_id: int) -> HttpResponse:
    return _field_page(request, item_id, None)


@admin_required
@require_http_methods(["GET", "POST"])
def form_field_edit(request: HttpRequest, item_id: int, key: str) -> HttpResponse:
    return _field_page(request, item_id, key)


def _change_list(
    request: HttpRequest,
    item_id: int,
    change: Callable[[ServiceItemVersion, User], str],
    back: Callable[[ServiceItem], str],
) -> HttpResponse:
    """Apply one delete or move to the draft's form or process and go back to its editor."""
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    try:
        text = change(draft, user)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, text)
    return redirect(back(item))


def _moved(entries: list[dict[str, Any]], index: int, direction: str) -> list[dict[str, Any]]:
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= target < len(entries):
        raise Http404
    moved = copy.deepcopy(entries)
    moved[index], moved[target] = moved[target], moved[index]
    return moved


@admin_required
@require_POST
def form_field_delete(request: HttpRequest, item_id: int, key: str) -> HttpResponse:
    def change(draft: ServiceItemVersion, user: User) -> str:
        index = _field_index(draft, key)
        schema = [field for i, field in enumerate(draft.form_schema) if i != index]
        services.form_schema_set(version=draft, schema=schema, by=user)
        return _("The form field %(key)s was removed.") % {"key": key}

    return _change_list(request, item_id, change, _form_editor_url)


@admin_required
@require_POST
def form_field_move(request: HttpRequest, item_id: int, key: str) -> HttpResponse:
    def change(draft: ServiceItemVersion, user: User) -> str:
        schema = _moved(draft.form_schema, _field_index(draft, key), request.POST.get("direction", ""))
        services.form_schema_set(version=draft, schema=schema, by=user)
        return _("The form field %(key)s was moved.") % {"key": key}

    return _change_list(request, item_id, change, _form_editor_url)


# --- the process -----------------------------------------------------------------------------


def _process_editor_url(item: ServiceItem) -> str:
    return reverse("catalogadmin:process_editor", args=[item.pk])


def _stage_index(draft: ServiceItemVersion, number: int) -> int:
    if not 1 <= number <= len(draft.process):
        raise Http404
    return number - 1


@admin_required
@require_GET
def process_editor(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    stages = _stages_with_names(draft)
    total = sum(stage["days"] for stage in draft.process)
    context = {"item": item, "draft": draft, "stages": stages, "total_days": total}
    return render(request, "portal/catalog_admin/process_editor.html", context)


def _stage_page(request: HttpRequest, item_id: int, number: int | None) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    index = _stage_index(draft, number) if number is not None else None
    initial = None
    if index is not None:
        stage = draft.process[index]
        initial = {"name": stage["name"], "days": stage["days"], "departments": stage["departments"]}
    form = StageForm(request.POST or None, initial=initial, departments=_active_departments(user))
    if request.method == "POST" and form.is_valid():
        stages = copy.deepcopy(draft.process)
        if index is None:
            stages.append(form.stage())
        else:
            stages[index] = form.stage()
        try:
            services.process_set(version=draft, stages=stages, by=user)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The stage was saved."))
            return redirect(_process_editor_url(item))
    title = _("Add a stage") if index is None else _("Edit stage %(n)s") % {"n": number}
    return _edit_page(
        request,
        item,
        form,
        title=title,
        submit=_("Save the stage"),
        back=_process_editor_url(item),
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def stage_add(request: HttpRequest, item_id: int) -> HttpResponse:
    return _stage_page(request, item_id, None)


@admin_required
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest, item_id: int, number: int) -> HttpResponse:
    return _stage_page(request, item_id, number)


@admin_required
@require_POST
def stage_delete(request: HttpRequest, item_id: int, number: int) -> HttpResponse:
    def change(draft: ServiceItemVersion, user: User) -> str:
        index = _stage_index(draft, number)
        stages = [stage for i, stage in enumerate(draft.process) if i != index]
        services.process_set(version=draft, stages=stages, by=user)
        return _("Stage %(n)s was removed.") % {"n": number}

    return _change_list(request, item_id, change, _process_editor_url)


@admin_required
@require_POST
def stage_move(request: HttpRequest, item_id: int, number: int) -> HttpResponse:
    def change(draft: ServiceItemVersion, user: User) -> str:
        stages = _moved(draft.process, _stage_index(draft, number), request.POST.get("direction", ""))
        services.process_set(version=draft, stages=stages, by=user)
        return _("Stage %(n)s was moved.") % {"n": number}

    return _change_list(request, item_id, change, _process_editor_url)


# --- publish, new draft, retire --------------------------------------------------------------


@admin_required
@require_POST
def version_publish(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    draft = _draft(user, item)
    if draft is None:
        return _no_draft(request, item)
    try:
        services.item_version_publish(version=draft, by=user)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Version %(n)s is published.") % {"n": draft.number})
    return redirect(_detail_url(item))


@admin_required
@require_POST
def version_draft(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    try:
        draft = services.item_version_draft(item=item, by=user)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Draft version %(n)s was started.") % {"n": draft.number})
    return redirect(_detail_url(item))


@admin_required
@require_POST
def item_retire(request: HttpRequest, item_id: int) -> HttpResponse:
    user = portal_user(request)
    item = _item(user, item_id)
    try:
        services.item_retire(item=item, by=user)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The item was retired; it no longer takes applications."))
    return redirect(_detail_url(item))


# --- Excel -----------------------------------------------------------------------------------


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    data = excel.export_workbook(by=portal_user(request))
    return _xlsx_response(data, f"catalogue-{timezone.localdate():%Y%m%d}.xlsx")


@admin_required
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "result": None}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = excel.import_workbook(upload=upload, by=user, name=upload.name, size=upload.size)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            context["result"] = result
            if result.ok:
                request.session.pop(IMPORT_ERRORS_SESSION_KEY, None)
                messages.success(request, _("The workbook was imported."))
            else:
                errors = [error.as_dict() for error in result.errors[:MAX_STORED_ERRORS]]
                request.session[IMPORT_ERRORS_SESSION_KEY] = errors
    status = 400 if form.errors or (context["result"] is not None and not context["result"].ok) else 200
    return render(request, "portal/catalog_admin/import.html", context, status=status)


@admin_required
@require_GET
def import_errors(request: HttpRequest) -> HttpResponse:
    """The problems of the administrator's last failed import, as a workbook to work through."""
    errors = request.session.get(IMPORT_ERRORS_SESSION_KEY)
    if not errors:
        raise Http404
    return _xlsx_response(excel.error_report(errors), "catalogue-import-errors.xlsx")
