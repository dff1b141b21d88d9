"""The rules of 好差评 through the services: who rates what and when, rectification, callbacks,
re-rating, appeals, on-site visits, time limits, and the audit rows of changes and refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.cases import services as case_services
from tongban.cases.models import Case, CaseTask
from tongban.cases.tests.factories import published_item, submitted_case
from tongban.catalog.models import ServiceItem
from tongban.core.calendar import deadline_after
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, EnterpriseAgent, User
from tongban.identity.tests.factories import StaffFactory
from tongban.notifications.models import Message
from tongban.reviews import selectors, services
from tongban.reviews.choices import AppealStatus, RectificationStatus, ReviewStatus
from tongban.reviews.models import Callback, Invitation, Rectification, RectificationPolicy, Review
from tongban.reviews.tests.conftest import conclude

pytestmark = pytest.mark.django_db

GOOD = {"overall": 5, "efficiency": 4, "guide_accuracy": 5, "convenience": 5, "usability": 4}


def rate_bad(case: Case, by: User, **kw: Any) -> Review:
    return services.review_submit(case_id=case.pk, by=by, level=1, comment="窗口推诿，跑了三次", **kw)


def audits(action: str, **kw: Any) -> int:
    return AuditEvent.objects.filter(action=action, **kw).count()


# --- online rating ----------------------------------------------------------------------------


def test_applicant_rates_a_completed_case_once(completed: Case, citizen: User) -> None:
    review = services.review_submit(case_id=completed.pk, by=citizen, level=5, scores=GOOD, comment="很快")
    assert review.department_id == completed.department_id
    assert review.item_id == completed.item_id
    assert review.channel == "online"
    assert review.status == ReviewStatus.VALID
    assert review.scores == GOOD
    assert not Rectification.objects.exists()  # a good rating opens nothing
    assert audits("review.created", subject_id=str(review.pk)) == 1
    with pytest.raises(Conflict) as exc:
        services.review_submit(case_id=completed.pk, by=citizen, level=4)
    assert exc.value.code == "review_exists"
    assert Review.objects.count() == 1
    assert audits("review.create_refused", outcome="failure") == 1


def test_someone_elses_case_is_not_found_and_audited(completed: Case, stranger: User, approver: User) -> None:
    for who in (stranger, approver):
        with pytest.raises(NotFound) as exc:
            services.review_submit(case_id=completed.pk, by=who, level=5)
        assert exc.value.code == "case_not_found"
    assert not Review.objects.exists()
    assert audits("review.create_refused", outcome="denied") == 2


def test_a_case_not_yet_concluded_cannot_be_rated(item: ServiceItem, citizen: User) -> None:
    case = submitted_case(item, citizen)
    with pytest.raises(Conflict) as exc:
        services.review_submit(case_id=case.pk, by=citizen, level=5)
    assert exc.value.code == "case_not_concluded"
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("level", "scores", "comment", "code"),
    [
        (0, {}, "", "level_invalid"),
        ("x", {}, "", "level_invalid"),
        (6, {}, "", "level_invalid"),
        (5, {"speed": 5}, "", "indicator_unknown"),
        (5, {"overall": 9}, "", "score_invalid"),
        (5, {"attitude": 5}, "", "indicator_unknown"),  # an on-site indicator, not an online one
        (2, {}, "", "comment_required_for_bad"),
        (5, {}, "长" * 1001, "comment_too_long"),
    ],
)
def test_bad_input_changes_nothing(
    completed: Case, citizen: User, level: Any, scores: dict[str, Any], comment: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.review_submit(case_id=completed.pk, by=citizen, level=level, scores=scores, comment=comment)
    assert exc.value.code == code
    assert not Review.objects.exists()


def test_an_enterprise_agent_rates_the_enterprises_case(
    department: Department, enterprise: User, citizen: User, clerk: User, approver: User
) -> None:
    EnterpriseAgent.objects.create(enterprise=enterprise, agent=citizen)
    item = published_item(department, service_object="both")
    case = conclude(item, enterprise, clerk, approver)
    review = services.review_submit(case_id=case.pk, by=citizen, level=4)
    assert review.rater == citizen


# --- bad rating -> rectification -------------------------------------------------------------


def test_bad_rating_opens_a_rectification_for_the_department(
    completed: Case, citizen: User, approver: User, department: Department
) -> None:
    now = timezone.now()
    review = rate_bad(completed, citizen, now=now)
    rectification = Rectification.objects.get(review=review)
    assert rectification.department == department
    assert rectification.status == RectificationStatus.OPEN
    assert rectification.working_days == selectors.DEFAULT_RECTIFICATION_DAYS
    assert rectification.due_at == deadline_after(now, selectors.DEFAULT_RECTIFICATION_DAYS)
    message = Message.objects.get(recipient=approver, topic="reviews.rectification_opened")
    assert message.link == f"/reviews/staff/rectifications/{rectification.pk}/"
    assert audits("rectification.opened", subject_id=str(rectification.pk)) == 1


def test_the_locality_policy_sets_the_deadline_longest_prefix_first(
    completed: Case, citizen: User, admin_user: User
) -> None:
    services.policy_save(by=admin_user, division_prefix="3415", working_days=10)
    services.policy_save(by=admin_user, division_prefix="341500", working_days=3, note="市本级")
    services.policy_save(by=admin_user, division_prefix="341500", working_days=4)  # updates
    assert RectificationPolicy.objects.count() == 2
    assert audits("reviews.policy_saved") == 3
    now = timezone.now()
    review = rate_bad(completed, citizen, now=now)
    assert review.rectification.working_days == 4
    assert review.rectification.due_at == deadline_after(now, 4)


def test_policies_need_an_administrator_over_the_locality(admin_user: User, approver: User) -> None:
    with pytest.raises(PermissionDenied):
        services.policy_save(by=approver, division_prefix="3415", working_days=5)
    with pytest.raises(PermissionDenied):
        services.policy_save(by=admin_user, division_prefix="3401", working_days=5)  # another city
    for prefix, days, code in [("34a", 5, "division_prefix_invalid"), ("3415", 0, "working_days_invalid")]:
        with pytest.raises(ValidationFailed) as exc:
            services.policy_save(by=admin_user, division_prefix=prefix, working_days=days)
        assert exc.value.code == code
    assert not RectificationPolicy.objects.exists()
    assert audits("reviews.policy_save_refused", outcome="denied") == 2


def test_callbacks_close_and_re_rating(completed: Case, citizen: User, approver: User) -> None:
    review = rate_bad(completed, citizen)
    rectification = review.rectification
    at = timezone.now() - dt.timedelta(hours=1)
    services.callback_record(
        rectification=rectification, by=approver, at=at, method="phone", applicant_said="说明了原因，表示理解"
    )
    assert Callback.objects.filter(rectification=rectification).count() == 1
    with pytest.raises(Conflict) as exc:  # not before the rectification is closed
        services.review_re_rate(case_id=completed.pk, by=citizen, level=5)
    assert exc.value.code == "re_rating_not_open"
    closed = services.rectification_close(
        rectification=rectification, by=approver, result="已对窗口人员批评教育"
    )
    assert closed.status == RectificationStatus.CLOSED
    assert closed.on_time
    assert closed.re_rating_invited_at is not None
    assert Message.objects.filter(recipient=citizen, topic="reviews.re_rating_invited").count() == 1
    again = services.review_re_rate(case_id=completed.pk, by=citizen, level=4, scores={"overall": 4})
    assert again.re_rating_of == review
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUPERSEDED
    assert Rectification.objects.count() == 1
    with pytest.raises(Conflict):
        services.review_re_rate(case_id=completed.pk, by=citizen, level=5)
    assert {"rectification.callback_recorded", "rectification.closed", "review.re_rated"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_a_rectification_is_not_closed_without_a_result(
    completed: Case, citizen: User, approver: User
) -> None:
    rectification = rate_bad(completed, citizen).rectification
    for result in ("", "   "):
        with pytest.raises(ValidationFailed) as exc:
            services.rectification_close(rectification=rectification, by=approver, result=result)
        assert exc.value.code == "result_required"
    rectification.refresh_from_db()
    assert rectification.status == RectificationStatus.OPEN
    assert rectification.closed_at is None
    assert audits("rectification.close_refused", outcome="failure") == 2
    services.rectification_close(rectification=rectification, by=approver, result="已整改")
    with pytest.raises(Conflict) as again:
        services.rectification_close(rectification=rectification, by=approver, result="再次")
    assert again.value.code == "rectification_not_open"


def test_only_the_department_works_its_rectification(
    completed: Case, citizen: User, other_staff: User, city_supervisor: User
) -> None:
    rectification = rate_bad(completed, citizen).rectification
    for who in (other_staff, city_supervisor):
        with pytest.raises(PermissionDenied):
            services.rectification_close(rectification=rectification, by=who, result="已整改")
        with pytest.raises(PermissionDenied):
            services.callback_record(
                rectification=rectification, by=who, at=timezone.now(), method="phone", applicant_said="好"
            )
    assert audits("rectification.close_refused", outcome="denied") == 2


def test_bad_callbacks_are_refused(completed: Case, citizen: User, approver: User) -> None:
    rectification = rate_bad(completed, citizen).rectification
    cases = [
        (None, "phone", "好", "callback_time_required"),
        (timezone.now() + dt.timedelta(days=1), "phone", "好", "callback_in_future"),
        (timezone.now() - dt.timedelta(days=30), "phone", "好", "callback_before_rating"),
        (timezone.now(), "fax", "好", "callback_method_invalid"),
        (timezone.now(), "phone", " ", "callback_content_required"),
    ]
    for at, method, said, code in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.callback_record(
                rectification=rectification, by=approver, at=at, method=method, applicant_said=said
            )
        assert exc.value.code == code
    assert not Callback.objects.exists()


# --- appeals ----------------------------------------------------------------------------------


def test_only_the_handling_department_may_appeal(
    completed: Case, citizen: User, other_staff: User, city_supervisor: User
) -> None:
    review = rate_bad(completed, citizen)
    for who in (other_staff, city_supervisor):
        with pytest.raises(PermissionDenied) as exc:
            services.appeal_file(review=review, by=who, ground="malicious", reason="恶意差评")
        assert exc.value.code == "not_handling_department"
    assert not review.appeals.exists()
    assert audits("appeal.file_refused", outcome="denied") == 2


def test_an_upheld_appeal_annuls_the_rating_and_cancels_the_rectification(
    completed: Case, citizen: User, approver: User, city_supervisor: User
) -> None:
    review = rate_bad(completed, citizen)
    appeal = services.appeal_file(
        review=review, by=approver, ground="mistaken", reason="评价对象错误，非本部门办理"
    )
    with pytest.raises(Conflict) as twice:
        services.appeal_file(review=review, by=approver, ground="mistaken", reason="再次申诉")
    assert twice.value.code == "appeal_exists"
    with pytest.raises(ValidationFailed):
        services.appeal_decide(appeal=appeal, by=city_supervisor, uphold=True, note="")
    decided = services.appeal_decide(appeal=appeal, by=city_supervisor, uphold=True, note="经核实属误评")
    assert decided.status == AppealStatus.UPHELD
    review.refresh_from_db()
    assert review.status == ReviewStatus.ANNULLED
    assert Rectification.objects.get(review=review).status == RectificationStatus.CANCELLED
    assert Message.objects.filter(recipient=approver, topic="reviews.appeal_decided").exists()
    assert audits("review.annulled") == 1
    assert audits("appeal.upheld") == 1
    with pytest.raises(Conflict) as again:
        services.appeal_decide(appeal=appeal, by=city_supervisor, uphold=False, note="改判")
    assert again.value.code == "appeal_decided"


def test_a_new_appeal_is_sent_to_the_supervisors_who_may_decide_it(
    completed: Case, citizen: User, approver: User, city_supervisor: User, county_supervisor: User
) -> None:
    review = rate_bad(completed, citizen)
    appeal = services.appeal_file(review=review, by=approver, ground="malicious", reason="恶意差评")
    told = Message.objects.filter(topic="reviews.appeal_filed")
    assert list(told.values_list("recipient", flat=True)) == [city_supervisor.pk]  # not the county's
    message = told.get()
    assert message.link == f"/reviews/staff/appeals/{appeal.pk}/"
    assert "恶意差评" in message.body


def test_a_rejected_appeal_changes_nothing(
    completed: Case, citizen: User, approver: User, city_supervisor: User
) -> None:
    review = rate_bad(completed, citizen)
    appeal = services.appeal_file(review=review, by=approver, ground="malicious", reason="恶意差评")
    services.appeal_decide(appeal=appeal, by=city_supervisor, uphold=False, note="评价属实")
    review.refresh_from_db()
    assert review.status == ReviewStatus.VALID
    assert review.rectification.status == RectificationStatus.OPEN


def test_appeals_are_decided_by_a_supervisor_with_jurisdiction_not_the_filer(
    completed: Case, citizen: User, department: Department, county_supervisor: User, approver: User
) -> None:
    review = rate_bad(completed, citizen)
    filer: Any = StaffFactory(department=department, roles=["supervisor"])
    appeal = services.appeal_file(review=review, by=filer, ground="malicious", reason="恶意差评")
    for who, code in [
        (county_supervisor, "supervisor_required"),
        (approver, "supervisor_required"),
        (filer, "appeal_own"),
    ]:
        with pytest.raises(PermissionDenied) as exc:
            services.appeal_decide(appeal=appeal, by=who, uphold=True, note="同意")
        assert exc.value.code == code
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.PENDING
    assert audits("appeal.decide_refused", outcome="denied") == 3


def test_good_ratings_cannot_be_appealed(completed: Case, citizen: User, approver: User) -> None:
    review = services.review_submit(case_id=completed.pk, by=citizen, level=5)
    with pytest.raises(Conflict) as exc:
        services.appeal_file(review=review, by=approver, ground="mistaken", reason="无")
    assert exc.value.code == "appeal_not_applicable"


# --- on site ----------------------------------------------------------------------------------


def test_on_site_visit_is_rated_once(clerk: User) -> None:
    visit = services.visit_start(by=clerk)
    assert visit.department == clerk.department
    assert len(visit.token) >= 30
    review = services.visit_rate(token=visit.token, level=2, scores={"attitude": 1}, comment="态度差")
    assert review.channel == "onsite"
    assert review.rater is None
    assert review.visit == visit
    assert Rectification.objects.get(review=review).department == clerk.department
    with pytest.raises(Conflict) as exc:
        services.visit_rate(token=visit.token, level=5)
    assert exc.value.code == "review_exists"
    with pytest.raises(ValidationFailed):
        services.visit_rate(token=services.visit_start(by=clerk).token, level=5, scores={"usability": 5})
    assert audits("visit.started") == 2


def test_on_site_visit_about_a_case_rates_its_department(
    completed: Case, clerk: User, department: Department
) -> None:
    visit = services.visit_start(by=clerk, case_number=completed.number or "")
    assert visit.case == completed
    assert visit.department == department
    review = services.visit_rate(token=visit.token, level=5)
    assert review.department == department
    assert review.case == completed


def test_visits_expire_and_need_a_clerk(clerk: User, approver: User, county_supervisor: User) -> None:
    visit = services.visit_start(by=clerk, now=timezone.now() - dt.timedelta(hours=1))
    with pytest.raises(Conflict) as exc:
        services.visit_rate(token=visit.token, level=5)
    assert exc.value.code == "visit_expired"
    with pytest.raises(PermissionDenied):
        services.visit_start(by=approver)
    with pytest.raises(NotFound):
        services.visit_rate(token="nope", level=5)
    county_clerk: Any = StaffFactory(department=county_supervisor.department, roles=["window_clerk"])
    with pytest.raises(NotFound):  # a case outside the clerk's jurisdiction
        services.visit_start(by=county_clerk, case_number="NOSUCH")


# --- invitations ------------------------------------------------------------------------------


def test_invitations_go_once_per_newly_concluded_case(
    completed: Case, citizen: User, item: ServiceItem
) -> None:
    open_case = submitted_case(item, citizen)
    assert services.invitations_send() == 1
    assert services.invitations_send() == 0  # idempotent
    assert Invitation.objects.filter(case=completed).count() == 1
    assert not Invitation.objects.filter(case=open_case).exists()
    message = Message.objects.get(recipient=citizen, topic="reviews.invitation")
    assert message.link == f"/reviews/case/{completed.pk}/"
    assert audits("reviews.invitations_sent") == 1


def test_old_and_rated_cases_are_not_invited(completed: Case, citizen: User) -> None:
    services.review_submit(case_id=completed.pk, by=citizen, level=5)
    assert services.invitations_send() == 0
    Case.objects.filter(pk=completed.pk).update(completed_at=timezone.now() - dt.timedelta(days=30))
    Review.objects.all().delete()
    assert services.invitations_send() == 0


def test_the_database_refuses_a_second_online_rating_of_a_case(completed: Case, citizen: User) -> None:
    """The partial unique constraint, which catches two concurrent first ratings."""
    services.review_submit(case_id=completed.pk, by=citizen, level=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            case=completed, department=completed.department, channel="online", level=1, rater=citizen
        )


def test_a_refused_case_can_be_rated(item: ServiceItem, citizen: User, clerk: User, approver: User) -> None:
    case = case_services.case_accept(case=submitted_case(item, citizen), by=clerk)
    case_services.task_decide(
        task=CaseTask.objects.get(case=case), outcome="refuse", opinion="不符合条件", by=approver
    )
    case.refresh_from_db()
    assert case.status == "refused"
    review = rate_bad(case, citizen)
    assert review.rectification.department_id == case.department_id
