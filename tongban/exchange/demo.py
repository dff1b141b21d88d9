"""Demo data of the exchange: sources of the demo resources, department systems, grants in every
state and a fortnight of calls (run by ``seed_demo`` after the base databases and the catalogue).

Everything goes through the services, as staff would do it, except what only a demo needs: the
demo systems get a fixed client id and a secret derived from the demo password (printed by
``./scripts/run``), and the demo calls are spread over the last two weeks so the statistics show a
history. Two parts follow the first: the licence library (its source, 人社局's and 公积金中心's grants
and a few calls, which show in the holders' wallets; run after the licences demo), and the grants
that let each department pre-fill its items' shared-data materials (免提交: every department whose
published items have such materials gets one for each resource, unless it already holds an open
grant or application for it).

Idempotent: the first part is done once (while no demo grant exists), the licence library once (while
it has no grant), and a pre-fill grant only where the department has no open grant for the resource.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import get_application_model

from tongban.basedata.models import LegalEntity, Person
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.choices import MaterialSource
from tongban.catalog.models import ServiceItem
from tongban.exchange import gateway, services
from tongban.exchange.choices import GrantStatus, Operation, SourceKind
from tongban.exchange.demo_upstream import demo_api_key
from tongban.exchange.models import OPEN_GRANT_STATUSES, AccessGrant, CallRecord, UpstreamSystem
from tongban.identity import demo as identity_demo
from tongban.identity.models import Department, DepartmentSystem, User
from tongban.identity.services import clients
from tongban.licences import demo as licences_demo
from tongban.licences.choices import LicenceStatus
from tongban.licences.models import Licence
from tongban.resources import selectors as resource_selectors
from tongban.resources.demo import (
    DATA_OFFICERS,
    LEGAL_ENTITY_CODE,
    LICENCE_LIBRARY_CODE,
    MARRIAGE_CODE,
    POPULATION_CODE,
    SOCIAL_INSURANCE_CODE,
)
from tongban.resources.models import DataResource


@dataclass(frozen=True)
class DemoSystem:
    client_id: str
    name: str
    department: str

    @property
    def secret(self) -> str:
        digest = hashlib.sha256(f"{settings.TONGBAN_DEMO_PASSWORD}:{self.client_id}".encode()).hexdigest()
        return f"demo-{digest[:32]}"


SYSTEMS = (
    DemoSystem("demo-rsj-sbxt", "市人社局社会保险业务系统", "luan-rsj"),
    DemoSystem("demo-gjj-ywxt", "市公积金中心业务系统", "luan-gjj"),
)


@dataclass
class DemoResult:
    grants_created: int = 0
    calls_made: int = 0
    systems: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.grants_created)


def _department(code: str) -> Department:
    return Department.objects.get(code=code)


def _resource(code: str) -> DataResource | None:
    return DataResource.objects.filter(code=code, status="published").first()


def _staff(username: str) -> User:
    return User.objects.get(username=username)


def _system(spec: DemoSystem, admin: User) -> DepartmentSystem:
    application = get_application_model().objects.filter(client_id=spec.client_id).first()
    if application is None:
        registered = clients.client_register(
            name=spec.name, grant_type="client-credentials", department=_department(spec.department), by=admin
        )
        application = registered.application
        type(application).objects.filter(pk=application.pk).update(
            client_id=spec.client_id, client_secret=clients.client_secret_digest(spec.secret)
        )
    return DepartmentSystem.objects.get(application__client_id=spec.client_id)


def _sources(admin: User) -> None:
    population, entities = _resource(POPULATION_CODE), _resource(LEGAL_ENTITY_CODE)
    if population is not None:
        services.resource_source_set(
            resource=population, kind=SourceKind.BASEDATA, dataset="population", by=admin
        )
    if entities is not None:
        services.resource_source_set(
            resource=entities, kind=SourceKind.BASEDATA, dataset="legal_entity", by=admin
        )
    base = f"{settings.PUBLIC_URL}/demo-upstream"
    for code, department, name, system, path in (
        (MARRIAGE_CODE, "luan-mzj", "市民政局婚姻登记系统", "mzj", "/mzj/marriages/{key}"),
        (SOCIAL_INSURANCE_CODE, "luan-rsj", "市人社局社会保险系统", "rsj", "/rsj/insurance/{key}"),
    ):
        resource = _resource(code)
        if resource is None:
            continue
        upstream = UpstreamSystem.objects.filter(name=name).first() or services.upstream_register(
            department=_department(department),
            name=name,
            base_url=base,
            api_key=demo_api_key(system),
            timeout_seconds=2.0,
            by=admin,
        )
        services.resource_source_set(
            resource=resource, kind=SourceKind.UPSTREAM, upstream=upstream, path=path, by=admin
        )


def _apply(resource: DataResource, consumer: str, items: list[str], purpose: str, by: User) -> AccessGrant:
    today = timezone.localdate()
    return services.grant_request(
        resource=resource,
        consumer=_department(consumer),
        items=items,
        purpose=purpose,
        valid_from=today,
        valid_until=today + dt.timedelta(days=365),
        by=by,
    )


def _grants(admin: User) -> int:
    population = _resource(POPULATION_CODE)
    entities = _resource(LEGAL_ENTITY_CODE)
    marriages = _resource(MARRIAGE_CODE)
    insurance = _resource(SOCIAL_INSURANCE_CODE)
    if population is None:
        return 0
    gaj, mzj, rsj = _staff("data.gaj"), _staff("data.mzj"), _staff("data.rsj")
    made = 0

    # Unified identity (数据资源局) checks real names against the population base.
    grant = _apply(
        population,
        "luan-sjj",
        ["name", "life_status"],
        "统一身份认证：核验实名信息（二级实名）",
        _staff("data.sjj"),
    )
    services.grant_approve(grant=grant, by=gaj, reason="统一身份认证所需，仅核验不返回数据")
    # 人社局: identity checks for social-insurance services; the legal-entity base is unconditional.
    grant = _apply(
        population, "luan-rsj", ["name", "gender", "birth_date", "household_address"],
        "社会保障卡申领、养老保险待遇核定时核验参保人身份信息", rsj,
    )  # fmt: skip
    services.grant_approve(grant=grant, by=gaj)
    made += 2
    if entities is not None:
        _apply(
            entities,
            "luan-rsj",
            ["name", "status", "legal_representative_name"],
            "单位参保登记核验单位登记信息",
            rsj,
        )
        made += 1
    if marriages is not None:
        grant = _apply(
            marriages,
            "luan-rsj",
            ["name", "marital_status", "registered_on"],
            "遗属待遇申领核验婚姻关系",
            rsj,
        )
        services.grant_approve(grant=grant, by=mzj)
        made += 1
    # 民政局 waits for 公安局's decision.
    _apply(
        population,
        "luan-mzj",
        ["name", "birth_date", "life_status"],
        "最低生活保障审核时核验家庭成员身份与生存状态",
        mzj,
    )
    # 公积金中心: granted, then suspended after calls beyond its purpose.
    grant = _apply(population, "luan-gjj", ["name", "birth_date"], "住房公积金提取核验职工身份", admin)
    services.grant_approve(grant=grant, by=gaj)
    services.grant_suspend(grant=grant, by=gaj, reason="发现批量调用超出所列事项，暂停核查")
    # 住建局: refused, with the reason.
    grant = _apply(
        population, "luan-zjj", ["name", "household_address", "marital_status"], "房屋交易监管", admin
    )
    services.grant_refuse(grant=grant, by=gaj, reason="用途未对应具体政务服务事项，且婚姻状况非必要信息项")
    # 卫健委: a grant whose year has run out.
    grant = _apply(population, "luan-wjw", ["name", "birth_date"], "出生医学证明签发核验父母身份", admin)
    services.grant_approve(grant=grant, by=gaj)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    AccessGrant.objects.filter(pk=grant.pk).update(
        valid_from=yesterday - dt.timedelta(days=365), valid_until=yesterday
    )
    services.grants_expire()
    made += 4
    # 医保局: asked 人社局 for insurance data, then gave it up.
    if insurance is not None:
        grant = _apply(
            insurance, "luan-ybj", ["name", "insured", "since"], "医保参保登记核验社保参保状态", admin
        )
        services.grant_approve(grant=grant, by=rsj)
        services.grant_revoke(grant=grant, by=admin, reason="已改为通过医保系统直连获取")
        made += 1
    return made


def _calls() -> int:
    """A fortnight of calls by 人社局's and 公积金中心's systems, recorded like real ones."""
    population, entities = _resource(POPULATION_CODE), _resource(LEGAL_ENTITY_CODE)
    if population is None:
        return 0
    rsj = gateway.Caller(department_id=_department("luan-rsj").pk, client_id=SYSTEMS[0].client_id)
    gjj = gateway.Caller(department_id=_department("luan-gjj").pk, client_id=SYSTEMS[1].client_id)
    wjw = gateway.Caller(department_id=_department("luan-wjw").pk, client_id="demo-wjw-cszm")
    people = list(Person.objects.order_by("resident_id").values_list("resident_id", "name")[:40])
    companies = list(LegalEntity.objects.order_by("credit_code").values_list("credit_code", flat=True)[:5])
    calls: list[tuple[gateway.Caller, str, dict[str, Any]]] = []
    for i, (key, name) in enumerate(people):
        purpose = "社会保障卡申领核验申请人身份" if i % 2 else "养老保险待遇核定核验参保人信息"
        base = {
            "resource": population.code,
            "key": key,
            "purpose": purpose,
            "case_number": f"DEMO-RSJ-{i:04d}",
        }
        if i % 3 == 0:
            calls.append(
                (rsj, Operation.VERIFY, {**base, "fields": {"name": name if i % 9 else name + "某"}})
            )
        else:
            calls.append(
                (
                    rsj,
                    Operation.QUERY,
                    {**base, "items": ["name", "gender", "birth_date"], "on_behalf_of": "approver.rsj"},
                )
            )
    calls.append(
        (
            rsj,
            Operation.QUERY,
            {
                "resource": population.code,
                "key": people[0][0],
                "purpose": "核验",
                "items": ["marital_status"],
            },
        )
    )
    calls.append(
        (
            gjj,
            Operation.QUERY,
            {"resource": population.code, "key": people[1][0], "purpose": "公积金提取核验身份"},
        )
    )
    calls.append(
        (
            wjw,
            Operation.VERIFY,
            {
                "resource": population.code,
                "key": people[2][0],
                "purpose": "出生医学证明签发",
                "fields": {"name": people[2][1]},
            },
        )
    )
    if entities is not None:
        for code in companies:
            calls.append(
                (
                    rsj,
                    Operation.QUERY,
                    {"resource": entities.code, "key": code, "purpose": "单位参保登记核验单位信息"},
                )
            )
    made = []
    for caller, operation, body in calls:
        result = gateway.call(
            caller=caller, request=gateway.CallRequest(operation=operation, body=body, size=300)
        )
        made.append(result.call_id)
    # Spread them over the last fourteen days, a few a day, in the order they were made.
    local_now = timezone.localtime()
    latencies = dict(CallRecord.objects.filter(pk__in=made).values_list("call_id", "latency_ms"))
    for index, call_id in enumerate(made):
        day = local_now.date() - dt.timedelta(days=13 - (index * 14) // len(made))
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(9 + index % 8, index % 60)))
        moment = min(moment, local_now - dt.timedelta(minutes=len(made) - index))
        CallRecord.objects.filter(pk=call_id).update(
            requested_at=moment, responded_at=moment + dt.timedelta(milliseconds=latencies.get(call_id, 1.0))
        )
    services.call_stats_rollup(days=15)
    return len(made)


# --- the licence library -----------------------------------------------------------------------

LICENCE_ITEMS_RSJ = [
    "identifier", "type_code", "type_name", "holder_name", "number", "issuer_name", "issued_on",
    "valid_until", "status", "data", "signature", "key_id", "signature_valid",
]  # fmt: skip
LICENCE_ITEMS_GJJ = [
    "identifier", "type_name", "holder_name", "number", "issuer_name", "valid_until", "status",
    "signature_valid",
]  # fmt: skip


def _licence_library(admin: User) -> tuple[int, int]:
    """The licence library's source, two grants and a few calls (grants made, calls made)."""
    library = _resource(LICENCE_LIBRARY_CODE)
    if library is None or AccessGrant.objects.filter(resource=library).exists():
        return 0, 0
    services.resource_source_set(resource=library, kind=SourceKind.LICENCES, by=admin)
    sjj = _staff(DATA_OFFICERS["luan-sjj"])
    grant = _apply(
        library,
        "luan-rsj",
        LICENCE_ITEMS_RSJ,
        "社会保障卡申领、遗属待遇申领时调取和核验申请人的居民身份证、结婚证电子证照",
        _staff(DATA_OFFICERS["luan-rsj"]),
    )
    services.grant_approve(grant=grant, by=sjj, reason="限居民身份证、结婚证，调用须注明事项和办件编号")
    # 公积金中心's population grant is suspended; this one, for licences, is a grant of its own.
    grant = _apply(
        library,
        "luan-gjj",
        LICENCE_ITEMS_GJJ,
        "住房公积金提取（婚姻状况变化、购房）时核验职工的居民身份证和结婚证",
        admin,
    )
    services.grant_approve(grant=grant, by=sjj, reason="以核验为主，不返回照面信息")
    return 2, _licence_calls(library)


