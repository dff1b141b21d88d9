"""Reads of themed bundles: the public's published bundles and guides, the applicant's applications.

An application is visible to its applicant and, for an enterprise applicant, to the citizens it has
authorised as agents, as cases are, and to the window clerk who filed it; anybody else gets
``bundle_application_not_found``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from tongban.bundles.choices import BundleStatus, OverallStatus
from tongban.bundles.merging import MergedField, MergedMaterial, merge_form, merge_materials
from tongban.bundles.models import Bundle, BundleApplication, BundleCase, BundleItem
from tongban.cases.choices import CaseStatus
from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import ServiceItemVersion
from tongban.catalog.search import search_terms
from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import enterprises_represented_by, has_role

SEARCH_LIMIT = 10
ENDED_STATUSES = frozenset({CaseStatus.REFUSED, CaseStatus.NOT_ACCEPTED, CaseStatus.WITHDRAWN})


def _entries() -> Prefetch:
    return Prefetch(
        "entries",
        queryset=BundleItem.objects.select_related("item__department", "item__current_version").order_by(
            "order"
        ),
    )


def published_bundles() -> QuerySet[Bundle]:
    """Bundles the public can see and apply for, with their items and departments."""
    return (
        Bundle.objects.filter(status=BundleStatus.PUBLISHED)
        .prefetch_related(_entries())
        .order_by("sort_order", "code")
    )


def bundles_for_admin(user: User) -> QuerySet[Bundle]:
    """Every bundle, drafts included, for administrators (bundles are city-wide; others see none)."""
    if not has_role(user, Role.ADMINISTRATOR):
        return Bundle.objects.none()
    return Bundle.objects.prefetch_related(_entries()).order_by("sort_order", "code")


def bundle_for_admin(user: User, *, bundle_id: int) -> Bundle:
    bundle = bundles_for_admin(user).filter(pk=bundle_id).first()
    if bundle is None:
        raise NotFound(_("No such themed bundle."), code="bundle_not_found")
    return bundle


def published_bundle(*, code: str) -> Bundle:
    bundle = published_bundles().filter(code=code).first()
    if bundle is None:
        raise NotFound(_("This themed bundle is not available."), code="bundle_not_found")
    return bundle


def search_bundles(query: str, *, limit: int = SEARCH_LIMIT) -> list[Bundle]:
    """Published bundles whose name, description or items' names match the query's terms.

    Bundles matching more terms in their own name come first (the same segmentation as the item
    search, ``catalog.search``).
    """
    terms = search_terms(query)
    if not terms:
        return []
    matches = Q()
    name_hits = []
    for term in terms:
        in_name = Q(name__contains=term)
        matches |= (
            in_name | Q(description__contains=term) | Q(entries__item__current_version__name__contains=term)
        )
        name_hits.append(SqlCase(When(in_name, then=Value(1)), default=Value(0)))
    score = sum(name_hits[1:], name_hits[0])
    ids = (
        Bundle.objects.filter(status=BundleStatus.PUBLISHED)
        .filter(matches)
        .values_list("pk", flat=True)
        .distinct()
    )
    return list(
        published_bundles()
        .filter(pk__in=ids)
        .annotate(score=Coalesce(score, Value(0), output_field=IntegerField()))
        .order_by("-score", "sort_order", "code")[:limit]
    )


# --- the guide -------------------------------------------------------------------------------


@dataclass
class GuideItem:
    order: int
    name: str
    implementation_code: str
    department: Department
    promised_days: int | None
    version: ServiceItemVersion | None

    @property
    def available(self) -> bool:
        return self.version is not None


@dataclass
class BundleGuide:
    """What the bundle's guide and application page show: items, merged form, merged materials."""

    bundle: Bundle
    items: list[GuideItem]
    fields: list[MergedField] = field(default_factory=list)
    materials: list[MergedMaterial] = field(default_factory=list)
    problem: str = ""  # why the bundle cannot be applied for now (an item withdrawn, a form conflict)

    @property
    def versions(self) -> list[ServiceItemVersion]:
        return [i.version for i in self.items if i.version is not None]

    @property
    def departments(self) -> list[Department]:
        return list({i.department.pk: i.department for i in self.items}.values())

    @property
    def total_promised_days(self) -> int:
        """The items run in parallel, so the whole takes as long as the longest of them."""
        return max((i.promised_days or 0 for i in self.items), default=0)

    @property
    def visits_saved(self) -> int:
        """Applied for one by one, each item is a visit (or a separate online application)."""
        return max(len(self.items) - 1, 0)

    @property
    def form_schema(self) -> list[dict[str, object]]:
        return [f.definition for f in self.fields]

    @property
    def uploads(self) -> list[MergedMaterial]:
        return [m for m in self.materials if m.uploadable]


