"""The demo city's electronic licences: the licence types, each issuing department's signing key,
and licences for the demo population and enterprises, so that applications show real pre-fill.

``load()`` runs after the identity, base-data and catalogue demos. Idempotent: a type is looked up
by code, a key by department, and a type's licences are made only when it has none yet. Licences
are built from the base databases (the three demo citizens and the demo enterprise always get
theirs) and signed in bulk, as an import of existing licences (存量证照) would be. The 公安局's key
is rotated half-way, so its identity cards verify with a retired key and the rest with the new one.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.basedata.choices import Gender, LifeStatus, MaritalStatus
from tongban.basedata.models import LegalEntity, Person
from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import ServiceItem, ServiceItemVersion
from tongban.identity import demo as identity_demo
from tongban.identity.models import Department
from tongban.licences import services
from tongban.licences.choices import HolderKind, LicenceOrigin, LicenceStatus, Validity
from tongban.licences.models import Licence, LicenceType, SigningKey

SEED = "tongban-licences"
PERSON, ENTERPRISE = HolderKind.PERSON, HolderKind.ENTERPRISE
ID_CARD = "11100000110068567G001"
HOUSEHOLD = "11100000110068567G002"
DRIVING = "11100000110068567G003"
MARRIAGE = "11100000267796220H001"
DIVORCE = "11100000267796220H002"
BIRTH = "111000005328312867001"
BUSINESS = "11100000097053140N001"
FOOD = "11100000097053140N002"
PROPERTY = "111000007359763115001"
SOCIAL_CARD = "111000009138160207001"


def f(key: str, label: str, source: str = "", *, required: bool = False) -> dict[str, Any]:
    return {"key": key, "label": label, "required": required, "from": source}


NAME = f("name", "姓名", "holder.name", required=True)
ID_NUMBER = f("id_number", "公民身份号码", "holder.id", required=True)


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    agency: str
    department: str
    holder: str
    fields: tuple[dict[str, Any], ...]
    validity: str = Validity.LONG_TERM
    years: int | None = None
    colour: str = "#b22222"
    results: tuple[str, ...] = ()  # result names of the demo items that issue it


TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        ID_CARD,
        "居民身份证",
        "公安部",
        "luan-gaj",
        PERSON,
        (
            NAME,
            f("gender", "性别"),
            f("ethnicity", "民族"),
            f("birth_date", "出生"),
            f("address", "住址"),
            ID_NUMBER,
            f("authority", "签发机关", "fixed:六安市公安局"),
        ),
        Validity.YEARS,
        20,
        "#1f5fa8",
        ("中华人民共和国居民身份证",),
    ),
    TypeSpec(
        HOUSEHOLD,
        "居民户口簿",
        "公安部",
        "luan-gaj",
        PERSON,
        (
            NAME,
            f("relation", "户主或与户主关系", "fixed:户主"),
            f("gender", "性别"),
            f("birth_date", "出生日期"),
            ID_NUMBER,
            f("address", "住址"),
            f("household_number", "户号", "case.number"),
        ),
        colour="#8b4513",
        results=("居民户口簿（户口登记）",),
    ),
    TypeSpec(
        DRIVING,
        "机动车驾驶证",
        "公安部",
        "luan-gaj",
        PERSON,
        (
            NAME,
            ID_NUMBER,
            f("vehicle_class", "准驾车型", "fixed:C1"),
            f("first_issued", "初次领证日期"),
            f("address", "住址"),
        ),
        Validity.YEARS,
        6,
        "#2e6b3a",
        ("中华人民共和国机动车驾驶证",),
    ),
    TypeSpec(
        MARRIAGE,
        "结婚证",
        "民政部",
        "luan-mzj",
        PERSON,
        (
            NAME,
            ID_NUMBER,
            f("spouse_name", "配偶姓名", "form:spouse_name"),
            f("spouse_id", "配偶公民身份号码", "form:spouse_resident_id"),
            f("registered_on", "登记日期"),
            f("registry", "登记机关", "fixed:六安市民政局婚姻登记处"),
        ),
        colour="#c0392b",
        results=("结婚证",),
    ),
    TypeSpec(
        DIVORCE,
        "离婚证",
        "民政部",
        "luan-mzj",
        PERSON,
        (
            NAME,
            ID_NUMBER,
            f("former_spouse_name", "对方姓名"),
            f("registered_on", "登记日期"),
            f("registry", "登记机关", "fixed:六安市民政局婚姻登记处"),
        ),
        colour="#7f8c8d",
        results=("离婚证",),
    ),
    TypeSpec(
        BIRTH,
        "出生医学证明",
        "国家卫生健康委员会",
        "luan-wjw",
        PERSON,
        (
            f("name", "新生儿姓名", "form:person_name", required=True),
            f("gender", "性别", "form:person_gender"),
            f("birth_date", "出生日期", "form:birth_date"),
            f("mother_name", "母亲姓名", "form:mother_name"),
            f("father_name", "父亲姓名", "form:father_name"),
            ID_NUMBER,
            f("institution", "接生机构", "fixed:六安市人民医院"),
        ),
        colour="#d35400",
        results=("出生医学证明",),
    ),
    TypeSpec(
        BUSINESS,
        "营业执照",
        "国家市场监督管理总局",
        "luan-scjgj",
        ENTERPRISE,
        (
            f("name", "名称", "holder.name", required=True),
            f("credit_code", "统一社会信用代码", "holder.id", required=True),
            f("entity_type", "类型"),
            f("legal_representative", "法定代表人"),
            f("registered_capital", "注册资本（万元）"),
            f("established_on", "成立日期"),
            f("address", "住所"),
            f("scope", "经营范围"),
        ),
        colour="#a93226",
        results=("营业执照",),
    ),
    TypeSpec(
        FOOD,
        "食品经营许可证",
        "国家市场监督管理总局",
        "luan-scjgj",
        ENTERPRISE,
        (
            f("name", "经营者名称", "holder.name", required=True),
            f("credit_code", "社会信用代码", "holder.id", required=True),
            f("legal_representative", "法定代表人（负责人）"),
            f("address", "经营场所"),
            f("main_business", "主体业态", "fixed:食品销售经营者"),
            f("scope", "经营项目", "fixed:预包装食品（含冷藏冷冻食品）销售"),
        ),
        Validity.YEARS,
        5,
        "#196f3d",
        ("食品经营许可证",),
    ),
    TypeSpec(
        PROPERTY,
        "不动产权证书",
        "自然资源部",
        "luan-bdc",
        PERSON,
        (
            f("owner", "权利人", "holder.name", required=True),
            ID_NUMBER,
            f("co_ownership", "共有情况", "fixed:单独所有"),
            f("location", "坐落"),
            f("unit_number", "不动产单元号"),
            f("right_type", "权利类型", "fixed:国有建设用地使用权/房屋所有权"),
            f("use", "用途", "fixed:城镇住宅用地/住宅"),
            f("area", "面积（平方米）"),
        ),
        colour="#7d3c98",
        results=("不动产权证书",),
    ),
    TypeSpec(
        SOCIAL_CARD,
        "社会保障卡",
        "人力资源和社会保障部",
        "luan-rsj",
        PERSON,
        (
            NAME,
            ID_NUMBER,
            f("card_number", "卡号", "case.number"),
            f("bank", "金融账户开户行", "fixed:中国工商银行六安分行"),
        ),
        Validity.YEARS,
        10,
        "#117a65",
        ("中华人民共和国社会保障卡",),
    ),
)


@dataclass
class DemoResult:
    types_created: int = 0
    keys_created: int = 0
    licences_created: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.types_created or self.keys_created or self.licences_created)


def _department(code: str) -> Department:
    return Department.objects.get(code=code)


def _result_items() -> dict[str, list[ServiceItem]]:
    """Demo items whose result is a licence, by result name (their published version's)."""
    found: dict[str, list[ServiceItem]] = {}
    versions = (
        ServiceItemVersion.objects.filter(status=VersionStatus.PUBLISHED, result_type="licence")
        .exclude(result_name="")
        .select_related("item", "item__department")
    )
    for version in versions.order_by("item__pk"):
        found.setdefault(version.result_name, []).append(version.item)
    return found


def _type(spec: TypeSpec, by_result: dict[str, list[ServiceItem]], result: DemoResult) -> LicenceType:
    type_, created = LicenceType.objects.get_or_create(
        code=spec.code,
        defaults={
            "name": spec.name,
            "defining_agency": spec.agency,
            "issuing_department": _department(spec.department),
            "holder_kind": spec.holder,
            "fields": list(spec.fields),
            "validity": spec.validity,
            "validity_years": spec.years,
            "template": {"title": spec.name, "colour": spec.colour},
        },
    )
    if created:
        result.types_created += 1
        type_.items.set([i for name in spec.results for i in by_result.get(name, [])])
    return type_


def _name_of(item: ServiceItem) -> str:
    version = item.versions.filter(status=VersionStatus.PUBLISHED).first()
    return version.name if version is not None else ""


def _for_enterprises(item: ServiceItem) -> bool:
    version = item.versions.filter(status=VersionStatus.PUBLISHED).first()
    return version is not None and version.service_object == "enterprise"


def _local_types(by_result: dict[str, list[ServiceItem]], taken: set[str], result: DemoResult) -> None:
    """A type for every other licence a demo item yields, defined by the issuing department itself."""
    serial: dict[int, int] = {}
    for name, items in sorted(by_result.items()):
        if name in taken:
            continue
        department = items[0].department
        if not department.credit_code:
            continue
        serial[department.pk] = serial.get(department.pk, 0) + 1
        code = f"{department.credit_code}{serial[department.pk]:03d}"
        type_, created = LicenceType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "defining_agency": department.name,
                "issuing_department": department,
                "holder_kind": ENTERPRISE if _for_enterprises(items[0]) else PERSON,
                "fields": [
                    f("holder_name", "持证人", "holder.name", required=True),
                    f("holder_id", "证件号码", "holder.id", required=True),
                    f("matter", "许可（登记）事项", f"fixed:{_name_of(items[0])}"),
                    f("case_number", "办件编号", "case.number"),
                ],
                "validity": Validity.YEARS,
                "validity_years": 5,
                "template": {"title": name, "colour": "#34495e"},
            },
        )
        if created:
            result.types_created += 1
            type_.items.set(items)


