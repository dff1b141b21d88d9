"""Demo data of the base databases for the demo city of Lu'an (``seed_demo --people N``).

- the division table (GB/T 2260 from python-stdnum, Lu'an's townships);
- a population of ``people`` persons of Lu'an's seven districts and counties, always including the
  three demo citizens of ``identity.demo`` with their exact resident IDs and names, so the exchange's
  identity check succeeds for them. Names are drawn from Faker's zh_CN tables; every resident ID has
  a valid check digit, a birth date and a sex digit that match the person, and the region code of its
  place and time of issue (people registered before 2000 carry the codes of the former 六安地区,
  3424xx, as real IDs do);
- legal entities: the demo enterprise of ``identity.demo`` with its exact credit code and legal
  representative, and ~200 more with valid credit codes (python-stdnum check character);
- standard addresses of the urban districts, and four indicator series for the city and its counties;
- one finished import job with a small error report and one reconciliation of 民政局's marriage
  records with a few open data-quality tasks for 公安局, both run through the real pipeline.

Deterministic: every number comes from one seeded generator, in a fixed order, so a run with more
people starts with the same persons as one with fewer. Idempotent: the bulk loads insert only what
the base lacks (existing records are left as they are) and the demo job and run are made once.
Population and entities go through ``bulk.Stage`` (COPY / executemany and one upsert), never one
ORM save per row, so a million people load in well under a minute on PostgreSQL.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone
from faker.providers.person.zh_CN import Provider as ChineseNames
from stdnum.cn import ric

from tongban.basedata import services
from tongban.basedata.bulk import Stage
from tongban.basedata.choices import (
    Dataset,
    EntityStatus,
    EntityType,
    IndicatorFrequency,
    LifeStatus,
    MaritalStatus,
)
from tongban.basedata.datasets import spec_for
from tongban.basedata.models import (
    ImportJob,
    IndicatorSeries,
    IndicatorValue,
    Person,
    ReconciliationRun,
)
from tongban.identity import demo as identity_demo
from tongban.identity.models import Department, User

SEED = "tongban-demo-basedata"
CITY = "341500"
REFERENCE_DAY = dt.date(2025, 6, 30)  # births are drawn before this day, so no ID lies in the future
SOURCE_TIME = dt.datetime(2025, 6, 30, 18, 0, tzinfo=dt.UTC)
POLICE = "luan-gaj"
CIVIL_AFFAIRS = "luan-mzj"
MARKET = "luan-scjgj"
DEVELOPMENT = "luan-fgw"
COMMERCE = "luan-swuj"
DEMO_IMPORT_NAME = "六安市公安局人口信息变更（演示）.csv"
DEMO_RECONCILIATION_NAME = "六安市民政局婚姻登记信息（演示）.csv"

# county code -> (name, share of the population, the code of the same place before 2000)
COUNTIES: dict[str, tuple[str, float, str]] = {
    "341502": ("金安区", 0.19, "342401"),
    "341503": ("裕安区", 0.18, "342401"),
    "341504": ("叶集区", 0.05, "342401"),
    "341522": ("霍邱县", 0.24, "342423"),
    "341523": ("舒城县", 0.15, "342425"),
    "341524": ("金寨县", 0.12, "342426"),
    "341525": ("霍山县", 0.07, "342427"),
}
POSTCODES = {
    "341502": "237000",
    "341503": "237000",
    "341504": "237431",
    "341522": "237400",
    "341523": "231300",
    "341524": "237300",
    "341525": "237200",
}
ROADS = (
    "皖西大道",
    "梅山南路",
    "人民路",
    "解放路",
    "佛子岭路",
    "长安路",
    "紫竹林路",
    "寿春路",
    "淠河路",
    "南屏路",
)
VILLAGES = (
    "新华",
    "红星",
    "双河",
    "桃园",
    "大庙",
    "杨店",
    "花园",
    "长岗",
    "金桥",
    "新庄",
    "河口",
    "龙井",
    "石门",
    "柳林",
)
ENTITY_WORDS = (
    "皖西",
    "大别山",
    "淠河",
    "天堂寨",
    "佛子岭",
    "万佛湖",
    "映山红",
    "东石笋",
    "九公寨",
    "响洪甸",
    "白马尖",
    "瓜片",
)
INDUSTRIES = (
    "茶业",
    "农业科技",
    "建筑工程",
    "商贸",
    "食品",
    "机械制造",
    "新材料",
    "物流",
    "电子商务",
    "旅游开发",
    "医药",
)
SHOPS = ("副食店", "五金店", "小吃店", "理发店", "农资店", "茶叶店", "便利店")

# (code, name, unit, department code, {period: value for the city}); values shaped like the
# published statistics of Lu'an (亿元, %, 万人), not copied from them.
SERIES: tuple[tuple[str, str, str, str, dict[str, str]], ...] = (
    (
        "GDP",
        "地区生产总值",
        "亿元",
        DEVELOPMENT,
        {
            "2019": "1620.1",
            "2020": "1669.5",
            "2021": "1923.5",
            "2022": "2014.9",
            "2023": "2101.2",
            "2024": "2210.8",
        },
    ),
    (
        "RETAIL",
        "社会消费品零售总额",
        "亿元",
        COMMERCE,
        {
            "2019": "930.2",
            "2020": "921.4",
            "2021": "1035.6",
            "2022": "1063.8",
            "2023": "1142.7",
            "2024": "1210.3",
        },
    ),
    (
        "FAI_GROWTH",
        "固定资产投资比上年增长",
        "%",
        DEVELOPMENT,
        {"2019": "10.1", "2020": "6.2", "2021": "12.6", "2022": "11.2", "2023": "6.3", "2024": "5.1"},
    ),
    (
        "POP_YEAR_END",
        "年末常住人口",
        "万人",
        DEVELOPMENT,
        {
            "2019": "445.2",
            "2020": "439.4",
            "2021": "438.9",
            "2022": "435.6",
            "2023": "434.3",
            "2024": "433.0",
        },
    ),
)


@dataclass
class DemoResult:
    divisions_created: int = 0
    people_created: int = 0
    entities_created: int = 0
    addresses_created: int = 0
    indicator_values_created: int = 0
    job_created: bool = False
    run_created: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.divisions_created
            or self.people_created
            or self.entities_created
            or self.addresses_created
            or self.indicator_values_created
            or self.job_created
            or self.run_created
        )

    def summary(self) -> str:
        return (
            f"{self.divisions_created} divisions, {self.people_created} people, "
            f"{self.entities_created} legal entities, {self.addresses_created} addresses, "
            f"{self.indicator_values_created} indicator values"
        )


@dataclass(frozen=True)
class DemoPerson:
    resident_id: str
    name: str
    male: bool
    birth: dt.date
    county: str
    township: str
    row: tuple[object, ...]


class _Names:
    """Family names weighted as Faker's zh_CN table weighs them; given names from its lists."""

    def __init__(self) -> None:
        self.family = list(ChineseNames.last_names)
        self.cumulative = list(itertools.accumulate(ChineseNames.last_names.values()))
        self.male = list(ChineseNames.first_names_male)
        self.female = list(ChineseNames.first_names_female)

    def draw(self, rng: random.Random, male: bool) -> str:
        family = self.family[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]
        given = rng.choice(self.male if male else self.female)
        if len(given) == 1 and rng.random() < 0.45:
            given += rng.choice(self.male if male else self.female)[:1]
        return family + given


