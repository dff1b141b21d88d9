"""The demo city's reviews data (called by portal's seed_demo after the cases demo and the history).

- The city's rectification time limit (3415: 15 working days) and a shorter one for 金安区 (10).
- The history's concluded cases (``history:`` keys) rated in bulk, as an import of the old 好差评
  system would be: about two in five, mostly good, some bad; the bad ones have rectifications,
  closed (mostly on time, some late, with a callback) when their time is past, open when recent.
  One audit row says what was imported.
- On-site visits at the window of the city's service centre, made through the services (audited):
  good and bad ratings, one bad rating rectified with a callback, one open, one with an appeal
  awaiting the supervisor, one whose appeal was upheld.
- The demo citizens' own concluded cases (``demo:`` keys) are left unrated, so that one can log in
  as 李娜 or 王建国 and rate them (a bad rating reaches approver.gaj's workbench).

Idempotent: nothing is done when the demo's visits exist.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from tongban.cases.models import Case
from tongban.core import audit
from tongban.core.calendar import deadline_after
from tongban.identity.models import User
from tongban.reviews import selectors, services
from tongban.reviews.choices import ONLINE_INDICATORS, RectificationStatus, ReviewChannel
from tongban.reviews.models import Callback, Rectification, RectificationPolicy, Review, Visit

SEED = 20261207
DEMO_TOKEN_PREFIX = "demo-"  # noqa: S105 - marks the demo's visits, not a secret
SHARE_RATED = 0.4
MAX_HISTORY = 4000
LEVEL_WEIGHTS = ((5, 55), (4, 22), (3, 11), (2, 7), (1, 5))
BAD_COMMENTS = (
    "材料要求前后不一致，跑了两趟。",
    "办理时间比承诺的长，也没有人告知进度。",
    "网上填报页面经常卡住，提交失败。",
    "窗口工作人员解释不清楚。",
)
GOOD_COMMENTS = ("办理很快，工作人员耐心。", "网上就办好了，不用跑腿。", "", "", "")
RESULTS = (
    "已对承办人员进行业务培训，统一材料清单口径，并电话向办事人致歉说明。",
    "已优化审批流程，压缩内部流转时间，并在办件系统中增加进度提醒。",
)
ONSITE: tuple[tuple[int, dict[str, int], str], ...] = (
    (5, {"overall": 5, "efficiency": 5, "service_level": 5, "attitude": 5}, "一次就办好了"),
    (5, {"overall": 5, "attitude": 5}, ""),
    (4, {"overall": 4, "efficiency": 4}, ""),
    (3, {}, "排队时间有点长"),
    (1, {"overall": 1, "attitude": 1}, "工作人员态度生硬，问了三遍才回答。"),
    (2, {"efficiency": 1}, "叫号系统故障，等了一个多小时。"),
    (1, {"overall": 1}, "说我材料不全，其实是窗口弄错了事项。"),
    (2, {"overall": 2}, "窗口中午提前停止取号。"),
)


def _pick_level(rng: random.Random) -> int:
    total = sum(w for _l, w in LEVEL_WEIGHTS)
    point = rng.uniform(0, total)
    for level, weight in LEVEL_WEIGHTS:
        point -= weight
        if point <= 0:
            return level
    return 5


def _scores(rng: random.Random, level: int) -> dict[str, int]:
    return {key: max(1, min(5, level + rng.choice((-1, 0, 0, 1)))) for key, _label in ONLINE_INDICATORS}


def _history(now: dt.datetime) -> dict[str, int]:
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    cases = list(
        Case.objects.filter(
            idempotency_key__startswith="history:",
            status__in=selectors.RATEABLE_STATUSES,
            completed_at__isnull=False,
        )
        .exclude(pk__in=Review.objects.filter(channel=ReviewChannel.ONLINE).values("case_id"))
        .select_related("department")
        .order_by("pk")
        .only("pk", "department", "item_id", "applicant_id", "completed_at")[: int(MAX_HISTORY / SHARE_RATED)]
    )
    chosen = [c for c in cases if rng.random() < SHARE_RATED]
    days_of: dict[int, int] = {}
    reviews: list[Review] = []
    for case in chosen:
        if case.completed_at is None:
            continue
        level = _pick_level(rng)
        at = min(case.completed_at + dt.timedelta(hours=rng.randint(2, 72)), now - dt.timedelta(hours=1))
        reviews.append(
            Review(
                case=case,
                department_id=case.department_id,
                item_id=case.item_id,
                channel=ReviewChannel.ONLINE,
                level=level,
                scores=_scores(rng, level),
                comment=rng.choice(BAD_COMMENTS) if level <= 2 else rng.choice(GOOD_COMMENTS),
                rater_id=case.applicant_id,
                created_at=at,
            )
        )
    Review.objects.bulk_create(reviews, batch_size=1000)
    bad = list(
        Review.objects.filter(case__in=[c.pk for c in chosen], level__lte=2).select_related("department")
    )
    rectifications: list[Rectification] = []
    for review in bad:
        department = review.department
        if department.pk not in days_of:
            days_of[department.pk] = selectors.rectification_days(department)
        days = days_of[department.pk]
        due = deadline_after(review.created_at, days)
        rectification = Rectification(
            review=review,
            department=department,
            opened_at=review.created_at,
            due_at=due,
            working_days=days,
        )
        if due < now:  # its time is past: it was dealt with, a few of them late
            late = rng.random() < 0.15
            closed = (
                due + dt.timedelta(days=rng.randint(1, 6))
                if late
                else due - dt.timedelta(days=rng.randint(1, 5))
            )
            rectification.status = RectificationStatus.CLOSED
            rectification.closed_at = max(min(closed, now), review.created_at + dt.timedelta(hours=4))
            rectification.result = rng.choice(RESULTS)
        rectifications.append(rectification)
    Rectification.objects.bulk_create(rectifications, batch_size=1000)
    staff_of = dict(
        User.objects.filter(kind="staff", department_id__in={r.department_id for r in rectifications})
        .order_by("department_id", "-pk")
        .values_list("department_id", "pk")
    )
    with_staff = [
        Callback(
            rectification=r,
            at=(r.closed_at or now) - dt.timedelta(hours=2),
            method="phone",
            applicant_said="已接到回访电话，对整改情况表示认可。",
            recorded_by_id=staff_of[r.department_id],
        )
        for r in Rectification.objects.filter(review__in=bad, status=RectificationStatus.CLOSED)
        if r.department_id in staff_of
    ]
    Callback.objects.bulk_create(with_staff, batch_size=1000)
    if reviews:
        audit.record(
            action="reviews.history_imported",
            summary=f"{len(reviews)} historical ratings",
            data={"reviews": len(reviews), "rectifications": len(rectifications)},
        )
    return {"history_reviews": len(reviews), "history_rectifications": len(rectifications)}


def _onsite(now: dt.datetime) -> dict[str, int]:
    clerk = User.objects.filter(username="clerk", is_active=True).first()
    supervisor = User.objects.filter(username="supervisor", is_active=True).first()
    if clerk is None:
        return {"visits": 0}
    made: list[Review] = []
    for index, (level, scores, comment) in enumerate(ONSITE):
        moment = now - dt.timedelta(days=len(ONSITE) - index, hours=3)
        visit = services.visit_start(by=clerk, now=moment)
        Visit.objects.filter(pk=visit.pk).update(
            token=f"{DEMO_TOKEN_PREFIX}{visit.token}"[:64], created_at=moment
        )
        visit.refresh_from_db()
        made.append(
            services.visit_rate(
                token=visit.token,
                level=level,
                scores=scores,
                comment=comment,
                now=moment + dt.timedelta(minutes=3),
            )
        )
    bad = [r for r in made if r.level <= 2]
    first, second, third, fourth = (Rectification.objects.get(review=r) for r in bad[:4])
    services.callback_record(
        rectification=first,
        by=clerk,
        at=now - dt.timedelta(days=1),
        method="phone",
        applicant_said="接受道歉，希望窗口加强服务意识。",
    )
    services.rectification_close(
        rectification=first, by=clerk, result="已对当班窗口人员进行服务规范培训，并纳入月度考核。"
    )
    # ``second`` stays open (the department's task). ``third`` is appealed, awaiting the supervisor;
    # ``fourth``'s appeal was upheld.
    services.appeal_file(
        review=third.review, by=clerk, ground="mistaken", reason="办事人所办事项不属于本窗口，评价对象错误。"
    )
    upheld = services.appeal_file(
        review=fourth.review, by=clerk, ground="malicious", reason="该时段取号正常，监控可查，属恶意差评。"
    )
    if supervisor is not None:
        services.appeal_decide(appeal=upheld, by=supervisor, uphold=True, note="经调取监控核实，申诉成立。")
    return {"visits": len(made), "open": int(second.status == RectificationStatus.OPEN)}


def load() -> dict[str, Any]:
    if Visit.objects.filter(token__startswith=DEMO_TOKEN_PREFIX).exists():
        return {"changed": False}
    now = timezone.now()
    for prefix, days, note in (
        ("3415", 15, "六安市：差评在15个工作日内整改"),
        ("341502", 10, "金安区：10个工作日"),
    ):
        RectificationPolicy.objects.get_or_create(
            division_prefix=prefix, defaults={"working_days": days, "note": note}
        )
    result: dict[str, Any] = {"changed": True}
    result.update(_history(now))
    result.update(_onsite(now))
    return result
