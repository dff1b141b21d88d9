"""Pages of the data resource catalogue (政务信息资源目录), under /staff/resources/.

For data officers and administrators. Every resource is looked up through
``selectors.resource_for``: another department's draft does not exist for these pages (404). Every
change is one ``services`` call, which checks the permission again: a step the user may not take
(reviewing, for anyone outside the catalogue office) is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.catalog import selectors as catalog_selectors
from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import Department, User
from tongban.identity.selectors import portal_user
from tongban.resources import excel, permissions, selectors, services
from tongban.resources.choices import (
    CorrectionStatus,
    DemandStatus,
    ResourceStatus,
    SharingMode,
)
from tongban.resources.forms import (
    CorrectionForm,
    DemandAnswerForm,
    DemandFilterForm,
    DemandForm,
    ImportForm,
    ItemFormSet,
    ResourceFilterForm,
    ResourceForm,
    ResponsibilityFilterForm,
    ResponsibilityForm,
)
from tongban.resources.metadata import values_of
from tongban.resources.models import DataResource, ResourceCorrection, ResourceDemand

PAGE_SIZE = 50
IMPORT_ERRORS_SESSION_KEY = "resources_import_errors"
MAX_STORED_ERRORS = 1000

catalogue_required = staff_required(Role.DATA_OFFICER, Role.ADMINISTRATOR)


# --- helpers ---------------------------------------------------------------------------------


def _resource(user: User, resource_id: int) -> DataResource:
    try:
        return selectors.resource_for(user, resource_id)
    except NotFound:
        raise Http404 from None


def _detail_url(resource: DataResource) -> str:
    return reverse("resources:detail", args=[resource.pk])


def _error_text(exc: DomainError) -> str:
    details = [str(m) for msgs in exc.fields.values() for m in msgs if str(m) != str(exc.message)]
    return " ".join([str(exc.message), *details])


def _act(request: HttpRequest, call: Callable[[], Any], *, done: str, back: str) -> HttpResponse:
    """Run one service call for a POST action button; a refusal of permission is a 403."""
    try:
        call()
    except PermissionDenied as exc:
        raise PageForbidden(str(exc.message)) from None
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done)
    return redirect(back)


def _page(
    request: HttpRequest, template: str, *, section: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a catalogue page with what its navigation needs (the section, whether the office)."""
    user = portal_user(request)
    return render(
        request,
        template,
        {**context, "section": section, "is_office": permissions.is_office(user)},
        status=status,
    )


def _departments() -> Any:
    return Department.objects.filter(is_active=True).order_by("sort_order", "name")


def _providers_for(user: User) -> Any:
    """Departments the user may register resources for: their own; every one for the office."""
    if permissions.is_office(user):
        return _departments()
    return Department.objects.filter(pk=user.department_id or 0)


# --- the catalogue ---------------------------------------------------------------------------


@catalogue_required
@require_GET
def resource_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = ResourceFilterForm(request.GET or None, providers=selectors.providers_visible_to(user))
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "q": data["q"],
            "category": data["category"],
            "provider_id": data["provider"].pk if data["provider"] else None,
            "sharing_type": data["sharing_type"],
            "status": data["status"],
        }
    resources = selectors.search_resources(user, **filters)
    page = Paginator(resources, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "is_office": permissions.is_office(user),
        "counts": selectors.review_counts(user),
    }
    return _page(request, "resources/list.html", section="list", context=context)


def _items_initial(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**item, "length": item.get("length") or ""} for item in values.get("items", [])]


def _resource_initial(values: dict[str, Any]) -> dict[str, Any]:
    initial = {k: v for k, v in values.items() if k != "items"}
    initial["related_codes"] = "、".join(values.get("related_codes", []))
    return initial


def _place_errors(exc: DomainError, form: Any, formset: Any, index_of: list[int]) -> list[str]:
    """Put a service error on the form's fields and the item rows; return errors of the item list."""
    item_errors: list[str] = []
    placed = False
    for name, msgs in exc.fields.items():
        for message in msgs:
            if name.startswith("items."):
                _items, position, field_name = name.split(".", 2)
                row = formset.forms[index_of[int(position)]]
                row.add_error(field_name if field_name in row.fields else None, str(message))
            elif name == "items":
                item_errors.append(str(message))
            else:
                form.add_error(name if name in form.fields else None, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))
    return item_errors