def bundle_guide(bundle: Bundle) -> BundleGuide:
    """The bundle with its items' current versions, merged form and merged materials."""
    entries = list(
        BundleItem.objects.filter(bundle=bundle)
        .select_related("item__department", "item__current_version")
        .prefetch_related("item__current_version__materials")
        .order_by("order")
    )
    items: list[GuideItem] = []
    for entry in entries:
        version = entry.item.current_version
        if entry.item.retired_at is not None or version is None or version.status != VersionStatus.PUBLISHED:
            version = None
        items.append(
            GuideItem(
                order=entry.order,
                name=version.name if version else entry.item.implementation_code,
                implementation_code=entry.item.implementation_code,
                department=entry.item.department,
                promised_days=version.promised_days if version else None,
                version=version,
            )
        )
    guide = BundleGuide(bundle=bundle, items=items)
    if any(not i.available for i in items):
        guide.problem = str(_("Some items of this bundle are not available at the moment."))
    try:
        guide.fields = merge_form(guide.versions)
    except DomainError as exc:
        guide.problem = str(exc.message)
    guide.materials = merge_materials(guide.versions)
    return guide


# --- applications ----------------------------------------------------------------------------


def _applicant_scope(user: User) -> Q:
    if not user.is_authenticated or user.kind == AccountKind.STAFF:
        return Q(pk__in=[])
    own = Q(applicant_id=user.pk)
    if user.kind == AccountKind.CITIZEN:
        return own | Q(applicant__in=enterprises_represented_by(user))
    return own


def applications_of(user: User) -> QuerySet[BundleApplication]:
    """The bundle applications of the account (and of the enterprises it acts for), newest first."""
    return (
        BundleApplication.objects.filter(_applicant_scope(user))
        .select_related("bundle")
        .prefetch_related(
            Prefetch("bundle_cases", queryset=BundleCase.objects.select_related("case").order_by("order"))
        )
        .order_by("-created_at", "-pk")
    )


def application_for_applicant(user: User, *, application_id: int) -> BundleApplication:
    application = applications_of(user).filter(pk=application_id).first()
    if application is None:
        raise NotFound(
            _("No such application, or it is not yours to see."), code="bundle_application_not_found"
        )
    return application


def applications_filed_by(user: User) -> QuerySet[BundleApplication]:
    """The applications a window clerk filed for applicants at the counter, newest first."""
    if not user.is_authenticated or user.kind != AccountKind.STAFF:
        return BundleApplication.objects.none()
    return (
        BundleApplication.objects.filter(submitted_by_id=user.pk)
        .select_related("bundle", "applicant")
        .order_by("-created_at", "-pk")
    )


def application_filed_by(user: User, *, application_id: int) -> BundleApplication:
    """One of ``applications_filed_by``, for the clerk's next step (accepting each case)."""
    application = applications_filed_by(user).filter(pk=application_id).first()
    if application is None:
        raise NotFound(
            _("No such application, or it is not yours to see."), code="bundle_application_not_found"
        )
    return application


@dataclass(frozen=True)
class CaseProgress:
    case_id: int
    number: str
    item_name: str
    department_name: str
    status: str
    status_label: str
    submitted_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class BundleProgress:
    application: BundleApplication
    cases: list[CaseProgress]
    overall: str

    @property
    def overall_label(self) -> str:
        return str(OverallStatus(self.overall).label)

    @property
    def completed(self) -> int:
        return sum(1 for c in self.cases if c.status == CaseStatus.COMPLETED)

    @property
    def due_at(self) -> datetime | None:
        """When the last open case is promised to be done (None until every case is accepted)."""
        open_dues = [c.due_at for c in self.cases if c.status not in ENDED_STATUSES | {CaseStatus.COMPLETED}]
        if not open_dues or any(d is None for d in open_dues):
            return None
        return max(d for d in open_dues if d is not None)


def overall_status(statuses: list[str]) -> str:
    """All completed; some refused, not accepted or withdrawn; otherwise in progress."""
    if statuses and all(s == CaseStatus.COMPLETED for s in statuses):
        return OverallStatus.COMPLETED
    if any(s in ENDED_STATUSES for s in statuses):
        return OverallStatus.SOME_REFUSED
    return OverallStatus.IN_PROGRESS


def progress(application: BundleApplication) -> BundleProgress:
    """Each case's status, department and due date, and the application's overall status."""
    rows = (
        BundleCase.objects.filter(application=application)
        .select_related("case__version", "case__department")
        .order_by("order")
    )
    cases = [
        CaseProgress(
            case_id=row.case.pk,
            number=row.case.number or "",
            item_name=row.case.version.name,
            department_name=row.case.department.name,
            status=row.case.status,
            status_label=row.case.get_status_display(),
            submitted_at=row.case.submitted_at,
            due_at=row.case.due_at,
            completed_at=row.case.completed_at,
        )
        for row in rows
    ]
    return BundleProgress(
        application=application, cases=cases, overall=overall_status([c.status for c in cases])
    )
