"""Demo cases of the demo city: applications in every state, made through the case services.

The demo citizens (张伟, 李娜, 王建国) and the demo enterprise (六安市云雾山茶业有限公司, with 李娜 as
its agent) have applied for items of several departments over the last weeks; the window clerk and
the approvers of public security (approver.gaj) and market regulation (approver.scjgj) find work in
their queues. Every case goes through the services (``case_apply``, ``case_accept``, ``task_decide``,
``case_deliver``…), so the demo has the same timeline, audit trail and notifications as real use;
the materials are small real PDF files made with reportlab.

Dates: each step runs with the services' clock (``services.timezone``) set to the step's moment in
the past, so everything the engine derives from the time (the case number's date, the promised
completion and stage deadlines in working days, suspension days) is the engine's own computation.
Rows the database layer stamps itself (``auto_now_add``: events, uploads, notices, creation) are
re-dated to the step afterwards. Some cases are overdue. The audit trail keeps the real seeding time.

Idempotent: each demo case carries the idempotency key ``demo:<key>`` and is made only when no case
with that key exists; what exists is left as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from unittest import mock

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from tongban.cases import services
from tongban.cases.choices import Channel, TaskStatus
from tongban.cases.models import Case, CaseCorrection, CaseEvent, CaseMaterial, CaseTask
from tongban.catalog import services as catalog_services
from tongban.catalog.choices import MaterialSource
from tongban.catalog.demo import implementation_code
from tongban.catalog.demo_data import ITEMS
from tongban.catalog.models import Material, ServiceItem
from tongban.core.calendar import add_working_days, is_working_day
from tongban.core.errors import ValidationFailed
from tongban.identity import services as identity_services
from tongban.identity.choices import AccountKind, Role
from tongban.identity.demo import CITIZENS, ENTERPRISES, DemoAccount
from tongban.identity.models import Department, User

KEY_PREFIX = "demo:"
CLERK = "clerk"
ADMINISTRATOR = "admin"
# Approvers by department code: the identity demo's two, and the two this demo adds for the
# parallel stage of 不动产转移登记 (registration centre and tax office review side by side).
APPROVERS = {
    "luan-gaj": "approver.gaj",
    "luan-scjgj": "approver.scjgj",
    "luan-bdc": "approver.bdc",
    "luan-swj": "approver.swj",
}
EXTRA_APPROVERS: tuple[tuple[str, str, str], ...] = (
    ("approver.bdc", "郑丽", "luan-bdc"),
    ("approver.swj", "何伟", "luan-swj"),
)
# 容缺受理: this material of 食品经营许可 may follow later (a new version of the item says so).
DEFERRABLE = ("食品经营许可", "食品安全自查、从业人员健康管理等食品安全管理制度目录")


@dataclass(frozen=True)
class Step:
    """One action on a case, ``days`` working days after the previous one (0: the same day, later)."""

    action: str  # return, resubmit, accept, not_accept, opinion, suspend, resume, deliver, withdraw
    days: int = 1
    by: str = CLERK  # a username, or "applicant"
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseSpec:
    key: str
    applicant: str  # a citizen's key, or an enterprise's key (identity.demo)
    item: str  # the item's name (catalog.demo_data)
    days_ago: int  # calendar days between submission (or the draft) and now
    steps: tuple[Step, ...] = ()
    agent: str | None = None  # a citizen's key: the enterprise's agent who applies for it
    walk_in: bool = False  # filed at the window by the clerk, who may leave materials missing
    omit: tuple[str, ...] = ()  # applicant materials not provided
    draft: bool = False


def _approve(department: str, opinion: str, days: int = 2) -> Step:
    return Step("opinion", days, APPROVERS[department], {"outcome": "approve", "opinion": opinion})


CASES: tuple[CaseSpec, ...] = (
    CaseSpec(
        "hk-pass-draft",
        "zhangwei",
        "往来港澳通行证及签注签发",
        2,
        draft=True,
        omit=("中国公民出入境证件申请表",),
    ),
    CaseSpec("passport-submitted", "lina", "普通护照签发", 1),
    CaseSpec("food-submitted", "yunwushan-tea", "食品经营许可", 2),
    CaseSpec("unemployment-submitted", "wangjianguo", "失业保险金申领", 0),
    CaseSpec(
        "getihu-correction",
        "wangjianguo",
        "个体工商户设立登记",
        6,
        steps=(
            Step(
                "return",
                1,
                args={
                    "items": [
                        {
                            "target": "经营场所使用相关文件",
                            "instruction": "租赁合同缺出租方签字，请上传双方签字后的完整扫描件。",
                        },
                        {
                            "target": "个体工商户登记（备案）申请书",
                            "instruction": "经营范围请按《经营范围登记规范表述目录》的条目填写。",
                        },
                    ]
                },
            ),
        ),
    ),
    CaseSpec(
        "idcard-review-overdue",
        "zhangwei",
        "居民身份证换领",
        40,
        steps=(Step("accept", 1, args={"note": "材料齐全，予以受理。"}),),
    ),
    CaseSpec("hukou-review", "wangjianguo", "户口迁移（市内迁移）", 3, steps=(Step("accept", 1),)),
    CaseSpec(
        "property-transfer-parallel",
        "lina",
        "不动产转移登记（国有建设用地使用权及房屋所有权）",
        6,
        steps=(Step("accept", 1), _approve("luan-bdc", "权属清晰，登记材料齐全，同意。", 1)),
    ),
    CaseSpec(
        "food-deferred",
        "yunwushan-tea",
        "食品经营许可",
        5,
        walk_in=True,
        omit=(DEFERRABLE[1],),
        steps=(Step("accept", 0, args={"deferred": [DEFERRABLE[1]], "note": "管理制度目录容缺后补。"}),),
    ),
    CaseSpec(
        "company-change-review",
        "yunwushan-tea",
        "有限责任公司变更登记",
        3,
        agent="lina",
        steps=(Step("accept", 1),),
    ),
    CaseSpec(
        "hukou-suspended",
        "zhangwei",
        "户口迁移（市内迁移）",
        12,
        steps=(
            Step("accept", 1),
            Step(
                "suspend",
                2,
                APPROVERS["luan-gaj"],
                {"kind": "on_site", "reason": "需到迁入地址现场核实合法稳定住所的实际居住情况。"},
            ),
        ),
    ),
    CaseSpec(
        "getihu-result-ready",
        "lina",
        "个体工商户设立登记",
        8,
        steps=(Step("accept", 1), _approve("luan-scjgj", "符合登记条件，准予登记。", 1)),
    ),
    CaseSpec(
        "idcard-reissue-pickup",
        "lina",
        "居民身份证补领",
        30,
        steps=(
            Step("accept", 0),
            _approve("luan-gaj", "身份信息核验一致，准予补领。", 12),
            Step("deliver", 3, args={"method": "pickup", "note": "本人持回执领取"}),
        ),
    ),
    CaseSpec(
        "boiler-registration-post",
        "yunwushan-tea",
        "特种设备使用登记",
        20,
        steps=(
            Step("accept", 1),
            _approve("luan-scjgj", "设备检验合格，准予使用登记。", 3),
            Step("deliver", 1, args={"method": "post", "note": "EMS 1178224566310"}),
        ),
    ),
    CaseSpec(
        "licence-renewal-refused",
        "wangjianguo",
        "机动车驾驶证有效期满换证",
        15,
        steps=(
            Step("accept", 1),
            Step(
                "opinion",
                1,
                APPROVERS["luan-gaj"],
                {
                    "outcome": "refuse",
                    "opinion": "身体条件证明显示矫正视力未达到机动车驾驶证申领条件，不予换证。",
                },
            ),
        ),
    ),
    CaseSpec(
        "association-not-accepted",
        "lina",
        "社会团体成立登记",
        10,
        steps=(
            Step(
                "not_accept",
                1,
                args={
                    "reason": "同一行政区域内已有业务范围相同的社会团体，依《社会团体登记管理条例》不予受理。"
                },
            ),
        ),
    ),
    CaseSpec(
        "social-card-withdrawn",
        "wangjianguo",
        "社会保障卡补领、换领",
        9,
        steps=(Step("withdraw", 1, "applicant", {"reason": "已在银行网点办理。"}),),
    ),
)


@dataclass
class CasesSeedResult:
    cases_created: int = 0
    cases_existing: int = 0
    accounts_created: int = 0
    accounts: list[DemoAccount] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.cases_created or self.accounts_created)


# --- materials and answers -------------------------------------------------------------------


@cache
def _pdf(title: str) -> bytes:
    """A one-page PDF naming the material (reportlab's built-in Chinese CID font; no font files)."""
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    page.setTitle(title)
    page.setFont("STSong-Light", 16)
    page.drawString(72, 760, title)
    page.setFont("STSong-Light", 10)
    page.drawString(72, 738, "六安市政务服务网演示数据：示例材料，并非真实证明文件。")
    page.showPage()
    page.save()
    return buffer.getvalue()


def _upload(material: Material) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        f"{material.name[:40]}.pdf", _pdf(material.name), content_type="application/pdf"
    )


