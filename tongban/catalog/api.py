"""The public catalogue API, mounted under /api/v1/ by tongban.api.

Read-only and open to anyone (``auth=None``), like the catalogue pages: every read goes through
``tongban.catalog.selectors``, which only ever return items with a current published version, so a
draft, retired or unknown item is a 404 ``item_not_found``. The service guide comes back as data
(materials, the application form's schema, the process stages) so that a department system or an
app can show it and build the application form without scraping the portal.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from tongban.catalog import selectors
from tongban.catalog.choices import MaterialSource
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
from tongban.catalog.schemas import (
    DepartmentRef,
    ItemDetail,
    ItemFilters,
    ItemPage,
    ItemSummary,
    MaterialOut,
    StageOut,
    ThemeOut,
    ThemeRef,
)
from tongban.core.schemas import ErrorOut

router = Router(tags=["catalog"])

# Materials the platform fetches itself: the applicant need not submit them (免提交).
FETCHED_SOURCES = frozenset({MaterialSource.E_LICENCE.value, MaterialSource.SHARED_DATA.value})


def _themes(version: ServiceItemVersion) -> list[ThemeRef]:
    # Sorted in Python: the prefetched themes are used as they are, without another query.
    ordered = sorted(version.themes.all(), key=lambda t: (t.kind, t.sort_order, t.code))
    return [ThemeRef(code=t.code, name=t.name) for t in ordered]


def _summary(item: ServiceItem) -> ItemSummary:
    version = item.current_version
    if version is None:  # published_items only returns items with a current version
        raise ValueError(f"{item} is not published")
    return ItemSummary(
        implementation_code=item.implementation_code,
        name=version.name,
        department=DepartmentRef(code=item.department.code, name=item.department.name),
        item_type=version.item_type,
        service_object=version.service_object,
        promised_days=version.promised_days,
        visits=version.visits,
        online_depth=version.online_depth,
        themes=_themes(version),
    )


@router.get(
    "/items",
    response={200: ItemPage, 422: ErrorOut},
    auth=None,
    summary="Published service items, filtered or searched, one page at a time",
)
def item_list(request: HttpRequest, filters: Query[ItemFilters]) -> ItemPage:
    """With ``q`` the items come in relevance order and at most the 50 best match; without it, by
    department and name."""
    criteria: dict[str, Any] = {
        "department_code": filters.department,
        "theme": filters.theme,
        "service_object": filters.object,
    }
    start = (filters.page - 1) * filters.page_size
    query = " ".join((filters.q or "").split())
    items: list[ServiceItem]
    if query:
        found = selectors.search_published(query, **criteria)
        count, items = len(found), found[start : start + filters.page_size]
    else:
        qs = selectors.published_items(**criteria)
        count = qs.count()
        items = list(qs[start : start + filters.page_size]) if start < count else []
    selectors.prefetch_themes(items)
    return ItemPage(
        count=count, page=filters.page, page_size=filters.page_size, items=[_summary(i) for i in items]
    )


def _material(material: Material) -> MaterialOut:
    return MaterialOut(
        name=material.name,
        required=material.required,
        form=material.form,
        copies=material.copies,
        acceptance_standard=material.acceptance_standard,
        source=material.source,
        source_code=material.source_code,
        may_follow_later=material.may_follow_later,
        need_not_submit=material.source in FETCHED_SOURCES,
        blank_form_url=material.blank_form.url if material.blank_form else None,
        sample_url=material.sample.url if material.sample else None,
    )


@router.get(
    "/items/{implementation_code}",
    response={200: ItemDetail, 404: ErrorOut},
    auth=None,
    summary="The service guide of a published item: every public field, materials, form and process",
)
def item_detail(request: HttpRequest, implementation_code: str) -> ItemDetail:
    version = selectors.published_version_by_code(implementation_code=implementation_code)
    item = version.item
    names = selectors.department_names(code for stage in version.process for code in stage["departments"])
    return ItemDetail(
        implementation_code=item.implementation_code,
        basic_code=item.basic_code,
        version=version.number,
        published_at=version.published_at,
        name=version.name,
        department=DepartmentRef(code=item.department.code, name=item.department.name),
        item_type=version.item_type,
        level=version.level,
        service_object=version.service_object,
        legal_basis=version.legal_basis,
        conditions=version.conditions,
        statutory_days=version.statutory_days,
        promised_days=version.promised_days,
        fee_charged=version.fee_charged,
        fee_amount=version.fee_amount,
        fee_basis=version.fee_basis,
        visits=version.visits,
        online_depth=version.online_depth,
        channels=list(version.channels),
        window_address=version.window_address,
        window_hours=version.window_hours,
        consultation_phone=version.consultation_phone,
        complaint_phone=version.complaint_phone,
        result_type=version.result_type,
        result_name=version.result_name,
        themes=_themes(version),
        materials=[_material(m) for m in version.materials.all()],
        form_schema=list(version.form_schema),
        process=[
            StageOut(
                name=stage["name"],
                days=stage["days"],
                departments=[DepartmentRef(code=c, name=names.get(c, c)) for c in stage["departments"]],
                join=stage["join"],
                on_refusal=stage["on_refusal"],
            )
            for stage in version.process
        ],
    )


@router.get("/themes", response={200: list[ThemeOut]}, auth=None, summary="Life events and enterprise stages")
def theme_list(request: HttpRequest) -> list[ThemeOut]:
    return [ThemeOut(code=t.code, name=t.name, kind=t.kind) for t in selectors.themes()]