def _townships() -> dict[str, list[identity_demo.Division]]:
    return {code: identity_demo.townships_of(code) for code in COUNTIES}


def _address(rng: random.Random, county: str, township: identity_demo.Division) -> str:
    place = f"安徽省六安市{COUNTIES[county][0]}{township.name}"
    if township.name.endswith("街道"):
        return f"{place}{rng.choice(ROADS)}{rng.randrange(1, 400)}号"
    return f"{place}{rng.choice(VILLAGES)}村{rng.randrange(1, 16)}组{rng.randrange(1, 80)}号"


def _marital(rng: random.Random, age: int) -> str:
    roll = rng.random()
    if age < 20:
        return MaritalStatus.UNMARRIED
    if age < 25:
        return MaritalStatus.UNMARRIED if roll < 0.7 else MaritalStatus.MARRIED
    if age < 30:
        return MaritalStatus.UNMARRIED if roll < 0.35 else MaritalStatus.MARRIED
    if age < 60:
        if roll < 0.05:
            return MaritalStatus.UNMARRIED
        if roll < 0.12:
            return MaritalStatus.DIVORCED
        return MaritalStatus.REMARRIED if roll < 0.15 else MaritalStatus.MARRIED
    if roll < 0.25:
        return MaritalStatus.WIDOWED
    return MaritalStatus.DIVORCED if roll < 0.3 else MaritalStatus.MARRIED