def _answer(spec: Mapping[str, Any], applicant: User) -> Any:
    """A plausible answer to one form field, so the demo keeps working when items get forms."""
    kind = spec["type"]
    rules = spec.get("validation") or {}
    options = [o["value"] for o in spec.get("options") or []]
    if kind == "choice":
        return options[0] if options else ""
    if kind == "multichoice":
        return options[: max(1, int(rules.get("min_length") or 1))]
    if kind in ("integer", "decimal"):
        return str(rules.get("min_value") or 1)
    if kind == "date":
        return str(rules.get("min_value") or timezone.localdate().isoformat())
    if kind == "boolean":
        return True
    if kind == "phone":
        return applicant.phone
    # An account without the number (an enterprise asked for a person's, a citizen for an
    # organisation's, such as a mortgagee bank's) answers with another demo account's valid one.
    if kind == "resident_id":
        return applicant.resident_id or CITIZENS[0].resident_id
    if kind == "credit_code":
        return applicant.credit_code or ENTERPRISES[0].credit_code
    if kind == "email":
        return "demo@example.cn"
    text = applicant.name if "name" in spec["key"] else f"演示：{spec['label']}"
    return text[: int(rules.get("max_length") or 200)].ljust(int(rules.get("min_length") or 0), "。")


def _answers(schema: list[dict[str, Any]], applicant: User) -> dict[str, Any]:
    return {f["key"]: _answer(f, applicant) for f in schema}


