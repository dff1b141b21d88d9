"""Reads of the service-item catalogue: the public's published items and the staff's scoped view."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import (
    Case,
    ExpressionWrapper,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils.translation import gettext_lazy as _

from tongban.catalog.choices import ServiceObject, ThemeKind, VersionStatus
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion, Theme
from tongban.catalog.search import search_terms
from tongban.core.errors import NotFound
from tongban.identity import selectors as identity_selectors
from tongban.identity.models import Department, User

SEARCH_LIMIT = 50


def themes(kind: str | None = None) -> QuerySet[Theme]:
    qs = Theme.objects.all()
    if kind:
        qs = qs.filter(kind=ThemeKind(kind))
    return qs


def published_items(
    *,
    department_id: int | None = None,
    department_code: str | None = None,
    theme: str | None = None,
    service_object: str | None = None,
) -> QuerySet[ServiceItem]:
    """Items the public can see and apply for, each with its current version and department joined.

    ``service_object`` "person" or "enterprise" also includes items that serve both.
    """
    qs = (
        ServiceItem.objects.filter(current_version__isnull=False)
        .select_related("current_version", "department")
        .order_by("department__sort_order", "current_version__name", "pk")
    )
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    if department_code:
        qs = qs.filter(department__code=department_code)
    if theme:
        qs = qs.filter(current_version__themes__code=theme)
    if service_object:
        obj = ServiceObject(service_object)
        qs = qs.filter(current_version__service_object__in=[obj, ServiceObject.BOTH])
    return qs


def prefetch_themes(items: list[ServiceItem]) -> None:
    """Load the themes of the items' current versions in one query (for a page of results)."""
    prefetch_related_objects(items, Prefetch("current_version__themes"))


def _version_detail() -> QuerySet[ServiceItemVersion]:
    return ServiceItemVersion.objects.select_related("item__department", "published_by").prefetch_related(
        Prefetch("materials", queryset=Material.objects.order_by("sort_order", "pk")), "themes"
    )


def published_version(*, item_id: int) -> ServiceItemVersion:
    """The current version of a published item with its materials and themes (three queries)."""
    version = _version_detail().filter(item_id=item_id, status=VersionStatus.PUBLISHED).first()
    if version is None:
        raise NotFound(_("This service item is not available."), code="item_not_found")
    return version


# A published version never changes (ADR 9): applications read it, with its materials, from this
# per-process cache instead of two queries each. The key includes the item's ``updated_at``, which
# every publish and retirement moves, so an id the database hands out again (a restored backup, a
# rolled-back test) never finds another version's entry; whether the version is still the item's
# current one is decided by the caller's fresh ``item.current_version_id``.
_APPLICABLE: dict[tuple[int, int, str], ServiceItemVersion] = {}
_APPLICABLE_MAX = 1024


def applicable_version(item: ServiceItem) -> ServiceItemVersion | None:
    """The version an application for ``item`` is filed under (None when the item is not published),
    with its item, department and materials (ordered) loaded; read once per process and version."""
    if item.current_version_id is None or item.retired_at is not None:
        return None
    key = (item.pk, item.current_version_id, item.updated_at.isoformat())
    version = _APPLICABLE.get(key)
    if version is None:
        version = (
            ServiceItemVersion.objects.select_related("item__department")
            .prefetch_related(Prefetch("materials", queryset=Material.objects.order_by("sort_order", "pk")))
            .filter(pk=item.current_version_id, status=VersionStatus.PUBLISHED)
            .first()
        )
        if version is None:
            return None
        if len(_APPLICABLE) >= _APPLICABLE_MAX:
            _APPLICABLE.clear()
        _APPLICABLE[key] = version
    return version


def published_version_by_code(*, implementation_code: str) -> ServiceItemVersion:
    """The current version of the published item with this implementation code, or ``item_not_found``."""
    item_id = (
        published_items().filter(implementation_code=implementation_code).values_list("pk", flat=True).first()
    )
    if item_id is None:
        raise NotFound(_("This service item is not available."), code="item_not_found")
    return published_version(item_id=item_id)


def department_names(codes: Iterable[str]) -> dict[str, str]:
    """Department names by code, for showing a process's stages (unknown codes are left out)."""
    wanted = set(codes)
    if not wanted:
        return {}
    return dict(Department.objects.filter(code__in=wanted).values_list("code", "name"))


def version_by_id(*, version_id: int) -> ServiceItemVersion:
    """Any version (a case's version may since have been retired), with its materials and themes."""
    version = _version_detail().filter(pk=version_id).first()
    if version is None:
        raise NotFound(_("This service item is not available."), code="item_not_found")
    return version


def items_for_staff(user: User) -> QuerySet[ServiceItem]:
    """Items of the departments the staff member may see (their jurisdiction; ADR 0005)."""
    if not getattr(user, "is_staff_member", False):
        return ServiceItem.objects.none()
    return (
        ServiceItem.objects.filter(department__in=identity_selectors.departments_in_jurisdiction(user))
        .select_related("department", "current_version")
        .order_by("department__sort_order", "implementation_code")
    )


def versions_for_staff(user: User, *, item_id: int) -> QuerySet[ServiceItemVersion]:
    """Every version of one item, newest first, if the item lies in the user's view (else empty)."""
    return ServiceItemVersion.objects.filter(item__in=items_for_staff(user), item_id=item_id).order_by(
        "-number"
    )


def _contains(field: str, term: str) -> Q:
    """A substring match; case-insensitive only when the term has letters with case.

    Chinese has no case, and PostgreSQL's case-insensitive ``UPPER(col) LIKE UPPER(%s)`` costs about
    five times a plain ``LIKE`` over long conditions text, so CJK and digit terms use ``contains``.
    """
    lookup = "icontains" if term.upper() != term.lower() else "contains"
    return Q(**{f"{field}__{lookup}": term})


def search_published(
    query: str,
    *,
    limit: int = SEARCH_LIMIT,
    department_code: str | None = None,
    theme: str | None = None,
    service_object: str | None = None,
) -> list[ServiceItem]:
    """Published items matching the query's segmented terms in their name or conditions.

    The keyword filters narrow the search as they narrow ``published_items``.

    Items matching more terms in the name come first, then more terms in the conditions. Each
    term is a substring match (``_contains``), which runs on SQLite and PostgreSQL alike
    (docs/adr/0009-catalog-versions-and-search.md says how this scales).
    """
    terms = search_terms(query)
    if not terms:
        return []
    # A row containing a term contains every shorter term inside it (身份证 ⊃ 身份), so the filter
    # needs only the terms that contain no other term: fewer LIKEs over every published row.
    # The ranking still counts every term, but only over the rows that match.
    needed = [t for t in terms if not any(o != t and o in t for o in terms)]
    matches = Q()
    for term in needed:
        matches |= _contains("current_version__name", term) | _contains("current_version__conditions", term)

    def hits(field: str) -> ExpressionWrapper:
        # CASE ... ELSE 0 is never NULL, so the sum needs no COALESCE.
        cases = [Case(When(_contains(field, t), then=Value(1)), default=Value(0)) for t in terms]
        return ExpressionWrapper(sum(cases[1:], cases[0]), output_field=IntegerField())

    qs = (
        published_items(department_code=department_code, theme=theme, service_object=service_object)
        .filter(matches)
        .annotate(
            name_score=hits("current_version__name"),
            condition_score=hits("current_version__conditions"),
        )
        .order_by("-name_score", "-condition_score", "current_version__name", "pk")
    )
    return list(qs[:limit])