def _licence_calls(library: DataResource) -> int:
    """A fetch, a batch and a verify: recorded like every call and shown in the holders' wallets."""
    citizens = [spec.resident_id for spec in identity_demo.CITIZENS]
    rsj = gateway.Caller(department_id=_department("luan-rsj").pk, client_id=SYSTEMS[0].client_id)
    gjj = gateway.Caller(department_id=_department("luan-gjj").pk, client_id=SYSTEMS[1].client_id)
    calls: list[tuple[gateway.Caller, str, dict[str, Any]]] = [
        (
            rsj,
            Operation.QUERY,
            {
                "resource": library.code,
                "key": citizens[0],
                "licence_type": licences_demo.ID_CARD,
                "purpose": "社会保障卡申领调取申请人居民身份证",
                "case_number": "DEMO-RSJ-LIC-0001",
                "on_behalf_of": "approver.rsj",
            },
        ),
        (
            rsj,
            Operation.BATCH,
            {
                "resource": library.code,
                "keys": citizens,
                "licence_type": licences_demo.ID_CARD,
                "items": ["identifier", "holder_name", "valid_until", "status", "signature_valid"],
                "purpose": "遗属待遇申领核验申请人及家庭成员居民身份证",
                "case_number": "DEMO-RSJ-LIC-0002",
            },
        ),
    ]
    marriages = Licence.objects.filter(
        type__code=licences_demo.MARRIAGE, status=LicenceStatus.VALID
    ).order_by("identifier")
    married = marriages.filter(holder_id__in=citizens).first() or marriages.first()
    if married is not None:
        calls.append(
            (
                gjj,
                Operation.VERIFY,
                {
                    "resource": library.code,
                    "key": married.holder_id,
                    "licence_type": licences_demo.MARRIAGE,
                    "fields": {
                        "identifier": married.identifier,
                        "holder_name": married.holder_name,
                        "status": "valid",
                    },
                    "purpose": "住房公积金提取核验职工结婚证",
                    "case_number": "DEMO-GJJ-LIC-0001",
                },
            )
        )
    for caller, operation, body in calls:
        gateway.call(caller=caller, request=gateway.CallRequest(operation=operation, body=body, size=300))
    return len(calls)