def _edit_page(
    request: HttpRequest,
    *,
    form: Any,
    formset: Any,
    title: str,
    back: str,
    resource: DataResource | None = None,
    item_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "formset": formset,
        "title": title,
        "back": back,
        "resource": resource,
        "item_errors": item_errors or [],
        "is_correction": isinstance(form, CorrectionForm),
    }
    return _page(request, "resources/edit.html", section="list", context=context, status=status)


def _bound_pair(
    request: HttpRequest,
    form_class: type,
    form_kwargs: dict[str, Any],
    initial: dict[str, Any],
    items: list[dict[str, Any]],
    locked: frozenset[str],
) -> tuple[Any, Any]:
    if request.method == "POST":
        form = form_class(request.POST, initial=initial, **form_kwargs)
        formset = ItemFormSet(request.POST, prefix="items", initial=items, locked_keys=locked)
    else:
        form = form_class(initial=initial, **form_kwargs)
        formset = ItemFormSet(prefix="items", initial=items, locked_keys=locked)
    return form, formset


def _edit_flow(
    request: HttpRequest,
    *,
    form: Any,
    formset: Any,
    title: str,
    back: str,
    save: Callable[[list[dict[str, Any]]], DataResource],
    saved: Callable[[DataResource], str],
    resource: DataResource | None = None,
) -> HttpResponse:
    """The resource editor's page: on a valid POST ``save`` the items and go to the resource with
    the message ``saved`` gives; a service refusal lands on the fields (and item rows) it names."""
    page = {"form": form, "formset": formset, "title": title, "back": back, "resource": resource}
    if request.method != "POST":
        return _edit_page(request, **page)
    if not (form.is_valid() and formset.is_valid()):
        return _edit_page(request, **page, status=400)
    rows = formset.entries()
    try:
        result = save([values for _index, values in rows])
    except PermissionDenied as exc:
        raise PageForbidden(str(exc.message)) from None
    except DomainError as exc:
        item_errors = _place_errors(exc, form, formset, [index for index, _v in rows])
        return _edit_page(request, **page, item_errors=item_errors, status=400)
    messages.success(request, saved(result))
    return redirect(_detail_url(result))