def _ethnicity(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.992:
        return "01"
    return "03" if roll < 0.998 else rng.choice(("02", "06", "11"))


def _region(county: str, birth: dt.date) -> str:
    """The code an ID issued for this person carries: issued at birth, or in 1985 for the older."""
    issued = max(birth.year, 1985)
    if issued < 2000:
        return COUNTIES[county][2]
    if county == "341504" and issued < 2015:
        return "341503"  # 叶集 was part of 裕安区 until 2015
    return county


def _row(
    rid: str, name: str, male: bool, birth: dt.date, address: str, division: str, marital: str, life: str
) -> tuple[object, ...]:
    return (
        rid,
        name,
        "1" if male else "2",
        birth.isoformat(),
        "01",
        address,
        division,
        marital,
        life,
        SOURCE_TIME.isoformat(),
    )


def population(count: int) -> Iterator[DemoPerson]:
    """The demo population in its fixed order: the three demo citizens first, then generated persons."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    names = _Names()
    townships = _townships()
    seen: set[int] = set()
    produced = 0
    marital = {"zhangwei": MaritalStatus.MARRIED, "lina": MaritalStatus.UNMARRIED}
    for spec in identity_demo.CITIZENS:
        if produced >= count:
            return
        rid = spec.resident_id
        county = spec.region
        township = townships[county][0]
        address = _address(rng, county, township)
        status = marital.get(spec.key, MaritalStatus.MARRIED)
        seen.add(int(rid[:17]))
        produced += 1
        yield DemoPerson(
            rid,
            spec.name,
            spec.male,
            spec.birth,
            county,
            township.code,
            _row(rid, spec.name, spec.male, spec.birth, address, township.code, status, LifeStatus.ALIVE),
        )
    codes = list(COUNTIES)
    cumulative = list(itertools.accumulate(share for _name, share, _old in COUNTIES.values()))
    while produced < count:
        county = codes[min(len(codes) - 1, bisect.bisect(cumulative, rng.random() * cumulative[-1]))]
        township = rng.choice(townships[county])
        roll = rng.random()
        age = (
            int(rng.random() * 15)
            if roll < 0.15
            else (15 + int(rng.random() * 45) if roll < 0.75 else 60 + int(rng.random() * 36))
        )
        birth = REFERENCE_DAY - dt.timedelta(days=age * 365 + rng.randrange(0, 365))
        male = rng.random() < 0.51
        sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
        body = f"{_region(county, birth)}{birth:%Y%m%d}{sequence:03d}"
        number = int(body)
        if number in seen:
            continue
        seen.add(number)
        rid = body + ric.calc_check_digit(body + "0")
        name = names.draw(rng, male)
        life = LifeStatus.DECEASED if age > 75 and rng.random() < 0.04 else LifeStatus.ALIVE
        row = (
            rid,
            name,
            "1" if male else "2",
            birth.isoformat(),
            _ethnicity(rng),
            _address(rng, county, township),
            township.code,
            _marital(rng, age),
            life,
            (
                SOURCE_TIME - dt.timedelta(days=rng.randrange(0, 900), minutes=rng.randrange(0, 600))
            ).isoformat(),
        )
        produced += 1
        yield DemoPerson(rid, name, male, birth, county, township.code, row)


def _load_population(count: int, police: Department) -> int:
    citizens = [c.resident_id for c in identity_demo.CITIZENS]
    if Person.objects.filter(pk__in=citizens).count() == len(citizens) and Person.objects.count() >= count:
        return 0  # loaded before (the population is a fixed sequence): skip generating it again
    stage = Stage(spec_for(Dataset.POPULATION), tag="demo").create()
    try:
        for person in population(count):
            stage.add(person.row)
        return stage.merge(department_id=police.pk, now=timezone.now(), only_new=True).inserted
    finally:
        stage.drop()


# --- legal entities and addresses ------------------------------------------------------------


def entities(representatives: list[tuple[str, str]]) -> Iterator[tuple[object, ...]]:
    """The demo enterprise of identity.demo, then 200 generated entities of the city's counties."""
    rng = random.Random(f"{SEED}:entities")  # noqa: S311 - demo data, not secrets
    by_key = {c.key: c for c in identity_demo.CITIZENS}
    for spec in identity_demo.ENTERPRISES:
        rep = by_key[spec.legal_rep_key]
        yield (
            spec.credit_code,
            spec.name,
            EntityType.COMPANY,
            rep.name,
            rep.resident_id,
            "500",
            "安徽省六安市金安区中市街道皖西大道168号",
            spec.division_code,
            "2012-05-18",
            EntityStatus.ACTIVE,
            "茶叶种植、加工、销售；农产品初加工；预包装食品销售。（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
            "六安市金安区市场监督管理局",
            SOURCE_TIME.isoformat(),
        )
    townships = _townships()
    for index in range(200):
        county = rng.choice(list(COUNTIES))
        county_name = COUNTIES[county][0]
        roll = rng.random()
        if roll < 0.8:
            category, kind = identity_demo.COMPANY, EntityType.COMPANY
            place = "六安市" if county_name.endswith("区") else county_name
            name = place + rng.choice(ENTITY_WORDS) + rng.choice(INDUSTRIES)
            name += rng.choice(("有限公司", "有限责任公司", "股份有限公司"))
            capital: str | None = str(rng.choice((50, 100, 200, 300, 500, 1000, 2000, 5000)))
        elif roll < 0.9:
            category, kind = "92", EntityType.SOLE_PROPRIETOR
            name = f"{county_name}{rng.choice(ENTITY_WORDS)}{rng.choice(SHOPS)}"
            capital = None
        elif roll < 0.96:
            category, kind = "93", EntityType.FARMER_COOPERATIVE
            crop = rng.choice(("茶叶", "水稻", "中药材", "蔬菜"))
            name = f"{county_name}{rng.choice(VILLAGES)}{crop}种植专业合作社"
            capital = str(rng.choice((10, 30, 50, 100)))
        else:
            category, kind = "52", EntityType.SOCIAL_ORGANISATION
            purpose = rng.choice(("志愿者协会", "养老服务中心", "茶文化研究会"))
            name = f"{county_name}{rng.choice(ENTITY_WORDS)}{purpose}"
            capital = None
        code = identity_demo.credit_code(
            category=category, division_code=county, key=f"basedata-entity-{index}"
        )
        rep_name, rep_id = representatives[index % len(representatives)]
        township = rng.choice(townships[county])
        established = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 9000))
        status = (
            EntityStatus.ACTIVE
            if rng.random() < 0.9
            else rng.choice((EntityStatus.DEREGISTERED, EntityStatus.REVOKED))
        )
        yield (
            code,
            name,
            kind,
            rep_name,
            rep_id,
            capital,
            _address(rng, county, township),
            county,
            established.isoformat(),
            status,
            "",
            f"{county_name}市场监督管理局"
            if kind != EntityType.SOCIAL_ORGANISATION
            else f"{county_name}民政局",
            (SOURCE_TIME - dt.timedelta(days=rng.randrange(0, 600))).isoformat(),
        )