def _keys(types: list[LicenceType], result: DemoResult) -> None:
    for department in {t.issuing_department for t in types}:
        if not SigningKey.objects.filter(department=department).exists():
            services.signing_key_rotate(department=department, by=None, reason="演示数据：初始签章密钥")
            result.keys_created += 1


def _new(
    type_: LicenceType, holder_id: str, name: str, data: dict[str, str], issued: dt.date, **kw: Any
) -> services.NewLicence:
    start = kw.pop("valid_from", issued)
    until = kw.pop("valid_until", None)
    return services.NewLicence(
        type=type_,
        holder_id=holder_id,
        holder_name=name,
        data={k: v for k, v in data.items() if v},
        issued_on=issued,
        valid_from=start,
        valid_until=until if until is not None else services.validity_end(type_, start, None),
    )


def _years_ago(rng: random.Random, today: dt.date, low: int, high: int) -> dt.date:
    return today - dt.timedelta(days=rng.randint(low * 365, high * 365))


GENDER: dict[str, str] = {Gender.MALE: "男", Gender.FEMALE: "女"}
DEMO_CITIZENS = {c.resident_id for c in identity_demo.CITIZENS}


def _people_licences(types: dict[str, LicenceType], today: dt.date) -> dict[str, list[services.NewLicence]]:
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    out: dict[str, list[services.NewLicence]] = {code: [] for code in types}
    people = list(
        Person.objects.filter(life_status=LifeStatus.ALIVE)
        .order_by("resident_id")
        .values(
            "resident_id", "name", "gender", "birth_date", "ethnicity", "household_address", "marital_status"
        )
    )
    names = [p["name"] for p in people]
    for p in people:
        rid, name = p["resident_id"], p["name"]
        demo = rid in DEMO_CITIZENS
        age = (today - p["birth_date"]).days // 365
        base = {
            "name": name,
            "id_number": rid,
            "gender": GENDER.get(p["gender"], ""),
            "birth_date": p["birth_date"].isoformat(),
            "address": p["household_address"],
        }
        household = {
            **base,
            "relation": "户主" if age >= 18 else "子女",
            "household_number": f"{rid[:6]}{rid[-6:]}",
        }
        out[HOUSEHOLD].append(_new(types[HOUSEHOLD], rid, name, household, _years_ago(rng, today, 1, 15)))
        if age >= 16:
            issued = _years_ago(rng, today, 0, 19)
            out[ID_CARD].append(
                _new(
                    types[ID_CARD],
                    rid,
                    name,
                    {**base, "ethnicity": "汉", "authority": "六安市公安局"},
                    issued,
                )
            )
            card = {
                "name": name,
                "id_number": rid,
                "card_number": f"L{rid[6:14]}{rid[-4:]}",
                "bank": "中国工商银行六安分行",
            }
            out[SOCIAL_CARD].append(_new(types[SOCIAL_CARD], rid, name, card, _years_ago(rng, today, 0, 9)))
        if age < 14:
            birth = {
                "name": name,
                "gender": base["gender"],
                "birth_date": base["birth_date"],
                "id_number": rid,
                "mother_name": rng.choice(names),
                "institution": "六安市人民医院",
            }
            out[BIRTH].append(_new(types[BIRTH], rid, name, birth, p["birth_date"] + dt.timedelta(days=3)))
        married = p["marital_status"] in (
            MaritalStatus.MARRIED,
            MaritalStatus.FIRST_MARRIAGE,
            MaritalStatus.REMARRIED,
        )
        if age >= 20 and married:
            marriage = {
                "name": name,
                "id_number": rid,
                "spouse_name": rng.choice(names),
                "registered_on": _years_ago(rng, today, 1, max(2, age - 20)).isoformat(),
                "registry": "六安市民政局婚姻登记处",
            }
            out[MARRIAGE].append(
                _new(types[MARRIAGE], rid, name, marriage, dt.date.fromisoformat(marriage["registered_on"]))
            )
        if age >= 18 and (demo or rng.random() < 0.4):
            first = _years_ago(rng, today, 0, max(1, min(age - 18, 20)))
            issued = first + dt.timedelta(days=((today - first).days // (6 * 365)) * 6 * 365)
            driving = {
                "name": name,
                "id_number": rid,
                "vehicle_class": "C1",
                "first_issued": first.isoformat(),
                "address": base["address"],
            }
            out[DRIVING].append(_new(types[DRIVING], rid, name, driving, min(issued, today)))
        if age >= 25 and (demo or rng.random() < 0.3):
            # 不动产单元号: 12-digit land parcel code, GB + 5-digit parcel, F + building and unit.
            prop = {
                "owner": name,
                "id_number": rid,
                "co_ownership": "单独所有",
                "location": base["address"],
                "unit_number": f"{rid[:6]}{rng.randint(10**5, 10**6 - 1)}GB{rng.randint(1, 99999):05d}F0001",
                "right_type": "国有建设用地使用权/房屋所有权",
                "use": "城镇住宅用地/住宅",
                "area": f"{rng.randint(60, 160)}.{rng.randint(10, 99)}",
            }
            out[PROPERTY].append(_new(types[PROPERTY], rid, name, prop, _years_ago(rng, today, 0, 15)))
    # 王建国's driving licence of long ago: expired, kept as history (the newer one is valid).
    wang = next((c for c in identity_demo.CITIZENS if c.key == "wangjianguo"), None)
    if wang is not None:
        old = today.replace(year=today.year - 13)
        out[DRIVING].append(
            _new(
                types[DRIVING],
                wang.resident_id,
                wang.name,
                {
                    "name": wang.name,
                    "id_number": wang.resident_id,
                    "vehicle_class": "C1",
                    "first_issued": old.isoformat(),
                },
                old,
            )
        )
    return out


def _entity_licences(types: dict[str, LicenceType], today: dt.date) -> dict[str, list[services.NewLicence]]:
    rng = random.Random(f"{SEED}:entities")  # noqa: S311 - demo data, not secrets
    out: dict[str, list[services.NewLicence]] = {BUSINESS: [], FOOD: []}
    demo_codes = {e.credit_code for e in identity_demo.ENTERPRISES}
    for e in LegalEntity.objects.order_by("credit_code"):
        data = {
            "name": e.name,
            "credit_code": e.credit_code,
            "entity_type": e.get_entity_type_display(),
            "legal_representative": e.legal_representative_name,
            "registered_capital": str(e.registered_capital or ""),
            "established_on": e.established_on.isoformat(),
            "address": e.address,
            "scope": e.business_scope,
        }
        out[BUSINESS].append(_new(types[BUSINESS], e.credit_code, e.name, data, e.established_on))
        if e.credit_code in demo_codes or rng.random() < 0.15:
            food = {
                "name": e.name,
                "credit_code": e.credit_code,
                "legal_representative": e.legal_representative_name,
                "address": e.address,
            }
            out[FOOD].append(_new(types[FOOD], e.credit_code, e.name, food, _years_ago(rng, today, 0, 4)))
    return out


@transaction.atomic
def load() -> DemoResult:
    result = DemoResult()
    by_result = _result_items()
    core = {spec.code: _type(spec, by_result, result) for spec in TYPES}
    _local_types(by_result, {name for spec in TYPES for name in spec.results}, result)
    _keys(list(LicenceType.objects.select_related("issuing_department")), result)
    today = timezone.localdate()
    batches = {**_people_licences(core, today), **_entity_licences(core, today)}
    for code, rows in batches.items():
        type_ = core[code]
        if not rows or Licence.objects.filter(type=type_).exists():
            continue
        if code == HOUSEHOLD:
            # 公安局 rotates its key: what it signed before (identity cards, below) still verifies.
            services.signing_key_rotate(
                department=type_.issuing_department, by=None, reason="演示数据：年度密钥轮换"
            )
            result.keys_created += 1
        result.licences_created += services.issue_prepared_batch(
            rows, type_=type_, batch=None, origin=LicenceOrigin.IMPORTED
        )
    _demo_states(core)
    return result


def _demo_states(core: dict[str, LicenceType]) -> None:
    """One revoked licence, and expiry applied, so the wallet and the verifier show every state."""
    food = (
        Licence.objects.filter(type=core[FOOD], status=LicenceStatus.VALID)
        .exclude(holder_id__in=[e.credit_code for e in identity_demo.ENTERPRISES])
        .order_by("identifier")
        .first()
    )
    if food is not None and not Licence.objects.filter(status=LicenceStatus.REVOKED).exists():
        Licence.objects.filter(pk=food.pk).update(
            status=LicenceStatus.REVOKED,
            revoked_at=timezone.now(),
            revoked_reason="演示数据：经营场所变更未申请许可变更，依法撤销",
        )
    services.licences_expire()