# --- time ------------------------------------------------------------------------------------


class _Clock:
    """Stands in for ``django.utils.timezone`` inside ``cases.services`` while one step runs."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _working_day_at(day: date, hour: int, minute: int) -> datetime:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@contextmanager
def _at(moment: datetime) -> Iterator[None]:
    """Run one step as if at ``moment``; then re-date the rows the database layer stamped."""
    before = {
        model: model.objects.aggregate(last=Max("pk"))["last"] or 0
        for model in (CaseEvent, CaseMaterial, CaseCorrection)
    }
    with mock.patch.object(services, "timezone", _Clock(moment)):
        yield
    CaseEvent.objects.filter(pk__gt=before[CaseEvent]).update(at=moment)
    CaseMaterial.objects.filter(pk__gt=before[CaseMaterial]).update(uploaded_at=moment)
    CaseCorrection.objects.filter(pk__gt=before[CaseCorrection]).update(issued_at=moment)


def _schedule(spec: CaseSpec, now: datetime) -> list[datetime]:
    """The moment of the application and of each step: working days, in order, all in the past."""
    start = _working_day_at(timezone.localdate(now) - timedelta(days=spec.days_ago), 9, 20)
    moments = [min(start, now - timedelta(minutes=5 * (len(spec.steps) + 1)))]
    for index, step in enumerate(spec.steps, start=1):
        day = add_working_days(moments[-1], step.days) if step.days else timezone.localdate(moments[-1])
        moment = _working_day_at(day, 9 + index, 10 * index % 60)
        latest = now - timedelta(minutes=5 * (len(spec.steps) + 1 - index))
        moments.append(max(min(moment, latest), moments[-1] + timedelta(minutes=1)))
    return moments


# --- accounts and items ----------------------------------------------------------------------


def _users(result: CasesSeedResult, password: str) -> dict[str, User]:
    """The demo's applicants and staff by key or username; adds the two extra approvers if missing."""
    departments = {d.code: d for d in Department.objects.filter(code__in=[d for _, _, d in EXTRA_APPROVERS])}
    for username, name, code in EXTRA_APPROVERS:
        if code not in departments:
            raise ValidationFailed(
                f"The demo department {code} does not exist.", code="demo_department_missing"
            )
        if not User.objects.filter(username=username).exists():
            identity_services.staff_create(
                username=username,
                name=name,
                department=departments[code],
                roles=[Role.APPROVER],
                password=password,
                by=None,
            )
            result.accounts_created += 1
        result.accounts.append(
            DemoAccount(
                kind=AccountKind.STAFF,
                role=Role.APPROVER,
                username=username,
                password=password,
                name=name,
                department=departments[code].name,
            )
        )
    users = {
        u.username: u for u in User.objects.filter(username__in=[CLERK, ADMINISTRATOR, *APPROVERS.values()])
    }
    for citizen in CITIZENS:
        users[citizen.key] = User.objects.get(resident_id=citizen.resident_id)
    for enterprise in ENTERPRISES:
        users[enterprise.key] = User.objects.get(credit_code=enterprise.credit_code)
    missing = {CLERK, ADMINISTRATOR, *APPROVERS.values()} - set(users)
    if missing:
        raise ValidationFailed(
            "Seed the demo city (departments and accounts) before its cases.", code="demo_city_missing"
        )
    return users