def _load_entities(market: Department, representatives: list[tuple[str, str]]) -> int:
    stage = Stage(spec_for(Dataset.LEGAL_ENTITY), tag="demo").create()
    try:
        stage.add_many(entities(representatives))
        return stage.merge(department_id=market.pk, now=timezone.now(), only_new=True).inserted
    finally:
        stage.drop()


def addresses() -> Iterator[tuple[object, ...]]:
    """Door plates along the main roads of the three urban districts' streets (街道)."""
    rng = random.Random(f"{SEED}:addresses")  # noqa: S311 - demo data, not secrets
    for county in ("341502", "341503", "341504"):
        for township in identity_demo.townships_of(county):
            if not township.name.endswith("街道"):
                continue
            for road_index, road in enumerate(rng.sample(ROADS, 3), start=1):
                for number in range(1, 41, 3):
                    building = (
                        f"{rng.randrange(1, 12)}栋{rng.randrange(1, 4)}单元" if rng.random() < 0.4 else ""
                    )
                    full = f"安徽省六安市{COUNTIES[county][0]}{township.name}{road}{number}号{building}"
                    yield (
                        f"{township.code}-{road_index:02d}-{number:04d}",
                        township.code,
                        road,
                        f"{number}号",
                        building,
                        full,
                        POSTCODES[county],
                        str(Decimal("116.4800") + Decimal(rng.randrange(0, 1500)) / 10000),
                        str(Decimal("31.7000") + Decimal(rng.randrange(0, 1200)) / 10000),
                    )


