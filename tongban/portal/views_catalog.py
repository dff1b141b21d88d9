"""Public pages of the service catalogue (办事服务): browse, search and the service guide.

Anyone may read them, logged in or not. Every read goes through ``tongban.catalog.selectors``,
which only ever returns items with a current published version: a draft, retired or unknown
item is the portal's 404 page.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tongban.bundles import selectors as bundle_selectors
from tongban.catalog import selectors
from tongban.catalog.choices import Channel, MaterialSource, OnlineDepth, ServiceObject, ThemeKind
from tongban.catalog.models import ServiceItem
from tongban.core.errors import NotFound
from tongban.identity.models import Department

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 100
MAX_CODE_LENGTH = 50  # ServiceItem.implementation_code's max_length
# Materials the platform fetches itself: the applicant need not submit them (免提交).
FETCHED_SOURCES = frozenset({MaterialSource.E_LICENCE.value, MaterialSource.SHARED_DATA.value})


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    """Published items for persons or for enterprises, filtered by theme and department."""
    obj = (
        ServiceObject.ENTERPRISE
        if request.GET.get("obj") == ServiceObject.ENTERPRISE
        else ServiceObject.PERSON
    )
    theme_kind = ThemeKind.ENTERPRISE_STAGE if obj == ServiceObject.ENTERPRISE else ThemeKind.LIFE_EVENT
    themes = list(selectors.themes(theme_kind))
    theme = request.GET.get("theme") or ""
    if theme not in {t.code for t in themes}:
        theme = ""
    # Only departments that have something published for this audience are offered.
    departments = list(
        Department.objects.filter(
            pk__in=selectors.published_items(service_object=obj).values("department_id")
        ).order_by("sort_order", "name")
    )
    department_id = _int_or_none(request.GET.get("department"))
    if department_id not in {d.pk for d in departments}:
        department_id = None
    items = selectors.published_items(department_id=department_id, theme=theme or None, service_object=obj)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "obj": obj,
        "themes": themes,
        "theme": theme,
        "departments": departments,
        "department_id": department_id,
        "page_obj": page,
        "filtered": bool(theme or department_id),
    }
    return render(request, "portal/catalog/list.html", context)


@require_GET
def service_search(request: HttpRequest) -> HttpResponse:
    """Chinese full-text search over published items (jieba-segmented; ADR 0009)."""
    query = " ".join(request.GET.get("q", "").split())
    context: dict[str, Any] = {
        "q": query,
        "results": None,
        "bundles": [],
        "error": "",
        "max_length": MAX_QUERY_LENGTH,
    }
    status = 200
    if not query:
        context["error"] = _(
            "Type a few words describing the service you need, for example 身份证 or 开办企业."
        )
    elif len(query) > MAX_QUERY_LENGTH:
        context["error"] = _("Your search is too long: please use at most %(max)d characters.") % {
            "max": MAX_QUERY_LENGTH
        }
        context["q"] = query[:MAX_QUERY_LENGTH]
        status = 400
    else:
        context["results"] = selectors.search_published(query)
        # Themed bundles (一件事一次办) that match come first: one application instead of several.
        context["bundles"] = bundle_selectors.search_bundles(query)
    return render(request, "portal/catalog/search.html", context, status=status)


def _apply_url(item: ServiceItem) -> str:
    """The online hall's application page (anonymous visitors are sent to log in first)."""
    return reverse("hall:apply", kwargs={"implementation_code": item.implementation_code})


@require_GET
def service_guide(request: HttpRequest, implementation_code: str) -> HttpResponse:
    """The service guide (办事指南) of the item's current published version."""
    item_id = (
        selectors.published_items()
        .filter(implementation_code=implementation_code)
        .values_list("pk", flat=True)
        .first()
        if len(implementation_code) <= MAX_CODE_LENGTH
        else None
    )
    if item_id is None:
        raise Http404(_("This service item is not available."))
    try:
        version = selectors.published_version(item_id=item_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    materials = list(version.materials.all())
    online = version.online_depth >= OnlineDepth.PRE_REVIEW and "online" in version.channels
    context: dict[str, Any] = {
        "item": version.item,
        "version": version,
        "materials": materials,
        "fetched_sources": FETCHED_SOURCES,
        "any_fetched": any(m.source in FETCHED_SOURCES for m in materials),
        "channels": [Channel(c).label for c in version.channels if c in Channel.values],
        "apply_url": _apply_url(version.item) if online else "",
    }
    return render(request, "portal/catalog/guide.html", context)