@catalogue_required
@require_http_methods(["GET", "POST"])
def resource_create(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    providers = _providers_for(user)
    initial = {
        "provider": user.department_id,
        "category": "3",
        "format": "database",
        "sharing_type": "conditional",
        "sharing_modes": ["interface"],
        "open_type": "not_open",
        "update_cycle": "daily",
    }
    form, formset = _bound_pair(request, ResourceForm, {"providers": providers}, initial, [], frozenset())
    return _edit_flow(
        request,
        form=form,
        formset=formset,
        title=_("Register a data resource"),
        back=reverse("resources:list"),
        save=lambda items: services.resource_create(
            by=user, provider=form.cleaned_data["provider"], items=items, **form.service_values()
        ),
        saved=lambda resource: (
            _("The draft %(code)s is saved. Submit it for review when it is complete.")
            % {"code": resource.code}
        ),
    )


@catalogue_required
@require_GET
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = selectors.resource_detail(_resource(user, pk))
    acts = permissions.acts_for(user, resource.provider)
    office = permissions.is_office(user)
    correction = selectors.open_correction(resource) if (acts or office) else None
    responsibilities = selectors.responsibility_rows(
        user, selectors.responsibilities_visible_to(user).filter(resource=resource)
    )
    demands = selectors.demands_visible_to(user).filter(resource=resource)
    context = {
        "resource": resource,
        "items": list(resource.items.all()),
        "related": selectors.related_visible(user, resource),
        "referred_by": selectors.resources_referring_to(user, resource),
        "acts": acts,
        "office": office,
        "correction": correction,
        "changes": selectors.correction_changes(correction) if correction else [],
        "past_corrections": selectors.corrections_of(resource).filter(status=CorrectionStatus.APPLIED)
        if (acts or office)
        else [],
        "responsibilities": responsibilities,
        "responsibility_form": ResponsibilityForm(departments=_departments()) if acts else None,
        "demands": demands,
        "may_request": resource.status == ResourceStatus.PUBLISHED
        and resource.provider_id != user.department_id,
        "sharing_modes": "、".join(str(SharingMode(m).label) for m in resource.sharing_modes or []),
    }
    return _page(request, "resources/detail.html", section="list", context=context)


@catalogue_required
@require_http_methods(["GET", "POST"])
def resource_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = selectors.resource_detail(_resource(user, pk))
    if not permissions.acts_for(user, resource.provider):
        raise PageForbidden(_("Only the providing department's data officers may change its resources."))
    if resource.status != ResourceStatus.DRAFT:
        messages.error(
            request, _("Only a draft can be edited; propose a correction of a published resource instead.")
        )
        return redirect(_detail_url(resource))
    values = values_of(resource)
    form, formset = _bound_pair(
        request, ResourceForm, {}, _resource_initial(values), _items_initial(values), frozenset()
    )
    return _edit_flow(
        request,
        form=form,
        formset=formset,
        title=_("Edit the draft %(code)s") % {"code": resource.code},
        back=_detail_url(resource),
        resource=resource,
        save=lambda items: services.resource_update(
            resource=resource, by=user, items=items, **form.service_values()
        ),
        saved=lambda _resource: _("The draft is saved."),
    )


@catalogue_required
@require_POST
def resource_submit(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    return _act(
        request,
        lambda: services.resource_submit(resource=resource, by=user),
        done=_("Submitted: the catalogue office will review the resource."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def resource_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    return _act(
        request,
        lambda: services.resource_withdraw(resource=resource, by=user),
        done=_("Withdrawn from review; the resource is a draft again."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def resource_publish(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    note = str(request.POST.get("note", ""))
    return _act(
        request,
        lambda: services.resource_publish(resource=resource, by=user, note=note),
        done=_("Published: the resource is in the catalogue and may be requested."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def resource_return(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    reason = str(request.POST.get("reason", ""))
    return _act(
        request,
        lambda: services.resource_return(resource=resource, by=user, reason=reason),
        done=_("Returned to the provider with your reason."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def resource_retire(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    reason = str(request.POST.get("reason", ""))
    return _act(
        request,
        lambda: services.resource_retire(resource=resource, by=user, reason=reason),
        done=_("Retired: the exchange no longer serves the resource."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def resource_discard(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    back = _detail_url(resource)
    try:
        services.resource_discard(resource=resource, by=user)
    except PermissionDenied as exc:
        raise PageForbidden(str(exc.message)) from None
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(back)
    messages.success(request, _("The draft was discarded."))
    return redirect("resources:list")


# --- corrections -----------------------------------------------------------------------------


@catalogue_required
@require_http_methods(["GET", "POST"])
def correction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Start or edit the correction of a published resource (the live entry is unchanged until applied)."""
    user = portal_user(request)
    resource = selectors.resource_detail(_resource(user, pk))
    if not permissions.acts_for(user, resource.provider):
        raise PageForbidden(_("Only the providing department's data officers may change its resources."))
    if resource.status != ResourceStatus.PUBLISHED:
        messages.error(request, _("Only a published resource is corrected this way; edit a draft directly."))
        return redirect(_detail_url(resource))
    correction = selectors.open_correction(resource)
    if correction is not None and correction.status == CorrectionStatus.IN_REVIEW:
        messages.error(request, _("The correction is in review; withdraw it before changing it."))
        return redirect(_detail_url(resource))
    values = values_of(resource)
    if correction is not None:
        values = {**values, **correction.data, "items": correction.items}
    initial = {**_resource_initial(values), "reason": correction.reason if correction else ""}
    locked = frozenset(item.key for item in resource.items.all())
    form, formset = _bound_pair(
        request, CorrectionForm, {"classification_fixed": True}, initial, _items_initial(values), locked
    )

    def save(items: list[dict[str, Any]]) -> DataResource:
        services.correction_save(
            resource=resource,
            by=user,
            reason=form.cleaned_data["reason"],
            items=items,
            **form.service_values(),
        )
        return resource

    return _edit_flow(
        request,
        form=form,
        formset=formset,
        title=_("Correct %(code)s %(name)s") % {"code": resource.code, "name": resource.name},
        back=_detail_url(resource),
        resource=resource,
        save=save,
        saved=lambda _resource: _("The correction is saved. Submit it for review when it is complete."),
    )


def _correction(user: User, pk: int) -> tuple[DataResource, ResourceCorrection]:
    resource = _resource(user, pk)
    try:
        return resource, selectors.correction_for(user, resource)
    except NotFound:
        raise Http404 from None


@catalogue_required
@require_POST
def correction_submit(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource, correction = _correction(user, pk)
    return _act(
        request,
        lambda: services.correction_submit(correction=correction, by=user),
        done=_("The correction is submitted for review; the published entry stays as it is until then."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def correction_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource, correction = _correction(user, pk)
    return _act(
        request,
        lambda: services.correction_withdraw(correction=correction, by=user),
        done=_("The correction is withdrawn from review."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def correction_apply(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource, correction = _correction(user, pk)
    note = str(request.POST.get("note", ""))
    return _act(
        request,
        lambda: services.correction_apply(correction=correction, by=user, note=note),
        done=_("The correction is applied to the published resource."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def correction_return(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource, correction = _correction(user, pk)
    reason = str(request.POST.get("reason", ""))
    return _act(
        request,
        lambda: services.correction_return(correction=correction, by=user, reason=reason),
        done=_("The correction is returned to the provider with your reason."),
        back=_detail_url(resource),
    )


@catalogue_required
@require_POST
def correction_discard(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource, correction = _correction(user, pk)
    return _act(
        request,
        lambda: services.correction_discard(correction=correction, by=user),
        done=_("The correction is discarded."),
        back=_detail_url(resource),
    )


# --- responsibilities on a resource ----------------------------------------------------------


@catalogue_required
@require_POST
def responsibility_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    form = ResponsibilityForm(request.POST, departments=_departments())
    if not form.is_valid():
        messages.error(
            request,
            " ".join(
                f"{form.fields[n].label if n in form.fields else ''}: {message}"
                for n, errors in form.errors.items()
                for message in errors
            ),
        )
        return redirect(_detail_url(resource) + "#responsibilities")
    data = form.cleaned_data
    return _act(
        request,
        lambda: services.responsibility_set(
            resource=resource,
            by=user,
            department=data["department"],
            duty=data["duty"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            note=data["note"],
        ),
        done=_("The responsibility list is updated."),
        back=_detail_url(resource) + "#responsibilities",
    )


@catalogue_required
@require_POST
def responsibility_remove(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    user = portal_user(request)
    resource = _resource(user, pk)
    try:
        entry = selectors.responsibility_for(user, resource, entry_id)
    except NotFound:
        raise Http404 from None
    return _act(
        request,
        lambda: services.responsibility_remove(responsibility=entry, by=user),
        done=_("The entry is removed from the responsibility list."),
        back=_detail_url(resource) + "#responsibilities",
    )


# --- the office's review queue ----------------------------------------------------------------


@catalogue_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    try:
        resources, corrections = selectors.review_queue(user)
    except PermissionDenied as exc:
        raise PageForbidden(str(exc.message)) from None
    return _page(
        request,
        "resources/review.html",
        section="review",
        context={"resources": resources, "corrections": corrections},
    )


# --- the demand list ---------------------------------------------------------------------------


@catalogue_required
@require_GET
def demand_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = DemandFilterForm(request.GET or None)
    demands = selectors.demands_visible_to(user)
    if form.is_valid():
        if form.cleaned_data["status"]:
            demands = demands.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["mine"] == "ours":
            demands = demands.filter(department_id=user.department_id or 0)
        elif form.cleaned_data["mine"] == "to_us":
            demands = demands.filter(resource__provider_id=user.department_id)
    page = Paginator(demands, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "resources/demands.html",
        section="demands",
        context={"form": form, "page": page, "query": query.urlencode()},
    )


@catalogue_required
@require_http_methods(["GET", "POST"])
def demand_create(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    resource: DataResource | None = None
    resource_id = request.GET.get("resource") or request.POST.get("for_resource")
    if resource_id:
        if not str(resource_id).isdigit():
            raise Http404
        resource = selectors.resource_detail(_resource(user, int(resource_id)))
    kwargs = {
        "departments": _providers_for(user),
        "resources": selectors.published_resources().order_by("code"),
        "service_items": catalog_selectors.published_items(),
        "resource": resource,
    }
    form = DemandForm(request.POST or None, initial={"department": user.department_id}, **kwargs)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                demand = services.demand_create(
                    by=user,
                    department=data["department"],
                    resource=data.get("resource"),
                    description=data.get("description", ""),
                    items=form.item_list(),
                    service_items=data["service_items"],
                    purpose=data["purpose"],
                )
            except PermissionDenied as exc:
                raise PageForbidden(str(exc.message)) from None
            except DomainError as exc:
                if "items" in exc.fields and "items" not in form.fields:
                    exc.fields["item_names"] = exc.fields.pop("items")
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The demand is recorded; the provider will answer it."))
                return redirect("resources:demand_detail", pk=demand.pk)
        else:
            status = 400
    return _page(
        request,
        "resources/demand_form.html",
        section="demands",
        context={"form": form, "resource": resource},
        status=status,
    )


def _demand(user: User, pk: int) -> ResourceDemand:
    try:
        return selectors.demand_for(user, pk)
    except NotFound:
        raise Http404 from None


@catalogue_required
@require_GET
def demand_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    demand = _demand(user, pk)
    may_answer = demand.status == DemandStatus.OPEN and selectors.may_answer(user, demand)
    answer_form = None
    if may_answer:
        answer_form = DemandAnswerForm(
            resources=selectors.published_resources().order_by("code") if demand.resource_id is None else None
        )
    context = {
        "demand": demand,
        "answer_form": answer_form,
        "may_withdraw": demand.status == DemandStatus.OPEN and permissions.acts_for(user, demand.department),
        "service_items": list(demand.service_items.all()),
    }
    return _page(request, "resources/demand_detail.html", section="demands", context=context)


@catalogue_required
@require_POST
def demand_answer(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    demand = _demand(user, pk)
    resources = selectors.published_resources().order_by("code") if demand.resource_id is None else None
    form = DemandAnswerForm(request.POST, resources=resources)
    back = reverse("resources:demand_detail", args=[demand.pk])
    if not form.is_valid():
        messages.error(request, _("Choose satisfied or declined."))
        return redirect(back)
    data = form.cleaned_data
    return _act(
        request,
        lambda: services.demand_answer(
            demand=demand,
            by=user,
            status=data["status"],
            answer=data["answer"],
            resource=data.get("resource"),
        ),
        done=_("The answer is recorded."),
        back=back,
    )


@catalogue_required
@require_POST
def demand_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    demand = _demand(user, pk)
    return _act(
        request,
        lambda: services.demand_withdraw(demand=demand, by=user),
        done=_("The demand is withdrawn."),
        back=reverse("resources:demand_detail", args=[demand.pk]),
    )


# --- the responsibility list -------------------------------------------------------------------


@catalogue_required
@require_GET
def responsibility_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    entries = selectors.responsibilities_visible_to(user)
    departments = Department.objects.filter(pk__in=entries.values("department_id")).order_by(
        "sort_order", "name"
    )
    form = ResponsibilityFilterForm(request.GET or None, departments=departments)
    if form.is_valid():
        data = form.cleaned_data
        if data["q"].strip():
            term = data["q"].strip()
            entries = entries.filter(resource__name__icontains=term) | entries.filter(
                resource__code__icontains=term
            )
        if data["duty"]:
            entries = entries.filter(duty=data["duty"])
        if data["department"]:
            entries = entries.filter(department=data["department"])
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.responsibility_rows(user, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "resources/responsibilities.html",
        section="responsibilities",
        context={"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


# --- Excel -----------------------------------------------------------------------------------


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@catalogue_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    data = excel.export_workbook(by=portal_user(request))
    return _xlsx_response(data, f"data-resources-{timezone.localdate():%Y%m%d}.xlsx")


@catalogue_required
@require_GET
def template(request: HttpRequest) -> HttpResponse:
    return _xlsx_response(
        excel.export_workbook(by=portal_user(request), template=True), "data-resources-template.xlsx"
    )


@catalogue_required
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
    failed = context["result"] is not None and not context["result"].ok
    status = 400 if form.errors or failed else 200
    return _page(request, "resources/import.html", section="import", context=context, status=status)


@catalogue_required
@require_GET
def import_errors(request: HttpRequest) -> HttpResponse:
    """The problems of the user's last failed import, as a workbook to work through."""
    errors = request.session.get(IMPORT_ERRORS_SESSION_KEY)
    if not errors:
        raise Http404
    return _xlsx_response(excel.error_report(errors), "data-resources-import-errors.xlsx")