def _load_addresses() -> int:
    stage = Stage(spec_for(Dataset.ADDRESS), tag="demo").create()
    try:
        stage.add_many(addresses())
        return stage.merge(department_id=None, now=timezone.now(), only_new=True).inserted
    finally:
        stage.drop()


def _load_indicators(departments: dict[str, Department]) -> int:
    created = 0
    now = timezone.now()
    shares = {code: share for code, (_name, share, _old) in COUNTIES.items()}
    for code, name, unit, department_code, values in SERIES:
        series, _ = IndicatorSeries.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "unit": unit,
                "frequency": IndicatorFrequency.YEAR,
                "department": departments[department_code],
                "description": "演示数据：按六安市统计公报的口径构造，非官方数字。",
            },
        )
        rows = [
            IndicatorValue(series=series, period=p, division_code=CITY, value=Decimal(v), updated_at=now)
            for p, v in values.items()
        ]
        if unit != "%":  # amounts split over the counties for the last two years; rates stay city-wide
            for period in list(values)[-2:]:
                total = Decimal(values[period])
                rows += [
                    IndicatorValue(
                        series=series,
                        period=period,
                        division_code=county,
                        value=(total * Decimal(str(share))).quantize(Decimal("0.1")),
                        updated_at=now,
                    )
                    for county, share in shares.items()
                ]
        before = IndicatorValue.objects.filter(series=series).count()
        IndicatorValue.objects.bulk_create(rows, ignore_conflicts=True)
        created += IndicatorValue.objects.filter(series=series).count() - before
    return created


# --- the demo import job and reconciliation --------------------------------------------------


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _person_cells(person: Person) -> list[str]:
    return [
        person.resident_id,
        person.name,
        person.gender,
        person.birth_date.isoformat(),
        person.ethnicity,
        person.household_address,
        person.division_code,
        person.marital_status,
        "正常" if person.life_status == LifeStatus.ALIVE else "死亡",
        timezone.localtime(person.source_updated_at).strftime("%Y-%m-%d %H:%M:%S")
        if person.source_updated_at
        else "",
    ]


def _newborn(key: str, township: str, birth: dt.date, male: bool) -> str:
    return identity_demo.resident_id(
        region=township[:6], birth=birth, male=male, key=f"basedata-newborn-{key}"
    )


def _demo_import(police: Department, officer: User | None) -> bool:
    if ImportJob.objects.filter(original_name=DEMO_IMPORT_NAME, source_department=police).exists():
        return False
    sample = list(
        Person.objects.filter(birth_date__lt=dt.date(1990, 1, 1))
        .exclude(resident_id__in=[c.resident_id for c in identity_demo.CITIZENS])
        .order_by("resident_id")[:5]
    )
    if len(sample) < 5:
        return False
    header = [
        "公民身份号码",
        "姓名",
        "性别",
        "出生日期",
        "民族",
        "户籍地址",
        "行政区划代码",
        "婚姻状况",
        "生存状态",
        "来源更新时间",
    ]
    rows = [_person_cells(p) for p in sample]
    moved = rows[4]
    street = moved[5].rsplit("号", 1)[0].rstrip("0123456789")
    moved[5] = f"{street}{'19' if moved[5].endswith('18号') else '18'}号"  # moved house on the same road
    moved[9] = "2025-09-01 09:30:00"
    township = sample[0].division_code
    born = dt.date(2025, 9, 12)
    for key, male, name in (("a", True, "陈子涵"), ("b", False, "周雨桐")):
        rid = _newborn(key, township, born, male)
        rows.append(
            [
                rid,
                name,
                "男" if male else "女",
                born.isoformat(),
                "汉族",
                rows[0][5],
                township,
                "未婚",
                "正常",
                "2025-09-20 16:00:00",
            ]
        )
    bad_check = rows[0][0][:17] + ("0" if rows[0][0][17] != "0" else "1")
    rows.append([bad_check, "刘洋", "男", "", "汉族", rows[0][5], township, "已婚", "正常", ""])
    wrong_birth = rows[1][:]
    rows.append(
        [
            _newborn("c", township, dt.date(2025, 8, 3), True),
            "孙浩然",
            "男",
            "2025-08-30",
            "汉族",
            wrong_birth[5],
            township,
            "未婚",
            "正常",
            "",
        ]
    )
    rows.append(
        [
            _newborn("d", township, dt.date(2025, 7, 21), False),
            "吴欣怡",
            "女",
            "",
            "汉族",
            wrong_birth[5],
            "341599",
            "未婚",
            "正常",
            "",
        ]
    )
    rows.append(rows[1][:])  # the same person twice: the later row is refused
    upload = ContentFile(_csv(header, rows), name=DEMO_IMPORT_NAME)
    job = services.import_job_create(
        dataset=Dataset.POPULATION,
        upload=upload,
        department=police,
        by=officer,
        original_name=DEMO_IMPORT_NAME,
        enqueue=False,
    )
    services.import_job_run(job_id=job.pk)
    return True


