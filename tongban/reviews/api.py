"""The reviews API, mounted under /api/v1/ by tongban.api.

- ``GET/POST /me/cases/{case_id}/review``: the applicant's rating of a concluded case (once).
- ``POST /reviews/{review_id}/appeal``: the handling department appeals a rating (others: 403).
- ``POST /rectifications/{id}/callbacks`` and ``/close``: the department's rectification work.
- ``GET /reviews/stats``: the public per-department figures (no login, no personal data).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from tongban.core.errors import AuthenticationFailed, NotFound, PermissionDenied
from tongban.core.schemas import ErrorOut
from tongban.identity.auth import session_or_token
from tongban.identity.choices import AccountKind
from tongban.identity.models import User
from tongban.reviews import permissions, selectors, services
from tongban.reviews.models import Rectification, Review

router = Router(tags=["reviews"])
MAX_PERIOD_DAYS = 3 * 366
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


class RatingIn(Schema):
    level: int = Field(description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    scores: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Online indicators, 1..5 each: overall, efficiency, guide_accuracy, convenience, usability"
        ),
    )
    comment: str = Field("", description="Required for a level of 2 or less")


class RectificationOut(Schema):
    id: int
    status: str
    due_at: datetime
    closed_at: datetime | None
    result: str


class ReviewOut(Schema):
    id: int
    case_id: int | None
    department: str
    channel: str
    level: int
    scores: dict[str, int]
    comment: str
    status: str
    created_at: datetime
    re_rating_of: int | None
    rectification: RectificationOut | None


class AppealIn(Schema):
    ground: str = Field(description="mistaken or malicious")
    reason: str


class AppealOut(Schema):
    id: int
    review_id: int
    status: str
    ground: str
    filed_at: datetime


class CallbackIn(Schema):
    at: datetime
    method: str = Field(description="phone, visit, sms or other")
    applicant_said: str


class CallbackOut(Schema):
    id: int
    at: datetime
    method: str


class CloseIn(Schema):
    result: str


class FiguresOut(Schema):
    department_id: int
    department: str
    count: int
    levels: dict[str, int]
    satisfaction_rate: float | None
    bad: int
    rectified: int
    rectified_on_time: int


class StatsOut(Schema):
    start: date
    end: date
    departments: list[FiguresOut]


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationFailed(_("Log in first, or send a valid access token."), code="not_authenticated")
    return user


def _applicant(request: HttpRequest) -> User:
    user = _user(request)
    if user.kind not in (AccountKind.CITIZEN, AccountKind.ENTERPRISE):
        raise NotFound(_("No such case, or it is not yours to see."), code="case_not_found")
    return user


def _staff(request: HttpRequest) -> User:
    user = _user(request)
    if not permissions.is_staff(user):
        raise PermissionDenied(_("This is for government staff only."), code="staff_required")
    return user


def _rectification_out(review: Review) -> RectificationOut | None:
    r = getattr(review, "rectification", None)
    if r is None:
        return None
    return RectificationOut(id=r.pk, status=r.status, due_at=r.due_at, closed_at=r.closed_at, result=r.result)


def _review_out(review: Review) -> ReviewOut:
    return ReviewOut(
        id=review.pk,
        case_id=review.case_id,
        department=review.department.name,
        channel=review.channel,
        level=review.level,
        scores=review.scores,
        comment=review.comment,
        status=review.status,
        created_at=review.created_at,
        re_rating_of=review.re_rating_of_id,
        rectification=_rectification_out(review),
    )


@router.get(
    "/me/cases/{case_id}/review",
    response={200: ReviewOut, **ERRORS},
    auth=session_or_token,
    summary="My rating of one of my cases",
)
def my_review(request: HttpRequest, case_id: int) -> ReviewOut:
    user = _applicant(request)
    case = selectors.case_of_applicant(user, case_id=case_id)
    review = selectors.first_review_of(case)
    if review is None:
        raise NotFound(_("This case has not been rated yet."), code="review_missing")
    return _review_out(review)


@router.post(
    "/me/cases/{case_id}/review",
    response={201: ReviewOut, **ERRORS},
    auth=session_or_token,
    summary="Rate one of my concluded cases (once; a bad rating opens a rectification)",
)
def my_review_create(request: HttpRequest, case_id: int, payload: RatingIn) -> Status[ReviewOut]:
    user = _applicant(request)
    review = services.review_submit(
        case_id=case_id, by=user, level=payload.level, scores=payload.scores, comment=payload.comment
    )
    return Status(201, _review_out(review))


@router.post(
    "/reviews/{review_id}/appeal",
    response={201: AppealOut, **ERRORS},
    auth=session_or_token,
    summary="Appeal a mistaken or malicious rating (the handling department's staff only)",
)
def review_appeal(request: HttpRequest, review_id: int, payload: AppealIn) -> Status[AppealOut]:
    user = _staff(request)
    review = Review.objects.select_related("department").filter(pk=review_id).first()
    if review is None:
        raise NotFound(_("No such rating, or it is not yours to see."), code="review_not_found")
    appeal = services.appeal_file(review=review, by=user, ground=payload.ground, reason=payload.reason)
    return Status(
        201,
        AppealOut(
            id=appeal.pk,
            review_id=review.pk,
            status=appeal.status,
            ground=appeal.ground,
            filed_at=appeal.filed_at,
        ),
    )


def _rectification(user: User, rectification_id: int) -> Rectification:
    return selectors.rectification_for_staff(user, pk=rectification_id)


@router.post(
    "/rectifications/{rectification_id}/callbacks",
    response={201: CallbackOut, **ERRORS},
    auth=session_or_token,
    summary="Record a callback to the applicant (回访)",
)
def rectification_callback(
    request: HttpRequest, rectification_id: int, payload: CallbackIn
) -> Status[CallbackOut]:
    user = _staff(request)
    callback = services.callback_record(
        rectification=_rectification(user, rectification_id),
        by=user,
        at=payload.at,
        method=payload.method,
        applicant_said=payload.applicant_said,
    )
    return Status(201, CallbackOut(id=callback.pk, at=callback.at, method=callback.method))


@router.post(
    "/rectifications/{rectification_id}/close",
    response={200: RectificationOut, **ERRORS},
    auth=session_or_token,
    summary="Close a rectification with its result (refused without one)",
)
def rectification_close(request: HttpRequest, rectification_id: int, payload: CloseIn) -> RectificationOut:
    user = _staff(request)
    r = services.rectification_close(
        rectification=_rectification(user, rectification_id), by=user, result=payload.result
    )
    return RectificationOut(id=r.pk, status=r.status, due_at=r.due_at, closed_at=r.closed_at, result=r.result)


@router.get(
    "/reviews/stats",
    response={200: StatsOut, 422: ErrorOut},
    auth=None,
    summary="Public figures of good and bad reviews per department for a period (default: 12 months)",
)
def review_stats(request: HttpRequest, start: date | None = None, end: date | None = None) -> StatsOut:
    default = selectors.default_period()
    lo, hi = start or default[0], end or default[1]
    if hi < lo:
        lo, hi = hi, lo
    if (hi - lo).days > MAX_PERIOD_DAYS:  # a bounded query for an anonymous endpoint
        lo = hi - timedelta(days=MAX_PERIOD_DAYS)
    figures = selectors.department_figures(lo, hi)
    return StatsOut(
        start=lo,
        end=hi,
        departments=[
            FiguresOut(
                department_id=f.department_id,
                department=f.department,
                count=f.count,
                levels={str(k): v for k, v in f.levels.items()},
                satisfaction_rate=f.satisfaction_rate,
                bad=f.bad,
                rectified=f.rectified,
                rectified_on_time=f.rectified_on_time,
            )
            for f in figures
        ],
    )
