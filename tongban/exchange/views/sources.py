"""Upstream department systems behind the exchange, and where the exchange reads each resource."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tongban.core.errors import DomainError
from tongban.exchange import permissions, selectors, services
from tongban.exchange.forms import SourceForm, UpstreamForm
from tongban.exchange.views.common import (
    administrator_required,
    data_staff_required,
    found,
    query_without_page,
    refuse_or_keep,
)
from tongban.identity import selectors as identity_selectors
from tongban.identity.selectors import portal_user

PAGE_SIZE = 50


@data_staff_required
@require_GET
def upstream_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    context = {
        "upstreams": list(selectors.upstreams_listing(user)),
        "is_administrator": permissions.is_administrator(user),
        "section": "upstreams",
    }
    return render(request, "exchange/upstream_list.html", context)


@administrator_required
@require_http_methods(["GET", "POST"])
def upstream_create(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    departments = identity_selectors.departments_in_jurisdiction(user).filter(is_active=True)
    form = UpstreamForm(request.POST or None, departments=departments.order_by("sort_order", "name"))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                upstream = services.upstream_register(by=user, **form.cleaned_data)
            except DomainError as exc:
                refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                done = _("The upstream system %(name)s is registered.") % {"name": upstream.name}
                messages.success(request, done)
                return redirect("exchange:upstream_detail", pk=upstream.pk)
        else:
            status = 400
    context = {"form": form, "section": "upstreams"}
    return render(request, "exchange/upstream_create.html", context, status=status)


@data_staff_required
@require_GET
def upstream_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    upstream = found(lambda: selectors.upstream_for_staff(user, pk))
    context = {
        "upstream": upstream,
        "sources": list(selectors.sources_of_upstream(upstream)),
        "section": "upstreams",
    }
    return render(request, "exchange/upstream_detail.html", context)


@administrator_required
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    page = Paginator(selectors.source_resources_for(user), PAGE_SIZE).get_page(request.GET.get("page"))
    resources = list(page.object_list)
    sources = selectors.sources_by_resource([r.pk for r in resources])
    context = {
        "page": page,
        "rows": [(r, sources.get(r.pk)) for r in resources],
        "query": query_without_page(request.GET),
        "section": "sources",
    }
    return render(request, "exchange/source_list.html", context)


def _initial(source: Any) -> dict[str, Any]:
    if source is None:
        return {}
    return {"kind": source.kind, "dataset": source.dataset, "upstream": source.upstream, "path": source.path}


@administrator_required
@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = found(lambda: selectors.source_resource_for(user, pk))
    current = selectors.source_of(resource)
    form = SourceForm(
        request.POST or None,
        initial=_initial(current),
        upstreams=selectors.upstreams_for_staff(user).filter(is_active=True),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.resource_source_set(resource=resource, by=user, **form.cleaned_data)
            except DomainError as exc:
                refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The source of %(code)s is saved.") % {"code": resource.code})
                return redirect("exchange:sources")
        else:
            status = 400
    context = {"resource": resource, "current": current, "form": form, "section": "sources"}
    return render(request, "exchange/source_edit.html", context, status=status)
