"""Writes of reviews: ratings, rectifications, callbacks, appeals, visits, time limits (ADR 19).

Every write is one transaction and audited. A refusal changes nothing and is audited too: the work
runs in a savepoint, and a ``DomainError`` leaving it is recorded (``<action>_refused``, denied for
a permission, failure otherwise) after the savepoint rolled back, then raised again.

    rating (valid) ──bad──> rectification open ──callbacks──> closed (result) ──> re-rating
        │                         │                                               (first: superseded)
        └── appeal by the department ── upheld by a supervisor ──> rating annulled, rectification cancelled
                                    └── rejected ──> nothing changes
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.appointments.models import Window
from tongban.cases.models import Case
from tongban.core import audit
from tongban.core.calendar import deadline_after
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditOutcome
from tongban.identity.models import User
from tongban.notifications.services import notify
from tongban.reviews import permissions, selectors
from tongban.reviews.choices import (
    BAD_LEVEL_MAX,
    AppealGround,
    AppealStatus,
    CallbackMethod,
    Level,
    RectificationStatus,
    ReviewChannel,
    ReviewStatus,
    indicators_of,
)
from tongban.reviews.models import (
    Appeal,
    Callback,
    Invitation,
    Rectification,
    RectificationPolicy,
    Review,
    Visit,
)

T = TypeVar("T")
MAX_COMMENT = 1000
MAX_TEXT = 2000
VISIT_MINUTES = 30  # a visit's rating page works this long after the clerk starts it
MAX_NOTIFIED_STAFF = 50


# --- helpers ----------------------------------------------------------------------------------


def _refused(action: str, by: User | None, subject: Model | None, exc: DomainError) -> NoReturn:
    audit.record(
        action=f"{action}_refused",
        actor=by,
        subject=subject,
        outcome=AuditOutcome.DENIED if isinstance(exc, PermissionDenied | NotFound) else AuditOutcome.FAILURE,
        data={"code": exc.code},
    )
    raise exc


def _audited(action: str, by: User | None, subject: Model | None, work: Callable[[], T]) -> T:
    """Run ``work`` in a transaction (a savepoint inside the caller's); audit a refusal after it."""
    try:
        with transaction.atomic():
            return work()
    except DomainError as exc:
        _refused(action, by, subject, exc)


def _field_error(name: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={name: [message]})


def clean_rating(
    *, channel: str, level: Any, scores: Mapping[str, Any] | None, comment: str | None
) -> tuple[int, dict[str, int], str]:
    """The level (1..5), the channel's indicator scores (each 1..5, any may be left out) and the
    comment (required for a bad rating: the department must know what to put right)."""
    try:
        level_value = int(level)
    except (TypeError, ValueError):
        level_value = 0
    if level_value not in Level.values:
        raise _field_error("level", _("Choose one of the five levels."), "level_invalid")
    known = dict(indicators_of(channel))
    cleaned: dict[str, int] = {}
    for key, value in (scores or {}).items():
        if key not in known:
            raise _field_error(
                "scores",
                _("“%(key)s” is not an indicator of this rating.") % {"key": key},
                "indicator_unknown",
            )
        if value in (None, ""):
            continue
        try:
            score = int(value)
        except (TypeError, ValueError):
            score = 0
        if not 1 <= score <= 5:
            raise _field_error(
                key,
                _("Score “%(indicator)s” from 1 to 5.") % {"indicator": known[key]},
                "score_invalid",
            )
        cleaned[key] = score
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise _field_error(
            "comment",
            _("The comment is limited to %(n)d characters.") % {"n": MAX_COMMENT},
            "comment_too_long",
        )
    if level_value <= BAD_LEVEL_MAX and not text:
        raise _field_error(
            "comment",
            _("Please say what went wrong, so that the department can put it right."),
            "comment_required_for_bad",
        )
    return level_value, cleaned, text


def _text(value: str | None, *, field: str, message: str, code: str, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if not text:
        raise _field_error(field, message, code)
    if len(text) > limit:
        raise _field_error(field, _("This text is too long."), f"{field}_too_long")
    return text


def _create_review(**fields: Any) -> Review:
    """Insert the review; the unique constraints catch a second rating, even a concurrent one."""
    try:
        with transaction.atomic():
            return Review.objects.create(**fields)
    except IntegrityError:
        raise Conflict(
            _("This has been rated already; a rating cannot be changed."), code="review_exists"
        ) from None


def _open_rectification(review: Review, *, now: dt.datetime) -> Rectification:
    days = selectors.rectification_days(review.department)
    rectification = Rectification.objects.create(
        review=review,
        department=review.department,
        opened_at=now,
        due_at=deadline_after(now, days),
        working_days=days,
    )
    audit.record(
        action="rectification.opened",
        subject=rectification,
        summary=f"rectification of review {review.pk} for {review.department.code}",
        data={"review": review.pk, "department": review.department.code, "due_at": rectification.due_at},
    )
    link = reverse("reviews:rectification", args=[rectification.pk])
    title = _("A bad rating to rectify (差评整改)")
    body = _("%(department)s received a bad rating; rectify it and record the callback by %(due)s.") % {
        "department": review.department.name,
        "due": timezone.localtime(rectification.due_at).strftime("%Y-%m-%d"),
    }
    for member in selectors.department_staff(review.department)[:MAX_NOTIFIED_STAFF]:
        notify(
            recipient=member,
            topic="reviews.rectification_opened",
            title=title,
            body=body,
            link=link,
            subject=rectification,
            sms=False,
        )
    return rectification


def _file_review(review: Review, *, now: dt.datetime, action: str, by: User | None) -> Review:
    audit.record(
        action=action,
        actor=by,
        subject=review,
        summary=f"{review.channel} rating {review.level} for {review.department.code}",
        data={
            "level": review.level,
            "channel": review.channel,
            "case": review.case_id,
            "visit": review.visit_id,
            "department": review.department.code,
        },
    )
    if review.level <= BAD_LEVEL_MAX and review.re_rating_of_id is None:
        _open_rectification(review, now=now)
    return review


# --- online ratings ---------------------------------------------------------------------------


def _require_rateable(case: Case) -> None:
    if case.status not in selectors.RATEABLE_STATUSES:
        raise Conflict(
            _("A case can be rated once it is concluded; this one is not yet."), code="case_not_concluded"
        )


def review_submit(
    *,
    case_id: int,
    by: User,
    level: Any,
    scores: Mapping[str, Any] | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """The applicant (or the enterprise applicant's agent) rates a concluded case, once.

    Someone else's case is ``NotFound`` (nothing is revealed); a case not concluded and a second
    rating are refused (``case_not_concluded``, ``review_exists``)."""

    def work() -> Review:
        case = selectors.case_of_applicant(by, case_id=case_id)
        case = Case.objects.select_for_update().select_related("department").get(pk=case.pk)
        _require_rateable(case)
        if selectors.first_review_of(case) is not None:
            raise Conflict(
                _("This has been rated already; a rating cannot be changed."), code="review_exists"
            )
        value, cleaned, text = clean_rating(
            channel=ReviewChannel.ONLINE, level=level, scores=scores, comment=comment
        )
        moment = now or timezone.now()
        review = _create_review(
            case=case,
            department=case.department,
            item_id=case.item_id,
            channel=ReviewChannel.ONLINE,
            level=value,
            scores=cleaned,
            comment=text,
            rater=by,
            created_at=moment,
        )
        return _file_review(review, now=moment, action="review.created", by=by)

    return _audited("review.create", by, None, work)


def review_re_rate(
    *,
    case_id: int,
    by: User,
    level: Any,
    scores: Mapping[str, Any] | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """After the rectification of a bad rating is closed the applicant rates again, once; the new
    rating replaces the first in the figures (the first becomes ``superseded``)."""

    def work() -> Review:
        case = selectors.case_of_applicant(by, case_id=case_id)
        first = selectors.first_review_of(case)
        if first is None:
            raise Conflict(_("This case has not been rated yet."), code="review_missing")
        first = Review.objects.select_for_update().get(pk=first.pk)
        state = selectors.case_review_state(case)
        if not state.can_re_rate:
            raise Conflict(
                _("A rating can be given again only once, after its rectification is closed."),
                code="re_rating_not_open",
            )
        value, cleaned, text = clean_rating(
            channel=ReviewChannel.ONLINE, level=level, scores=scores, comment=comment
        )
        moment = now or timezone.now()
        review = _create_review(
            case=case,
            department_id=first.department_id,
            item_id=first.item_id,
            channel=ReviewChannel.ONLINE,
            level=value,
            scores=cleaned,
            comment=text,
            rater=by,
            created_at=moment,
            re_rating_of=first,
        )
        first.status = ReviewStatus.SUPERSEDED
        first.save(update_fields=["status"])
        return _file_review(review, now=moment, action="review.re_rated", by=by)

    return _audited("review.re_rate", by, None, work)


# --- on site ----------------------------------------------------------------------------------


def visit_start(
    *, by: User, window: Window | None = None, case_number: str = "", now: dt.datetime | None = None
) -> Visit:
    """The window clerk starts the rating of the visitor in front of them; the tablet shows it.

    The rating goes to the case's department when the visit was about a case, else the clerk's."""

    def work() -> Visit:
        permissions.ensure_window_clerk(by)
        case = selectors.case_for_visit(by, number=case_number) if case_number.strip() else None
        if window is not None and not selectors.windows_for_clerk(by).filter(pk=window.pk).exists():
            raise PermissionDenied(_("This window is not in your jurisdiction."), code="window_not_yours")
        moment = now or timezone.now()
        department = by.department
        if department is None:  # pragma: no cover - ensure_window_clerk refused it
            raise PermissionDenied(
                _("Only window clerks start on-site ratings."), code="window_clerk_required"
            )
        visit = Visit.objects.create(
            token=secrets.token_urlsafe(24),
            department=case.department if case is not None else department,
            hall=window.hall if window is not None else None,
            window=window,
            clerk=by,
            case=case,
            item_id=case.item_id if case is not None else None,
            expires_at=moment + dt.timedelta(minutes=VISIT_MINUTES),
        )
        audit.record(
            action="visit.started",
            actor=by,
            subject=visit,
            data={"case": case.pk if case else None, "window": window.pk if window else None},
        )
        return visit

    return _audited("visit.start", by, None, work)


def visit_rate(
    *,
    token: str,
    level: Any,
    scores: Mapping[str, Any] | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """The visitor rates on the tablet: one rating per visit, while the visit's page is open."""
    visit = selectors.visit_by_token(token)

    def work() -> Review:
        locked = Visit.objects.select_for_update().select_related("department").get(pk=visit.pk)
        moment = now or timezone.now()
        if locked.rated_at is not None:
            raise Conflict(_("This visit has been rated already. Thank you!"), code="review_exists")
        if moment > locked.expires_at:
            raise Conflict(
                _("This rating page has expired; ask the window to start a new one."), code="visit_expired"
            )
        value, cleaned, text = clean_rating(
            channel=ReviewChannel.ONSITE, level=level, scores=scores, comment=comment
        )
        review = _create_review(
            visit=locked,
            case_id=locked.case_id,
            department=locked.department,
            item_id=locked.item_id,
            channel=ReviewChannel.ONSITE,
            level=value,
            scores=cleaned,
            comment=text,
            rater=None,
            created_at=moment,
        )
        locked.rated_at = moment
        locked.save(update_fields=["rated_at"])
        return _file_review(review, now=moment, action="review.created", by=None)

    return _audited("review.create", None, visit, work)


# --- rectification ----------------------------------------------------------------------------


def _require_open(rectification: Rectification) -> None:
    if rectification.status != RectificationStatus.OPEN:
        raise Conflict(_("This rectification is no longer open."), code="rectification_not_open")


def callback_record(
    *,
    rectification: Rectification,
    by: User,
    at: dt.datetime | None,
    method: str,
    applicant_said: str,
    now: dt.datetime | None = None,
) -> Callback:
    """The department records one call back to the applicant (回访)."""

    def work() -> Callback:
        permissions.ensure_department_staff(by, rectification.department)
        locked = Rectification.objects.select_for_update().get(pk=rectification.pk)
        _require_open(locked)
        moment = now or timezone.now()
        if at is None:
            raise _field_error("at", _("Say when the applicant was called."), "callback_time_required")
        if at > moment + dt.timedelta(minutes=5):
            raise _field_error("at", _("A callback cannot be in the future."), "callback_in_future")
        if at < locked.opened_at - dt.timedelta(days=1):
            raise _field_error("at", _("The callback cannot be before the rating."), "callback_before_rating")
        if method not in CallbackMethod.values:
            raise _field_error(
                "method", _("Choose how the applicant was reached."), "callback_method_invalid"
            )
        said = _text(
            applicant_said,
            field="applicant_said",
            message=_("Write down what the applicant said."),
            code="callback_content_required",
        )
        callback = Callback.objects.create(
            rectification=locked, at=at, method=method, applicant_said=said, recorded_by=by
        )
        audit.record(
            action="rectification.callback_recorded",
            actor=by,
            subject=locked,
            data={"callback": callback.pk, "method": method, "at": at},
        )
        return callback

    return _audited("rectification.callback", by, rectification, work)


def rectification_close(
    *, rectification: Rectification, by: User, result: str, now: dt.datetime | None = None
) -> Rectification:
    """The department closes the rectification with what it did; the applicant is invited to re-rate.

    Refused without a result (``result_required``), and once closed or cancelled."""

    def work() -> Rectification:
        permissions.ensure_department_staff(by, rectification.department)
        locked = (
            Rectification.objects.select_for_update(of=("self",))
            .select_related("review__case", "department")
            .get(pk=rectification.pk)
        )
        _require_open(locked)
        text = _text(
            result,
            field="result",
            message=_("A rectification is closed with its result: say what was put right."),
            code="result_required",
        )
        moment = now or timezone.now()
        locked.status = RectificationStatus.CLOSED
        locked.result = text
        locked.closed_at = moment
        locked.closed_by = by
        review = locked.review
        rater = review.rater
        invite = rater is not None and review.case_id is not None and review.status == ReviewStatus.VALID
        if invite:
            locked.re_rating_invited_at = moment
        locked.save(update_fields=["status", "result", "closed_at", "closed_by", "re_rating_invited_at"])
        audit.record(
            action="rectification.closed",
            actor=by,
            subject=locked,
            data={"on_time": moment <= locked.due_at, "invited": invite},
        )
        if invite and rater is not None and review.case_id is not None:
            notify(
                recipient=rater,
                topic="reviews.re_rating_invited",
                title=_("Your rating was followed up: rate again"),
                body=_("%(department)s has put right what you rated badly: %(result)s")
                % {
                    "department": locked.department.name,
                    "result": text[:200],
                },
                link=reverse("reviews:case", args=[review.case_id]),
                subject=review,
            )
        return locked

    return _audited("rectification.close", by, rectification, work)


# --- appeals ----------------------------------------------------------------------------------


def appeal_file(
    *, review: Review, by: User, ground: str, reason: str, now: dt.datetime | None = None
) -> Appeal:
    """The handling department appeals a mistaken or malicious bad rating (others: 403)."""

    def work() -> Appeal:
        permissions.ensure_department_staff(by, review.department)
        locked = Review.objects.select_for_update().get(pk=review.pk)
        if locked.status != ReviewStatus.VALID or locked.level > BAD_LEVEL_MAX:
            raise Conflict(_("Only a standing bad rating can be appealed."), code="appeal_not_applicable")
        if locked.appeals.exists():
            raise Conflict(_("This rating has been appealed already."), code="appeal_exists")
        if ground not in AppealGround.values:
            raise _field_error("ground", _("Choose the ground of the appeal."), "appeal_ground_invalid")
        text = _text(
            reason,
            field="reason",
            message=_("Give the reason for the appeal."),
            code="appeal_reason_required",
        )
        try:
            with transaction.atomic():
                appeal = Appeal.objects.create(
                    review=locked,
                    department=locked.department,
                    ground=ground,
                    reason=text,
                    filed_by=by,
                    filed_at=now or timezone.now(),
                )
        except IntegrityError:
            raise Conflict(_("This rating has been appealed already."), code="appeal_exists") from None
        audit.record(
            action="appeal.filed", actor=by, subject=appeal, data={"review": locked.pk, "ground": ground}
        )
        for supervisor in selectors.appeal_deciders(locked.department)[:MAX_NOTIFIED_STAFF]:
            if supervisor.pk == by.pk:
                continue  # the filer may not decide their own appeal
            notify(
                recipient=supervisor,
                topic="reviews.appeal_filed",
                title=_("An appeal against a bad rating awaits your decision"),
                body=_("%(department)s appeals a rating as %(ground)s: %(reason)s")
                % {
                    "department": locked.department.name,
                    "ground": AppealGround(ground).label,
                    "reason": text[:200],
                },
                link=reverse("reviews:appeal", args=[appeal.pk]),
                subject=appeal,
                sms=False,
            )
        return appeal

    return _audited("appeal.file", by, review, work)


def rectification_viewed(*, rectification: Rectification, by: User) -> None:
    """Record that a staff member opened a rectification (the rating's comment and the applicant's
    callbacks are personal data: a sensitive read). The selector has already scoped it."""
    audit.record(
        action="rectification.viewed",
        actor=by,
        subject=rectification,
        data={"review": rectification.review_id, "department": rectification.department_id},
    )


def appeal_decide(
    *, appeal: Appeal, by: User, uphold: bool, note: str, now: dt.datetime | None = None
) -> Appeal:
    """A supervisor over the department upholds the appeal (the rating is annulled, counts nowhere,
    its open rectification is cancelled) or rejects it (nothing changes). Reasons are required."""

    def work() -> Appeal:
        permissions.ensure_can_decide_appeal(by, appeal.department, appeal.filed_by_id)
        locked = Appeal.objects.select_for_update().select_related("review").get(pk=appeal.pk)
        if locked.status != AppealStatus.PENDING:
            raise Conflict(_("This appeal has been decided already."), code="appeal_decided")
        text = _text(
            note, field="note", message=_("Give the reasons for the decision."), code="decision_note_required"
        )
        moment = now or timezone.now()
        locked.status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
        locked.decided_by = by
        locked.decided_at = moment
        locked.decision_note = text
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        cancelled = False
        if uphold:
            review = Review.objects.select_for_update().get(pk=locked.review_id)
            review.status = ReviewStatus.ANNULLED
            review.save(update_fields=["status"])
            cancelled = bool(
                Rectification.objects.filter(review=review, status=RectificationStatus.OPEN).update(
                    status=RectificationStatus.CANCELLED, closed_at=moment
                )
            )
            audit.record(action="review.annulled", actor=by, subject=review, data={"appeal": locked.pk})
        audit.record(
            action="appeal.upheld" if uphold else "appeal.rejected",
            actor=by,
            subject=locked,
            data={"review": locked.review_id, "rectification_cancelled": cancelled},
        )
        notify(
            recipient=locked.filed_by,
            topic="reviews.appeal_decided",
            title=_("Your appeal was upheld") if uphold else _("Your appeal was rejected"),
            body=text[:300],
            link=reverse("reviews:appeal", args=[locked.pk]),
            subject=locked,
            sms=False,
        )
        return locked

    return _audited("appeal.decide", by, appeal, work)


# --- time limits ------------------------------------------------------------------------------


def policy_save(*, by: User, division_prefix: str, working_days: Any, note: str = "") -> RectificationPolicy:
    """Set the rectification time limit (working days) of a locality, by division-code prefix."""
    prefix = (division_prefix or "").strip()

    def work() -> RectificationPolicy:
        if not prefix.isdigit() or not 2 <= len(prefix) <= 12:
            raise _field_error(
                "division_prefix",
                _("Give the first 2 to 12 digits of the division code."),
                "division_prefix_invalid",
            )
        permissions.ensure_policy_administrator(by, prefix)
        try:
            days = int(working_days)
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= 60:
            raise _field_error("working_days", _("Give 1 to 60 working days."), "working_days_invalid")
        policy, created = RectificationPolicy.objects.update_or_create(
            division_prefix=prefix,
            defaults={"working_days": days, "note": (note or "").strip()[:200], "updated_by": by},
        )
        audit.record(
            action="reviews.policy_saved",
            actor=by,
            subject=policy,
            data={"division_prefix": prefix, "working_days": days, "created": created},
        )
        return policy

    return _audited("reviews.policy_save", by, None, work)


def policy_delete(*, by: User, policy: RectificationPolicy) -> None:
    def work() -> None:
        permissions.ensure_policy_administrator(by, policy.division_prefix)
        audit.record(
            action="reviews.policy_deleted",
            actor=by,
            subject=policy,
            data={"division_prefix": policy.division_prefix, "working_days": policy.working_days},
        )
        policy.delete()

    _audited("reviews.policy_delete", by, policy, work)


# --- invitations ------------------------------------------------------------------------------


def invitations_send(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Invite the applicant of each newly concluded case to rate it, once (an ``Invitation`` row)."""
    moment = now or timezone.now()
    sent = 0
    for case in selectors.cases_to_invite(now=moment)[:limit]:
        with transaction.atomic():
            _invitation, created = Invitation.objects.get_or_create(case=case, defaults={"sent_at": moment})
            if not created:
                continue
            notify(
                recipient=case.applicant,
                topic="reviews.invitation",
                title=_("How was the service? Rate case %(number)s") % {"number": case.number},
                body=_("%(item)s is concluded. Your rating (好差评) helps %(department)s improve.")
                % {
                    "item": case.version.name,
                    "department": case.department.name,
                },
                link=reverse("reviews:case", args=[case.pk]),
                subject=case,
                sms=False,
            )
            sent += 1
    if sent:
        audit.record(action="reviews.invitations_sent", summary=f"{sent} invitations", data={"count": sent})
    return sent