def _items() -> dict[str, ServiceItem]:
    departments = {d.code: d for d in Department.objects.filter(code__in={s.department for s in ITEMS})}
    codes = {
        spec.name: implementation_code(spec, departments[spec.department])
        for spec in ITEMS
        if spec.department in departments
    }
    found = {
        i.implementation_code: i
        for i in ServiceItem.objects.filter(implementation_code__in=codes.values()).select_related(
            "current_version", "department"
        )
    }
    wanted = {spec.item for spec in CASES}
    missing = sorted(name for name in wanted if codes.get(name) not in found)
    if missing:
        raise ValidationFailed(
            f"Seed the demo catalogue before its cases; missing: {', '.join(missing)}.",
            code="demo_catalogue_missing",
        )
    return {name: found[code] for name, code in codes.items() if name in wanted}


def _allow_deferral(item: ServiceItem, material_name: str, admin: User) -> ServiceItem:
    """Publish a new version of the item in which the material may follow later (容缺), once."""
    current = Material.objects.filter(version_id=item.current_version_id, name=material_name).first()
    if current is None or current.may_follow_later:
        return item
    draft = catalog_services.item_version_draft(item=item, by=admin)
    material = draft.materials.get(name=material_name)
    catalog_services.material_update(material=material, by=admin, may_follow_later=True)
    catalog_services.item_version_publish(version=draft, by=admin)
    return ServiceItem.objects.select_related("current_version", "department").get(pk=item.pk)


# --- one case --------------------------------------------------------------------------------