def _demo_reconciliation(civil_affairs: Department, officer: User | None) -> bool:
    if ReconciliationRun.objects.filter(
        original_name=DEMO_RECONCILIATION_NAME, source_department=civil_affairs
    ).exists():
        return False
    adults = list(
        Person.objects.filter(birth_date__lt=dt.date(1995, 1, 1), life_status=LifeStatus.ALIVE)
        .exclude(resident_id__in=[c.resident_id for c in identity_demo.CITIZENS])
        .order_by("-resident_id")[:22]
    )
    if len(adults) < 22:
        return False
    labels = {
        "10": "未婚",
        "20": "已婚",
        "21": "初婚",
        "22": "再婚",
        "23": "复婚",
        "30": "丧偶",
        "40": "离婚",
        "90": "未说明的婚姻状况",
    }
    rows: list[list[str]] = []
    for index, person in enumerate(adults):
        status = person.marital_status
        changed = {3: "40", 8: "30", 13: "40", 17: "40"}.get(index)
        if changed:  # civil affairs registered a divorce, a spouse's death or a (re)marriage the base lacks
            status = changed if status.startswith("2") else "22"
        rows.append([person.resident_id, labels[status] if index % 2 else status])
    rows.append([_newborn("e", "341502001", dt.date(1988, 4, 2), True), "已婚"])  # not in the base
    rows.append([_newborn("f", "341503001", dt.date(1990, 10, 9), False), "离婚"])
    rows.append([adults[0].resident_id[:17] + "Y", "已婚"])  # a malformed ID
    upload = ContentFile(_csv(["公民身份号码", "婚姻状况"], rows), name=DEMO_RECONCILIATION_NAME)
    run = services.reconciliation_create(
        dataset=Dataset.POPULATION,
        fields=["marital_status"],
        upload=upload,
        department=civil_affairs,
        by=officer,
        original_name=DEMO_RECONCILIATION_NAME,
        enqueue=False,
    )
    services.reconciliation_run(run_id=run.pk)
    return True


def load(*, people: int = 2000) -> DemoResult:
    """Fill the base databases with the demo city's data (see the module docstring). Idempotent."""
    result = DemoResult()
    result.divisions_created = services.divisions_load().created
    codes = (POLICE, CIVIL_AFFAIRS, MARKET, DEVELOPMENT, COMMERCE)
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    missing = sorted(set(codes) - set(departments))
    if missing:
        raise RuntimeError(f"the identity demo must run first: no departments {', '.join(missing)}")
    result.people_created = _load_population(max(0, people), departments[POLICE])
    adults = (p for p in population(max(people, 3)) if p.birth < dt.date(1995, 1, 1))
    representatives = [(p.name, p.resident_id) for p in itertools.islice(adults, 300)]
    result.entities_created = _load_entities(departments[MARKET], representatives or [("王建国", "")])
    result.addresses_created = _load_addresses()
    result.indicator_values_created = _load_indicators(departments)
    users = {u.username: u for u in User.objects.filter(username__in=["data.gaj", "data.mzj"])}
    result.job_created = _demo_import(departments[POLICE], users.get("data.gaj"))
    result.run_created = _demo_reconciliation(departments[CIVIL_AFFAIRS], users.get("data.mzj"))
    return result
