"""The review pages and API over HTTP: the rating page, the tablet, staff pages and their scoping
(another department's or citizen's object is refused on every id-taking page and endpoint), the
case page's link, the workbench tile and the public statistics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongban.cases.models import Case
from tongban.cases.tests.factories import submitted_case
from tongban.core.models import AuditEvent
from tongban.identity.models import User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory
from tongban.reviews import services
from tongban.reviews.choices import RectificationStatus
from tongban.reviews.models import Appeal, Rectification, Review, Visit
from tongban.reviews.tests.conftest import client_for

pytestmark = pytest.mark.django_db

BAD_POST = {"level": "1", "score_overall": "1", "score_efficiency": "2", "comment": "材料被退回三次"}


def bad_review(case: Case, citizen: User) -> Review:
    return services.review_submit(case_id=case.pk, by=citizen, level=2, comment="等太久")


# --- the citizen --------------------------------------------------------------------------------


def test_citizen_rates_badly_and_the_department_gets_the_task(
    completed: Case, citizen: User, approver: User
) -> None:
    page = client_for(citizen).get(f"/my/cases/{completed.pk}/")
    assert f"/reviews/case/{completed.pk}/" in page.content.decode()
    assert "去评价" in page.content.decode()
    client = client_for(citizen)
    form = client.get(reverse("reviews:case", args=[completed.pk]))
    assert form.status_code == 200
    assert "非常不满意" in form.content.decode()
    response = client.post(reverse("reviews:case", args=[completed.pk]), BAD_POST)
    assert response.status_code == 302
    review = Review.objects.get(case=completed)
    assert review.level == 1
    assert review.scores == {"overall": 1, "efficiency": 2}
    rectification = Rectification.objects.get(review=review)
    staff = client_for(approver)
    listing = staff.get(reverse("reviews:rectifications"))
    assert reverse("reviews:rectification", args=[rectification.pk]) in listing.content.decode()
    detail = staff.get(reverse("reviews:rectification", args=[rectification.pk]))
    assert detail.status_code == 200
    assert "材料被退回三次" in detail.content.decode()
    viewed = AuditEvent.objects.get(action="rectification.viewed")  # a sensitive read
    assert (viewed.actor_id, viewed.subject_id) == (approver.pk, str(rectification.pk))
    tile = staff.get(reverse("portal:workbench"))
    assert reverse("reviews:rectifications") in tile.content.decode()


def test_rating_page_refusals(completed: Case, citizen: User, stranger: User, approver: User) -> None:
    url = reverse("reviews:case", args=[completed.pk])
    assert client_for(stranger).get(url).status_code == 404
    assert client_for(stranger).post(url, BAD_POST).status_code == 404
    assert client_for(approver).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # log in first
    client = client_for(citizen)
    missing_comment = client.post(url, {"level": "1"})
    assert missing_comment.status_code == 400
    assert "请说明" in missing_comment.content.decode()
    assert client.post(url, {"level": "5"}).status_code == 302
    twice = client.post(url, {"level": "4"})
    assert twice.status_code in (200, 409)
    assert Review.objects.count() == 1


def test_re_rating_through_the_page(completed: Case, citizen: User, approver: User) -> None:
    review = bad_review(completed, citizen)
    client = client_for(citizen)
    url = reverse("reviews:re_rate", args=[completed.pk])
    assert client.post(url, {"again-level": "5"}).status_code == 409  # not closed yet
    services.rectification_close(rectification=review.rectification, by=approver, result="已整改")
    page = client.get(reverse("reviews:case", args=[completed.pk]))
    assert "已整改" in page.content.decode()
    assert client.post(url, {"again-level": "5"}).status_code == 302
    assert Review.objects.filter(re_rating_of=review, level=5).exists()


# --- the tablet ---------------------------------------------------------------------------------


def test_tablet_visit(clerk: User) -> None:
    staff = client_for(clerk)
    assert staff.get(reverse("reviews:visit_start")).status_code == 200
    started = staff.post(reverse("reviews:visit_start"), {"case_number": ""})
    assert started.status_code == 302
    visit = Visit.objects.get()
    assert started["Location"] == reverse("reviews:visit", args=[visit.token])
    tablet = Client()
    page = tablet.get(started["Location"])
    assert page.status_code == 200
    assert "态度" in page.content.decode()
    done = tablet.post(started["Location"], {"level": "5", "score_attitude": "5"})
    assert done.status_code == 200
    assert "谢谢" in done.content.decode()
    assert tablet.post(started["Location"], {"level": "1", "comment": "x"}).status_code == 200
    assert Review.objects.get().level == 5
    assert Client().get(reverse("reviews:visit", args=["bogus"])).status_code == 404


def test_visit_start_refusals(clerk: User, approver: User) -> None:
    assert client_for(approver).get(reverse("reviews:visit_start")).status_code == 403
    response = client_for(clerk).post(reverse("reviews:visit_start"), {"case_number": "NOPE"})
    assert response.status_code == 404
    assert not Visit.objects.exists()


# --- staff pages: scoping -----------------------------------------------------------------------


def test_staff_pages_refuse_other_departments(
    completed: Case,
    citizen: User,
    approver: User,
    other_staff: User,
    county_supervisor: User,
    city_supervisor: User,
) -> None:
    review = bad_review(completed, citizen)
    rectification = review.rectification
    appeal = services.appeal_file(review=review, by=approver, ground="malicious", reason="恶意")
    pages = [
        ("get", reverse("reviews:rectification", args=[rectification.pk]), {}),
        (
            "post",
            reverse("reviews:callback", args=[rectification.pk]),
            {"method": "phone", "applicant_said": "好"},
        ),
        ("post", reverse("reviews:close", args=[rectification.pk]), {"result": "已整改"}),
        ("get", reverse("reviews:appeal", args=[appeal.pk]), {}),
    ]
    for who in (other_staff, county_supervisor):
        client = client_for(who)
        for method, url, data in pages:
            assert getattr(client, method)(url, data).status_code == 404, (who, url)
        assert client.post(
            reverse("reviews:appeal_decide", args=[appeal.pk]), {"decision": "uphold", "note": "x"}
        ).status_code in (403, 404)
    # The city supervisor sees them, but does not work the department's rectification.
    sup = client_for(city_supervisor)
    assert sup.get(reverse("reviews:rectification", args=[rectification.pk])).status_code == 200
    assert (
        sup.post(reverse("reviews:close", args=[rectification.pk]), {"result": "已整改"}).status_code == 403
    )
    rectification.refresh_from_db()
    assert rectification.status == RectificationStatus.OPEN
    citizen_client = client_for(citizen)
    assert citizen_client.get(reverse("reviews:rectifications")).status_code == 403


def test_appeal_page_is_403_for_anyone_but_the_department(
    completed: Case, citizen: User, approver: User, other_staff: User, city_supervisor: User
) -> None:
    review = bad_review(completed, citizen)
    url = reverse("reviews:appeal_file", args=[review.pk])
    for who in (other_staff, city_supervisor):
        assert client_for(who).get(url).status_code == 403
        assert client_for(who).post(url, {"ground": "malicious", "reason": "恶意"}).status_code == 403
    assert not Appeal.objects.exists()
    assert AuditEvent.objects.filter(action="appeal.file_refused", outcome="denied").count() == 2
    assert client_for(approver).post(url, {"ground": "malicious", "reason": ""}).status_code == 400
    ok = client_for(approver).post(url, {"ground": "malicious", "reason": "恶意差评，多次骚扰"})
    assert ok.status_code == 302
    appeal = Appeal.objects.get()
    decide = client_for(city_supervisor).post(
        reverse("reviews:appeal_decide", args=[appeal.pk]), {"decision": "uphold", "note": "属实"}
    )
    assert decide.status_code == 302
    review.refresh_from_db()
    assert review.status == "annulled"


def test_close_without_a_result_is_refused_on_the_page(
    completed: Case, citizen: User, approver: User
) -> None:
    rectification = bad_review(completed, citizen).rectification
    client = client_for(approver)
    response = client.post(reverse("reviews:close", args=[rectification.pk]), {"result": ""})
    assert response.status_code == 400
    assert "整改结果" in response.content.decode()
    callback = client.post(
        reverse("reviews:callback", args=[rectification.pk]),
        {
            "at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "method": "phone",
            "applicant_said": "表示理解",
        },
    )
    assert callback.status_code == 302
    assert (
        client.post(reverse("reviews:close", args=[rectification.pk]), {"result": "已整改"}).status_code
        == 302
    )
    rectification.refresh_from_db()
    assert rectification.status == RectificationStatus.CLOSED


def test_policies_page(admin_user: User, approver: User) -> None:
    assert client_for(approver).get(reverse("reviews:policies")).status_code == 403
    client = client_for(admin_user)
    assert (
        client.post(reverse("reviews:policies"), {"division_prefix": "3401", "working_days": "5"}).status_code
        == 403
    )
    assert (
        client.post(
            reverse("reviews:policies"), {"division_prefix": "3415", "working_days": "99"}
        ).status_code
        == 400
    )
    assert (
        client.post(reverse("reviews:policies"), {"division_prefix": "3415", "working_days": "7"}).status_code
        == 302
    )
    assert "3415" in client.get(reverse("reviews:policies")).content.decode()


# --- API ----------------------------------------------------------------------------------------


def post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_api_rating_and_its_refusals(
    completed: Case, citizen: User, stranger: User, item: Any, approver: User
) -> None:
    url = f"/api/v1/me/cases/{completed.pk}/review"
    assert post_json(Client(), url, {"level": 5}).status_code == 401
    other = post_json(client_for(stranger), url, {"level": 5})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "case_not_found"
    assert post_json(client_for(approver), url, {"level": 5}).status_code == 404
    bad = post_json(client_for(citizen), url, {"level": 9})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "level_invalid"
    created = post_json(client_for(citizen), url, {"level": 1, "scores": {"overall": 1}, "comment": "差"})
    assert created.status_code == 201
    body = created.json()
    assert body["level"] == 1
    assert body["rectification"]["status"] == "open"
    twice = post_json(client_for(citizen), url, {"level": 5})
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "review_exists"
    assert client_for(citizen).get(url).json()["id"] == body["id"]
    assert client_for(stranger).get(url).status_code == 404


def test_api_not_concluded(item: Any, citizen: User) -> None:
    case = submitted_case(item, citizen)
    response = post_json(client_for(citizen), f"/api/v1/me/cases/{case.pk}/review", {"level": 5})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "case_not_concluded"


def test_api_staff_endpoints_refuse_others(
    completed: Case, citizen: User, approver: User, other_staff: User
) -> None:
    review = bad_review(completed, citizen)
    rect = review.rectification
    appeal = post_json(
        client_for(other_staff), f"/api/v1/reviews/{review.pk}/appeal", {"ground": "malicious", "reason": "x"}
    )
    assert appeal.status_code == 403
    assert appeal.json()["error"]["code"] == "not_handling_department"
    assert (
        post_json(
            client_for(citizen), f"/api/v1/reviews/{review.pk}/appeal", {"ground": "malicious", "reason": "x"}
        ).status_code
        == 403
    )
    close = post_json(
        client_for(other_staff), f"/api/v1/rectifications/{rect.pk}/close", {"result": "已整改"}
    )
    assert close.status_code == 404
    cb = {"at": timezone.now().isoformat(), "method": "phone", "applicant_said": "好"}
    assert (
        post_json(client_for(other_staff), f"/api/v1/rectifications/{rect.pk}/callbacks", cb).status_code
        == 404
    )
    assert (
        post_json(client_for(approver), f"/api/v1/rectifications/{rect.pk}/callbacks", cb).status_code == 201
    )
    empty = post_json(client_for(approver), f"/api/v1/rectifications/{rect.pk}/close", {"result": " "})
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "result_required"
    assert (
        post_json(
            client_for(approver), f"/api/v1/rectifications/{rect.pk}/close", {"result": "已整改"}
        ).status_code
        == 200
    )
    filed = post_json(
        client_for(approver), f"/api/v1/reviews/{review.pk}/appeal", {"ground": "malicious", "reason": "恶意"}
    )
    assert filed.status_code == 201


# --- public statistics --------------------------------------------------------------------------


def test_public_stats_show_figures_without_personal_data(
    completed: Case, citizen: User, department: Any
) -> None:
    services.review_submit(case_id=completed.pk, by=citizen, level=1, comment="秘密的评价内容")
    page = Client().get(reverse("reviews:stats"))
    html = page.content.decode()
    assert page.status_code == 200
    assert department.name in html
    assert "秘密的评价内容" not in html
    assert citizen.name not in html
    api = Client().get("/api/v1/reviews/stats").json()
    row = next(d for d in api["departments"] if d["department_id"] == department.pk)
    assert row["count"] == 1
    assert row["bad"] == 1
    assert row["levels"]["1"] == 1
    assert Client().get(reverse("reviews:stats"), {"start": "bad"}).status_code == 200


def test_re_rate_and_policy_delete_refuse_others(
    completed: Case, citizen: User, stranger: User, admin_user: User, approver: User
) -> None:
    review = bad_review(completed, citizen)
    services.rectification_close(rectification=review.rectification, by=approver, result="已整改")
    url = reverse("reviews:re_rate", args=[completed.pk])
    assert client_for(stranger).post(url, {"again-level": "5"}).status_code == 404
    assert client_for(approver).post(url, {"again-level": "5"}).status_code == 404
    assert not Review.objects.filter(re_rating_of=review).exists()
    other_city: Any = DepartmentFactory(
        name="合肥市数据资源局", code="hf-sjj", level="city", division_code="340100"
    )
    other_admin: Any = StaffFactory(department=other_city, roles=["administrator"])
    theirs = services.policy_save(by=other_admin, division_prefix="3401", working_days=5)
    delete = reverse("reviews:policy_delete", args=[theirs.pk])
    assert client_for(admin_user).post(delete).status_code == 404
    assert client_for(other_admin).post(delete).status_code == 302
    assert not type(theirs).objects.filter(pk=theirs.pk).exists()
    assert AuditEvent.objects.filter(action="reviews.policy_deleted").count() == 1