def _apply(spec: CaseSpec, item: ServiceItem, users: dict[str, User], moment: datetime) -> Case:
    version = item.current_version
    if version is None:
        raise ValidationFailed(
            f"The demo item {item.implementation_code} is not published.", code="item_not_published"
        )
    applicant = users[spec.applicant]
    by = users[CLERK] if spec.walk_in else users[spec.agent] if spec.agent else applicant
    # Drafts have the applicant's uploads only; applications also fetch what the platform can
    # (免提交) with the applicant's consent, and bring a scan of whatever it could not fetch.
    materials = [m for m in version.materials.all() if not spec.draft or m.source == MaterialSource.APPLICANT]
    files = {m.pk: _upload(m) for m in materials if m.name not in spec.omit}
    answers = _answers(version.form_schema, applicant)
    key = KEY_PREFIX + spec.key
    with _at(moment):
        if spec.draft:
            case = services.case_draft_save(item=item, applicant=applicant, form_data=answers, by=by)
            for material_id, upload in files.items():
                services.case_material_upload(case=case, material_id=material_id, upload=upload, by=by)
            Case.objects.filter(pk=case.pk).update(idempotency_key=key)
            return case
        return services.case_apply(
            item=item,
            applicant=applicant,
            form_data=answers,
            files=files,
            by=by,
            idempotency_key=key,
            channel=Channel.WINDOW if spec.walk_in else Channel.ONLINE,
            prefill_consent=True,
        )


def _run(step: Step, case: Case, users: dict[str, User]) -> None:
    by = users[step.by] if step.by != "applicant" else (case.submitted_by or case.applicant)
    args = step.args
    if step.action == "return":
        services.case_return_for_correction(case=case, items=args["items"], by=by)
    elif step.action == "accept":
        deferred = list(
            case.version.materials.filter(name__in=args.get("deferred", ())).values_list("pk", flat=True)
        )
        services.case_accept(case=case, by=by, deferred_material_ids=deferred, note=args.get("note", ""))
    elif step.action == "not_accept":
        services.case_not_accept(case=case, reason=args["reason"], by=by)
    elif step.action == "opinion":
        open_tasks = CaseTask.objects.filter(case=case, status=TaskStatus.OPEN)
        task = next(t for t in open_tasks if t.department_id == by.department_id)
        services.task_decide(task=task, outcome=args["outcome"], opinion=args["opinion"], by=by)
    elif step.action == "suspend":
        services.case_suspend(case=case, kind=args["kind"], reason=args["reason"], by=by)
    elif step.action == "resume":
        services.case_resume(case=case, by=by)
    elif step.action == "deliver":
        services.case_deliver(case=case, method=args["method"], note=args.get("note", ""), by=by)
    elif step.action == "withdraw":
        services.case_withdraw(case=case, reason=args.get("reason", ""), by=by)
    else:
        raise ValueError(f"unknown demo step {step.action!r}")


def _make(spec: CaseSpec, item: ServiceItem, users: dict[str, User], now: datetime) -> Case:
    moments = _schedule(spec, now)
    case = _apply(spec, item, users, moments[0])
    for step, moment in zip(spec.steps, moments[1:], strict=True):
        with _at(moment):
            _run(step, Case.objects.get(pk=case.pk), users)
    Case.objects.filter(pk=case.pk).update(created_at=moments[0], updated_at=moments[-1])
    return case


@transaction.atomic
def seed(*, password: str | None = None, now: datetime | None = None) -> CasesSeedResult:
    """Create the demo cases that are missing (and the two extra approvers). All or nothing.

    The identity demo and the catalogue demo must be seeded first.
    """
    result = CasesSeedResult()
    users = _users(result, password or settings.TONGBAN_DEMO_PASSWORD)
    items = _items()
    items[DEFERRABLE[0]] = _allow_deferral(items[DEFERRABLE[0]], DEFERRABLE[1], users[ADMINISTRATOR])
    existing = set(
        Case.objects.filter(idempotency_key__in=[KEY_PREFIX + s.key for s in CASES]).values_list(
            "idempotency_key", flat=True
        )
    )
    now = now or timezone.now()
    for spec in CASES:
        if KEY_PREFIX + spec.key in existing:
            result.cases_existing += 1
            continue
        _make(spec, items[spec.item], users, now)
        result.cases_created += 1
    return result