# --- pre-filling applications (免提交) ----------------------------------------------------------

PREFILL_CODES = (POPULATION_CODE, LEGAL_ENTITY_CODE, MARRIAGE_CODE, SOCIAL_INSURANCE_CODE)
PREFILL_ITEMS: dict[str, list[str]] = {
    POPULATION_CODE: [
        "name", "gender", "birth_date", "ethnicity", "household_address", "marital_status", "life_status",
    ],
    LEGAL_ENTITY_CODE: [
        "name", "entity_type", "legal_representative_name", "registered_capital", "address",
        "established_on", "status", "business_scope",
    ],
}  # fmt: skip
PREFILL_PURPOSE = "办理政务服务事项时免提交材料（事项：{items}）"


def _prefill_needs() -> dict[tuple[int, str], list[ServiceItem]]:
    """(department id, resource code) -> the published items whose materials that resource gives."""
    needs: dict[tuple[int, str], list[ServiceItem]] = {}
    items = (
        catalog_selectors.published_items()
        .filter(
            current_version__materials__source=MaterialSource.SHARED_DATA,
            current_version__materials__source_code__in=PREFILL_CODES,
        )
        .distinct()
        .prefetch_related("current_version__materials")
    )
    for item in items:
        version = item.current_version
        if version is None:
            continue
        for material in version.materials.all():
            if material.source == MaterialSource.SHARED_DATA and material.source_code in PREFILL_CODES:
                found = needs.setdefault((item.department_id, material.source_code), [])
                if item not in found:
                    found.append(item)
    return needs


