"""Reads of reviews, each scoped to what the caller may see (ADR 5, ADR 19)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.appointments import selectors as appointment_selectors
from tongban.appointments.models import Window
from tongban.cases import selectors as case_selectors
from tongban.cases.choices import CaseStatus
from tongban.cases.models import Case
from tongban.core.calendar import local_date
from tongban.core.errors import NotFound
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User
from tongban.reviews import permissions
from tongban.reviews.choices import (
    BAD_LEVEL_MAX,
    GOOD_LEVEL_MIN,
    AppealStatus,
    Level,
    RectificationStatus,
    ReviewChannel,
    ReviewStatus,
)
from tongban.reviews.models import Appeal, Invitation, Rectification, RectificationPolicy, Review, Visit

# A case may be rated once the administration has concluded it (办结): delivered, refused, or not
# accepted. A withdrawn application was never handled, so there is nothing to rate.
RATEABLE_STATUSES = frozenset({CaseStatus.COMPLETED, CaseStatus.REFUSED, CaseStatus.NOT_ACCEPTED})
DEFAULT_RECTIFICATION_DAYS = 15
INVITE_WITHIN_DAYS = 7  # the invitation job looks this far back (older cases are not invited)

_REVIEW_NOT_FOUND = _("No such rating, or it is not yours to see.")
_RECTIFICATION_NOT_FOUND = _("No such rectification, or it is outside your department.")
_APPEAL_NOT_FOUND = _("No such appeal, or it is outside your jurisdiction.")


# --- the applicant's side ---------------------------------------------------------------------


def case_of_applicant(user: User, *, case_id: int) -> Case:
    """One of the user's own cases (``NotFound`` for anyone else's, revealing nothing)."""
    return case_selectors.case_for_applicant(user, case_id=case_id)


def first_review_of(case: Case) -> Review | None:
    return (
        Review.objects.filter(case=case, channel=ReviewChannel.ONLINE, re_rating_of__isnull=True)
        .select_related("rectification", "re_rating")
        .first()
    )


@dataclass(frozen=True)
class CaseReviewState:
    """What the applicant may do about rating one case (the case page's link, the rating page)."""

    rateable: bool  # concluded and not rated yet
    review: Review | None
    rectification: Rectification | None
    re_rating: Review | None
    can_re_rate: bool


def case_review_state(case: Case) -> CaseReviewState:
    review = first_review_of(case)
    rectification = getattr(review, "rectification", None) if review is not None else None
    re_rating = getattr(review, "re_rating", None) if review is not None else None
    return CaseReviewState(
        rateable=review is None and case.status in RATEABLE_STATUSES,
        review=review,
        rectification=rectification,
        re_rating=re_rating,
        can_re_rate=(
            review is not None
            and review.status == ReviewStatus.VALID
            and rectification is not None
            and rectification.status == RectificationStatus.CLOSED
            and re_rating is None
        ),
    )


# --- on site ----------------------------------------------------------------------------------


def windows_for_clerk(user: User) -> QuerySet[Window]:
    halls = appointment_selectors.halls_for_staff(user)
    return (
        Window.objects.filter(hall__in=halls, is_active=True)
        .select_related("hall")
        .order_by("hall", "number")
    )


def case_for_visit(user: User, *, number: str) -> Case:
    """A case the clerk may see, by its number (``NotFound`` outside the clerk's scope)."""
    case = case_selectors.cases_for_staff(user).filter(number=number.strip().upper()).first()
    if case is None:
        raise NotFound(_("No such case in your jurisdiction."), code="case_not_found")
    return case


def visit_by_token(token: str) -> Visit:
    visit = (
        Visit.objects.select_related("department", "window__hall", "case", "item__current_version")
        .filter(token=token)
        .first()
    )
    if visit is None:
        raise NotFound(_("This rating page is not valid."), code="visit_not_found")
    return visit


def recent_visits(user: User, *, limit: int = 20) -> QuerySet[Visit]:
    return (
        Visit.objects.filter(clerk=user)
        .select_related("department", "window__hall")
        .order_by("-created_at")[:limit]
    )


# --- staff ------------------------------------------------------------------------------------


def _staff_department_scope(user: User) -> Q:
    """Rows of the user's own department, plus the jurisdiction for supervisors and administrators."""
    if not permissions.is_staff(user) or user.department_id is None:
        return Q(pk__in=[])
    scope = Q(department_id=user.department_id)
    if identity_selectors.has_role(user, *permissions.OVERSIGHT_ROLES):
        scope |= Q(department__in=identity_selectors.departments_in_jurisdiction(user))
    return scope


def rectifications_for_staff(user: User, *, status: str | None = None) -> QuerySet[Rectification]:
    qs = Rectification.objects.filter(_staff_department_scope(user)).select_related(
        "review__case", "review__item__current_version", "department"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "due_at", "pk")


def rectification_for_staff(user: User, *, pk: int) -> Rectification:
    found = rectifications_for_staff(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_RECTIFICATION_NOT_FOUND, code="rectification_not_found")
    return found


def review_for_staff(user: User, *, pk: int) -> Review:
    found = (
        Review.objects.filter(_staff_department_scope(user), pk=pk)
        .select_related("case", "department", "item__current_version")
        .first()
    )
    if found is None:
        raise NotFound(_REVIEW_NOT_FOUND, code="review_not_found")
    return found


def reviews_for_staff(user: User) -> QuerySet[Review]:
    return (
        Review.objects.filter(_staff_department_scope(user))
        .select_related("case", "department", "item__current_version")
        .order_by("-created_at", "-pk")
    )


def appeals_for_staff(user: User, *, status: str | None = None) -> QuerySet[Appeal]:
    qs = Appeal.objects.filter(_staff_department_scope(user)).select_related(
        "review__case", "department", "filed_by", "decided_by"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "-filed_at", "-pk")


def appeal_for_staff(user: User, *, pk: int) -> Appeal:
    found = appeals_for_staff(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_APPEAL_NOT_FOUND, code="appeal_not_found")
    return found


def pending_appeal_of(review: Review) -> Appeal | None:
    return review.appeals.filter(status=AppealStatus.PENDING).first()


def workbench_counts(user: User) -> dict[str, int]:
    if user.department_id is None:
        return {"open": 0, "overdue": 0, "appeals": 0}
    own = Rectification.objects.filter(department_id=user.department_id, status=RectificationStatus.OPEN)
    return {
        "open": own.count(),
        "overdue": own.filter(due_at__lt=timezone.now()).count(),
        "appeals": appeals_for_staff(user, status=AppealStatus.PENDING).count()
        if permissions.is_staff(user) and identity_selectors.has_role(user, "supervisor")
        else 0,
    }


def department_staff(department: Department) -> QuerySet[User]:
    """Who is told about a new rectification: the department's active staff accounts."""
    return User.objects.filter(kind=AccountKind.STAFF, department=department, is_active=True).order_by("pk")


def appeal_deciders(department: Department) -> list[User]:
    """Who is told about a new appeal: the active supervisors whose jurisdiction covers the
    department (those ``permissions.can_decide_appeal`` lets decide it), in one query: a
    supervisor's jurisdiction is the division-code prefix of their own department."""
    supervisors = (
        User.objects.filter(
            kind=AccountKind.STAFF,
            is_active=True,
            department__isnull=False,
            role_assignments__role=Role.SUPERVISOR,
        )
        .select_related("department")
        .distinct()
        .order_by("pk")
    )
    return [
        user
        for user in supervisors
        if user.department is not None
        and department.division_code.startswith(identity_selectors.jurisdiction_prefix(user.department))
    ]


# --- time limits ------------------------------------------------------------------------------


def policies_for(user: User) -> QuerySet[RectificationPolicy]:
    if user.department is None:
        return RectificationPolicy.objects.none()
    prefix = identity_selectors.jurisdiction_prefix(user.department)
    return RectificationPolicy.objects.filter(division_prefix__startswith=prefix)


def rectification_days(department: Department) -> int:
    """The working days the department has: the longest matching locality's, else the default."""
    code = department.division_code
    candidates = [code[:n] for n in range(len(code), 0, -1)]
    found = RectificationPolicy.objects.filter(division_prefix__in=candidates)
    rows = sorted(found.values_list("division_prefix", "working_days"), key=lambda r: -len(r[0]))
    return rows[0][1] if rows else DEFAULT_RECTIFICATION_DAYS


# --- the invitation job -----------------------------------------------------------------------


def cases_to_invite(*, now: dt.datetime | None = None) -> QuerySet[Case]:
    """Cases concluded in the last days that have neither an invitation nor a rating yet."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=INVITE_WITHIN_DAYS)
    return (
        Case.objects.filter(status__in=RATEABLE_STATUSES, completed_at__gte=since, completed_at__lte=now)
        .exclude(pk__in=Invitation.objects.values("case_id"))
        .exclude(pk__in=Review.objects.filter(channel=ReviewChannel.ONLINE).values("case_id"))
        .select_related("applicant", "version", "department")
        .order_by("completed_at", "pk")
    )


# --- statistics -------------------------------------------------------------------------------


@dataclass
class DepartmentFigures:
    department_id: int
    department: str
    count: int  # valid reviews
    levels: dict[int, int] = field(default_factory=dict)  # level -> valid reviews of that level
    bad: int = 0  # bad ratings received (not annulled; re-ratings not counted again)
    rectified: int = 0
    rectified_on_time: int = 0

    @property
    def satisfied(self) -> int:
        return sum(n for level, n in self.levels.items() if level >= GOOD_LEVEL_MIN)

    @property
    def satisfaction_rate(self) -> float | None:
        """Share of levels >= 4 among the valid reviews (None when there are none)."""
        return self.satisfied / self.count if self.count else None

    @property
    def satisfaction_percent(self) -> str:
        rate = self.satisfaction_rate
        return "—" if rate is None else f"{rate * 100:.1f}%"

    @property
    def levels_desc(self) -> list[tuple[int, int]]:
        return [(level, self.levels.get(level, 0)) for level in sorted(Level.values, reverse=True)]

    @property
    def on_time_percent(self) -> str:
        return "—" if not self.rectified else f"{self.rectified_on_time * 100 / self.rectified:.1f}%"


def _bounds(start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) as aware datetimes; dates are whole days in Asia/Shanghai, ``end`` included."""
    tz = timezone.get_default_timezone()

    def begin(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=tz)

    lo = start if isinstance(start, dt.datetime) else begin(start)
    hi = end if isinstance(end, dt.datetime) else begin(end + dt.timedelta(days=1))
    return lo, hi


def department_figures(
    start: dt.date | dt.datetime, end: dt.date | dt.datetime, *, departments: Any = None
) -> list[DepartmentFigures]:
    """Per department, the reviews given in the period: count, per-level counts, satisfaction rate
    (levels >= 4 among valid reviews), bad ratings, and how many of their rectifications were closed
    (on time: by the due date). Annulled ratings count nowhere; superseded ones only as bad ratings."""
    lo, hi = _bounds(start, end)
    valid = Q(status=ReviewStatus.VALID)
    first_bad = Q(level__lte=BAD_LEVEL_MAX, re_rating_of__isnull=True) & ~Q(status=ReviewStatus.ANNULLED)
    closed = Q(rectification__status=RectificationStatus.CLOSED)
    annotations: dict[str, Any] = {
        "count": Count("pk", filter=valid),
        "bad": Count("pk", filter=first_bad),
        "rectified": Count("rectification", filter=closed),
        "on_time": Count(
            "rectification", filter=closed & Q(rectification__closed_at__lte=F("rectification__due_at"))
        ),
    }
    for level in Level.values:
        annotations[f"l{level}"] = Count("pk", filter=valid & Q(level=level))
    reviews = Review.objects.filter(created_at__gte=lo, created_at__lt=hi)
    if departments is not None:
        reviews = reviews.filter(department__in=departments)
    grouped: Any = reviews.values("department_id").annotate(**annotations).order_by()
    rows: list[dict[str, Any]] = list(grouped)
    names = dict(
        Department.objects.filter(pk__in=[r["department_id"] for r in rows]).values_list("pk", "name")
    )
    figures = [
        DepartmentFigures(
            department_id=r["department_id"],
            department=names.get(r["department_id"], ""),
            count=r["count"],
            levels={level: r[f"l{level}"] for level in Level.values},
            bad=r["bad"],
            rectified=r["rectified"],
            rectified_on_time=r["on_time"],
        )
        for r in rows
        if r["count"] or r["bad"]
    ]
    figures.sort(key=lambda f: (-(f.satisfaction_rate or 0), -f.count, f.department))
    return figures


def totals(figures: list[DepartmentFigures]) -> DepartmentFigures:
    total = DepartmentFigures(department_id=0, department="", count=0, levels=dict.fromkeys(Level.values, 0))
    for f in figures:
        total.count += f.count
        total.bad += f.bad
        total.rectified += f.rectified
        total.rectified_on_time += f.rectified_on_time
        for level, n in f.levels.items():
            total.levels[level] += n
    return total


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last twelve months up to today."""
    today = today or local_date(timezone.now())
    try:
        start = today.replace(year=today.year - 1) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28) + dt.timedelta(days=1)
    return start, today


def level_labels() -> list[tuple[int, str]]:
    return [(int(value), str(label)) for value, label in sorted(Level.choices, reverse=True)]