def _prefill_grants(admin: User) -> int:
    """An approved grant per department and resource its items' shared-data materials come from."""
    made = 0
    today = timezone.localdate()
    for (department_id, code), items in sorted(_prefill_needs().items()):
        resource = _resource(code)
        if resource is None:
            continue
        department = Department.objects.get(pk=department_id)
        if AccessGrant.objects.filter(
            consumer=department, resource=resource, status__in=OPEN_GRANT_STATUSES
        ).exists():
            continue  # the demo's own grant or application for it stands
        wanted = PREFILL_ITEMS.get(code) or [
            i.key for i in resource_selectors.resource_items(resource) if not i.is_key
        ]
        names = "、".join(dict.fromkeys(i.current_version.name for i in items if i.current_version))
        grant = services.grant_request(
            resource=resource,
            consumer=department,
            items=wanted,
            purpose=PREFILL_PURPOSE.format(items=names),
            valid_from=today,
            valid_until=today + dt.timedelta(days=365),
            by=_staff(DATA_OFFICERS.get(department.code, "admin")),
            service_items=items,
        )
        if grant.status == GrantStatus.PENDING:
            provider = _staff(DATA_OFFICERS.get(resource.provider.code, "admin"))
            services.grant_approve(
                grant=grant, by=provider, reason="用于所列事项免提交材料，限申请人本人信息"
            )
        made += 1
    return made


def load() -> DemoResult:
    result = DemoResult()
    admin = _staff("admin")
    for spec in SYSTEMS:
        _system(spec, admin)
        result.systems.append({"client_id": spec.client_id, "secret": spec.secret, "name": spec.name})
    if not AccessGrant.objects.filter(status__in=[s for s, _ in GrantStatus.choices]).exists():
        _sources(admin)
        result.grants_created = _grants(admin)
        result.calls_made = _calls()
    grants, calls = _licence_library(admin)
    result.grants_created += grants + _prefill_grants(admin)
    result.calls_made += calls
    if calls:
        services.call_stats_rollup(days=15)
    return result
