"""The demo city's data resource catalogue: 40-odd resources of the 六安 departments, in every state.

``load()`` builds it through the services, as the departments' data officers (or the catalogue
office on behalf of departments that have none in the demo) and the office's administrator, so the
demo leaves the same audit trail and obeys the same rules as real use. It runs after the identity
demo (departments and accounts) and, for the demand list's service items, after the catalogue demo.

Idempotent: a resource is looked up by provider and name, a demand by department, target and
purpose, a responsibility entry by resource, department and duty; only what is missing is created.

Every demo resource has a classification of its own (类/项/目 below), so each is the first under it
and gets the sequence number 000001: the codes are stable, and those the exchange serves from the
base databases, an upstream system and the licence library are the module constants below. The 项
codes of the departmental category (类 3) number the demo departments; they are the demo's, not a
national table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.models import ServiceItem
from tongban.identity.models import Department, User
from tongban.resources import services
from tongban.resources.choices import DemandStatus, Duty
from tongban.resources.models import DataResource, ResourceDemand, ResourceResponsibility

# The codes the exchange and the base databases refer to.
POPULATION_CODE = "101001/000001"  # 人口基础信息, 市公安局, 有条件共享
LEGAL_ENTITY_CODE = "102001/000001"  # 法人单位基础信息, 市市场监管局, 无条件共享
MARRIAGE_CODE = "303001/000001"  # 婚姻登记信息, 市民政局, 有条件共享 (served by an upstream system)
SOCIAL_INSURANCE_CODE = "304001/000001"  # 社会保险参保信息, 市人社局, 有条件共享
LICENCE_LIBRARY_CODE = "105002/000001"  # 电子证照库, 市数据资源局, 有条件共享 (served from the licences)

OFFICE_DATA_OFFICER = "data.sjj"
OFFICE_REVIEWER = "admin"
# The demo's data officers by department; a department without one is catalogued by the office.
DATA_OFFICERS = {
    "luan-gaj": "data.gaj",
    "luan-mzj": "data.mzj",
    "luan-scjgj": "data.scjgj",
    "luan-rsj": "data.rsj",
    "luan-sjj": "data.sjj",
}

DRAFT = "draft"
RETURNED = "returned"
IN_REVIEW = "in_review"
PUBLISHED = "published"
CORRECTION = "correction"  # published, with a correction in review
RETIRED = "retired"

_FOR_SERVICES = (
    "仅限政务服务事项办理、监管执法和政务数据核验使用，须经授权，不得用于其他目的，不得向第三方提供。"
)


def item(
    key: str,
    name: str,
    data_type: str,
    length: int | None = None,
    *,
    sensitive: bool = False,
    is_key: bool = False,
    description: str = "",
) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "data_type": data_type,
        "length": length,
        "sensitive": sensitive,
        "is_key": is_key,
        "description": description,
    }


def _rid(name: str = "公民身份号码") -> dict[str, Any]:
    return item("resident_id", name, "string", 18, sensitive=True, is_key=True)


def _person_name() -> dict[str, Any]:
    return item("name", "姓名", "string", 100, sensitive=True)


def _credit(name: str = "统一社会信用代码") -> dict[str, Any]:
    return item("credit_code", name, "string", 18, is_key=True)


@dataclass(frozen=True)
class ResourceSpec:
    provider: str  # department code
    classification: str  # 类 项 目 (细目), separated by spaces
    name: str
    summary: str
    sharing_type: str
    items: tuple[dict[str, Any], ...]
    state: str = PUBLISHED
    days_ago: int = 60  # when it was published (or submitted)
    format: str = "database"
    conditions: str = ""
    basis: str = ""
    modes: tuple[str, ...] = ("interface",)
    open_type: str = "not_open"
    open_conditions: str = ""
    update_cycle: str = "daily"
    related: tuple[str, ...] = ()  # names of resources above in the list
    note: str = ""  # the office's reason (returned, retired) or the correction's reason
    correction_items: tuple[dict[str, Any], ...] = ()  # items a correction adds

    def values(self) -> dict[str, Any]:
        category, item_code, heading, *sub = self.classification.split()
        return {
            "category": category,
            "item_code": item_code,
            "heading_code": heading,
            "subheading_code": sub[0] if sub else "",
            "name": self.name,
            "summary": self.summary,
            "format": self.format,
            "sharing_type": self.sharing_type,
            "sharing_conditions": self.conditions,
            "not_shared_basis": self.basis,
            "sharing_modes": list(self.modes) if self.sharing_type != "not_shared" else [],
            "open_type": self.open_type,
            "open_conditions": self.open_conditions,
            "update_cycle": self.update_cycle,
            "items": list(self.items),
        }


RESOURCES: tuple[ResourceSpec, ...] = (
    # --- 类 1: basic information resources (基础信息资源) ----------------------------------------
    ResourceSpec(
        "luan-gaj",
        "1 01 001",
        "人口基础信息",
        "全市户籍人口和登记居住人口的身份、户籍、民族、婚姻和生存状态等基础信息，由公安户籍数据汇聚，"
        "婚姻状态与民政婚姻登记、生存状态与卫健死亡医学证明和民政火化信息比对核准。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("gender", "性别", "code", 1, description="GB/T 2261.1：1 男，2 女"),
            item("birth_date", "出生日期", "date"),
            item("ethnicity", "民族", "code", 2, description="GB/T 3304"),
            item("household_address", "户籍地址", "string", 255, sensitive=True),
            item("division_code", "户籍地行政区划代码", "code", 12, description="GB/T 2260 及统计用区划代码"),
            item("marital_status", "婚姻状况", "code", 2, description="GB/T 2261.2"),
            item("life_status", "生存状态", "code", 16, description="alive 健在，deceased 死亡"),
        ),
        days_ago=150,
        conditions=_FOR_SERVICES + "身份核验优先使用核验接口，只返回比对结果。",
        modes=("interface",),
        update_cycle="real_time",
    ),
    ResourceSpec(
        "luan-scjgj",
        "1 02 001",
        "法人单位基础信息",
        "在本市登记的企业、个体工商户、农民专业合作社等市场主体和机关、事业单位、社会组织的登记信息，"
        "以统一社会信用代码为标识。",
        "unconditional",
        (
            _credit(),
            item("name", "名称", "string", 200),
            item("entity_type", "市场主体类型", "code", 4),
            item("legal_representative_name", "法定代表人（负责人）姓名", "string", 100, sensitive=True),
            item("legal_representative_id", "法定代表人身份证件号码", "string", 18, sensitive=True),
            item("registered_capital", "注册资本（万元）", "decimal", 18),
            item("address", "住所", "string", 255),
            item("division_code", "住所行政区划代码", "code", 12),
            item("established_on", "成立日期", "date"),
            item("status", "登记状态", "code", 2, description="存续、注销、吊销"),
            item("business_scope", "经营范围", "string", 4000),
            item("registration_authority", "登记机关", "string", 100),
        ),
        days_ago=150,
        modes=("interface", "file"),
        open_type="conditional",
        open_conditions="公示登记事项向社会开放；法定代表人身份证件号码不开放。",
        update_cycle="real_time",
    ),
    ResourceSpec(
        "luan-mzj",
        "1 03 001",
        "行政区划和标准地址信息",
        "全市县（区）、乡镇（街道）、村（社区）行政区划及标准地名地址，供各部门地址规范化和空间定位使用。",
        "unconditional",
        (
            item("address_code", "标准地址编码", "code", 24, is_key=True),
            item("division_code", "行政区划代码", "code", 12),
            item("division_name", "行政区划名称", "string", 100),
            item("address", "标准地址", "string", 255),
            item("longitude", "经度", "decimal", 12),
            item("latitude", "纬度", "decimal", 12),
        ),
        days_ago=140,
        modes=("interface", "file"),
        open_type="unconditional",
        update_cycle="monthly",
    ),
    ResourceSpec(
        "luan-fgw",
        "1 04 001",
        "宏观经济指标信息",
        "地区生产总值、固定资产投资、社会消费品零售总额、居民人均可支配收入等宏观经济指标的月度、季度和年度数据。",
        "unconditional",
        (
            item("series_code", "指标序列编码", "code", 20, is_key=True),
            item("indicator_name", "指标名称", "string", 100),
            item("period", "统计期", "string", 10, description="如 2026-09、2026Q3、2026"),
            item("value", "指标值", "decimal", 20),
            item("unit", "计量单位", "string", 20),
            item("source_department", "来源部门", "string", 100),
        ),
        days_ago=120,
        format="spreadsheet",
        modes=("interface", "file"),
        open_type="unconditional",
        update_cycle="monthly",
    ),
    ResourceSpec(
        "luan-sjj",
        "1 05 001",
        "电子证照目录信息",
        "全市已汇聚电子证照的目录信息：证照类型、颁发部门、持证主体类型和有效期规则，供“免证办”调用电子证照。",
        "unconditional",
        (
            item("licence_type_code", "证照类型代码", "code", 32, is_key=True),
            item("licence_name", "证照名称", "string", 100),
            item("issuing_department", "颁发部门", "string", 100),
            item("holder_type", "持证主体类型", "code", 2, description="1 自然人，2 法人"),
            item("valid_years", "有效期（年）", "integer", 3),
        ),
        days_ago=110,
        update_cycle="weekly",
    ),
    ResourceSpec(
        "luan-sjj",
        "1 05 002",
        "电子证照库",
        "全市各部门签发和汇聚的电子证照：按持证主体（公民身份号码或统一社会信用代码）和证照类型调取"
        "持证人当前有效的证照及其照面信息和颁发部门的数字签名，或核验所持证照信息是否一致。",
        "conditional",
        (
            item(
                "holder_id",
                "持证主体代码",
                "string",
                18,
                sensitive=True,
                is_key=True,
                description="公民身份号码或统一社会信用代码",
            ),
            item("identifier", "电子证照标识", "string", 96, description="GB/T 36904"),
            item("type_code", "证照类型代码", "code", 21, description="GB/T 36902"),
            item("type_name", "证照名称", "string", 100),
            item("holder_name", "持证主体名称", "string", 200, sensitive=True),
            item("number", "证照编号", "string", 64),
            item("issuer_name", "颁发机构", "string", 100),
            item("issued_on", "颁发日期", "date"),
            item("valid_until", "有效期截止日期", "date", description="空为长期有效"),
            item("status", "证照状态", "code", 16, description="valid 有效，revoked 已注销，expired 已过期"),
            item(
                "data",
                "照面信息",
                "string",
                4000,
                sensitive=True,
                description="JSON 对象，键为证照类型的数据项",
            ),
            item("signature", "颁发部门数字签名", "string", 128, description="Ed25519，对证照规范形式签名"),
            item("key_id", "签名密钥标识", "string", 64, description="公钥见 /licences/keys.json"),
            item("signature_valid", "签名核验结果", "boolean", description="调用时核验"),
        ),
        days_ago=100,
        conditions=_FOR_SERVICES + "调用时须注明证照类型代码；每次调取和核验均记入持证人的用证记录。",
        modes=("interface",),
        update_cycle="real_time",
        related=("电子证照目录信息",),
    ),
    ResourceSpec(
        "luan-fgw",
        "1 06 001",
        "公共信用信息",
        "法人和非法人组织的行政许可、行政处罚、守信激励和失信惩戒等公共信用信息，按信用主体归集。",
        "conditional",
        (
            _credit("信用主体统一社会信用代码"),
            item("subject_name", "信用主体名称", "string", 200),
            item("record_type", "信息类别", "code", 4),
            item("content", "信息内容", "string", 2000),
            item("decided_on", "决定日期", "date"),
            item("source_department", "来源部门", "string", 100),
        ),
        state=IN_REVIEW,
        days_ago=3,
        conditions="用于信用分级分类监管和联合奖惩，须经授权。",
        modes=("interface",),
    ),
    # --- 类 2: thematic information resources (主题信息资源) -------------------------------------
    ResourceSpec(
        "luan-mzj",
        "2 01 001",
        "困难群众救助主题信息",
        "汇聚低保、特困、临时救助、残疾人两项补贴和医疗救助对象信息，形成困难群众“一人一档”。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("assistance_type", "救助类别", "code", 4),
            item("since", "纳入救助日期", "date"),
            item("division_code", "所在行政区划代码", "code", 12),
        ),
        state=RETURNED,
        days_ago=5,
        conditions="用于社会救助对象认定和主动发现，须经授权。",
        note="请补充各信息项的来源部门说明，并在共享条件中写明可使用的业务范围。",
    ),
    ResourceSpec(
        "luan-scjgj",
        "2 04 001",
        "企业开办主题信息",
        "企业开办“一网通办”全流程信息：设立登记、公章刻制、发票申领、社保和公积金开户的办理环节和时间。",
        "unconditional",
        (
            _credit(),
            item("name", "企业名称", "string", 200),
            item("registered_on", "设立登记日期", "date"),
            item("seal_made_on", "公章刻制日期", "date"),
            item("invoice_issued_on", "首次申领发票日期", "date"),
        ),
        state=CORRECTION,
        days_ago=90,
        modes=("interface", "query"),
        open_type="conditional",
        open_conditions="按统计口径汇总后向社会开放，不开放单个企业的办理记录。",
        related=("法人单位基础信息",),
        note="增加社保开户和公积金开户日期两个信息项。",
        correction_items=(
            item("social_insurance_opened_on", "社保开户日期", "date"),
            item("housing_fund_opened_on", "公积金开户日期", "date"),
        ),
    ),
    # --- 类 3: departmental information resources (部门信息资源) ---------------------------------
    # 01 市数据资源局
    ResourceSpec(
        "luan-sjj",
        "3 01 001",
        "政务服务事项目录信息",
        "全市政务服务事项的基本目录和实施清单：事项编码、名称、实施部门、办理时限、申请材料和办理流程。",
        "unconditional",
        (
            item("implementation_code", "实施编码", "string", 50, is_key=True),
            item("basic_code", "基本编码", "string", 32),
            item("name", "事项名称", "string", 200),
            item("department", "实施部门", "string", 100),
            item("promised_days", "承诺办结时限（工作日）", "integer", 4),
        ),
        days_ago=100,
        modes=("interface", "file", "query"),
        open_type="unconditional",
    ),
    ResourceSpec(
        "luan-sjj",
        "3 01 002",
        "政务服务好差评信息",
        "办事群众和企业对政务服务事项、窗口和工作人员的评价及整改情况。",
        "unconditional",
        (
            item("evaluation_id", "评价编号", "string", 32, is_key=True),
            item("implementation_code", "事项实施编码", "string", 50),
            item("grade", "评价等级", "code", 1, description="1 非常不满意 … 5 非常满意"),
            item("evaluated_at", "评价时间", "datetime"),
            item("rectified", "是否已整改", "boolean"),
        ),
        state=DRAFT,
        modes=("interface", "query"),
        open_type="conditional",
        open_conditions="按事项和部门汇总的评价结果向社会公开。",
    ),
    # 02 市公安局
    ResourceSpec(
        "luan-gaj",
        "3 02 001",
        "居民户籍迁移信息",
        "户口迁入、迁出和市内迁移记录，含迁移类型、迁出地、迁入地和办理日期。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("move_type", "迁移类型", "code", 2),
            item("from_address", "迁出地址", "string", 255, sensitive=True),
            item("to_address", "迁入地址", "string", 255, sensitive=True),
            item("moved_on", "迁移日期", "date"),
        ),
        days_ago=130,
        conditions=_FOR_SERVICES,
        related=("人口基础信息",),
    ),
    ResourceSpec(
        "luan-gaj",
        "3 02 002",
        "机动车驾驶证信息",
        "本市核发的机动车驾驶证的准驾车型、初领日期、有效期和状态。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("licence_class", "准驾车型", "code", 4),
            item("first_issued_on", "初次领证日期", "date"),
            item("valid_until", "有效期止", "date"),
            item("status", "驾驶证状态", "code", 2),
        ),
        days_ago=95,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-gaj",
        "3 02 003",
        "出入境证件信息",
        "本市居民普通护照和往来港澳台通行证的签发记录。",
        "not_shared",
        (
            _rid(),
            item("document_type", "证件类型", "code", 2),
            item("document_no", "证件号码", "string", 20, sensitive=True),
            item("valid_until", "有效期止", "date"),
        ),
        days_ago=80,
        basis="《中华人民共和国出境入境管理法》及公安机关出入境证件信息管理规定：出入境证件信息涉及公民出入境活动，不予共享。",
        update_cycle="real_time",
    ),
    ResourceSpec(
        "luan-gaj",
        "3 02 004",
        "流动人口居住登记信息",
        "在本市居住半年以上的流动人口的居住登记和居住证办理信息。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("residence_address", "居住地址", "string", 255, sensitive=True),
            item("registered_on", "登记日期", "date"),
            item("permit_valid_until", "居住证有效期止", "date"),
        ),
        state=IN_REVIEW,
        days_ago=2,
        conditions="用于积分落户、子女入学和公共服务资格审核，须经授权。",
    ),
    # 03 市民政局
    ResourceSpec(
        "luan-mzj",
        "3 03 001",
        "婚姻登记信息",
        "内地居民结婚、离婚和补领婚姻登记证的登记记录（由市民政局婚姻登记系统提供）。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("marital_status", "婚姻状况", "code", 2, description="GB/T 2261.2"),
            item("registered_on", "登记日期", "date"),
            item("registration_office", "登记机关", "string", 100),
        ),
        days_ago=125,
        conditions=_FOR_SERVICES + "不返回配偶信息。",
        related=("人口基础信息",),
        update_cycle="real_time",
    ),
    ResourceSpec(
        "luan-mzj",
        "3 03 002",
        "最低生活保障对象信息",
        "城乡最低生活保障家庭和成员的认定信息、保障人数和月保障金额。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("household_size", "保障人数", "integer", 2),
            item("monthly_allowance", "月保障金额（元）", "decimal", 10),
            item("approved_on", "审核确认日期", "date"),
            item("division_code", "所在行政区划代码", "code", 12),
        ),
        days_ago=85,
        conditions="用于社会救助、教育资助、医疗救助等资格认定，须经授权。",
        modes=("interface", "query"),
        update_cycle="monthly",
    ),
    ResourceSpec(
        "luan-mzj",
        "3 03 003",
        "社会组织登记信息",
        "在本市登记的社会团体、民办非企业单位和基金会的登记、年检和评估等级信息。",
        "unconditional",
        (
            _credit(),
            item("name", "社会组织名称", "string", 200),
            item("organisation_type", "社会组织类型", "code", 2),
            item("registered_on", "成立登记日期", "date"),
            item("rating", "评估等级", "code", 2),
        ),
        days_ago=75,
        modes=("interface", "file"),
        open_type="unconditional",
    ),
    ResourceSpec(
        "luan-mzj",
        "3 03 004",
        "殡葬火化信息",
        "殡仪馆火化登记记录，用于死亡人员比对、养老待遇停发和户口注销。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("cremated_on", "火化日期", "date"),
            item("funeral_home", "殡仪馆", "string", 100),
        ),
        days_ago=70,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-mzj",
        "3 03 005",
        "特困人员救助供养信息",
        "特困人员认定、供养方式和供养标准信息。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("care_mode", "供养方式", "code", 1, description="1 集中供养，2 分散供养"),
            item("since", "认定日期", "date"),
        ),
        state=DRAFT,
        conditions="用于社会救助资格认定，须经授权。",
    ),
    # 04 市人社局
    ResourceSpec(
        "luan-rsj",
        "3 04 001",
        "社会保险参保信息",
        "企业职工和城乡居民基本养老、失业、工伤保险的参保状态、险种和首次参保日期。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("insured", "是否参保", "boolean"),
            item("insurance_types", "参保险种", "string", 100, description="如 养老、失业、工伤，以“、”分隔"),
            item("since", "首次参保日期", "date"),
        ),
        days_ago=120,
        conditions=_FOR_SERVICES,
        related=("人口基础信息",),
    ),
    ResourceSpec(
        "luan-rsj",
        "3 04 002",
        "就业登记信息",
        "劳动者就业、失业登记信息和就业创业证办理信息。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("employment_status", "就业状态", "code", 2),
            item("employer_credit_code", "就业单位统一社会信用代码", "string", 18),
            item("registered_on", "登记日期", "date"),
        ),
        days_ago=65,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-rsj",
        "3 04 003",
        "养老保险待遇领取信息",
        "企业职工和城乡居民基本养老保险待遇的领取资格、月领取金额和领取状态。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("monthly_amount", "月领取金额（元）", "decimal", 10),
            item("since", "开始领取日期", "date"),
            item("status", "领取状态", "code", 2),
        ),
        days_ago=60,
        conditions=_FOR_SERVICES,
        related=("社会保险参保信息",),
        update_cycle="monthly",
    ),
    ResourceSpec(
        "luan-rsj",
        "3 04 004",
        "职业资格证书信息",
        "本市核发的职业资格证书和职业技能等级证书信息。",
        "unconditional",
        (
            item("certificate_no", "证书编号", "string", 32, is_key=True),
            _person_name(),
            item("occupation", "职业（工种）", "string", 100),
            item("level", "等级", "code", 2),
            item("issued_on", "发证日期", "date"),
        ),
        state=IN_REVIEW,
        days_ago=4,
        modes=("interface", "query"),
        open_type="conditional",
        open_conditions="凭证书编号和姓名提供真伪查询。",
    ),
    # 05 市市场监管局
    ResourceSpec(
        "luan-scjgj",
        "3 05 001",
        "企业年度报告信息",
        "企业年度报告公示信息：从业人数、资产状况、对外投资和网站网店。",
        "unconditional",
        (
            _credit(),
            item("year", "报告年度", "integer", 4),
            item("employees", "从业人数", "integer", 8),
            item("total_assets", "资产总额（万元）", "decimal", 18),
            item("reported_on", "报送日期", "date"),
        ),
        days_ago=100,
        modes=("interface", "file"),
        open_type="unconditional",
        update_cycle="yearly",
        related=("法人单位基础信息",),
    ),
    ResourceSpec(
        "luan-scjgj",
        "3 05 002",
        "市场监管行政处罚信息",
        "市场监管部门作出的行政处罚决定的公示信息。",
        "unconditional",
        (
            item("decision_no", "处罚决定书文号", "string", 64, is_key=True),
            item("credit_code", "当事人统一社会信用代码", "string", 18),
            item("party_name", "当事人名称", "string", 200),
            item("violation", "违法行为类型", "string", 200),
            item("penalty", "处罚内容", "string", 1000),
            item("decided_on", "处罚决定日期", "date"),
        ),
        days_ago=90,
        modes=("interface", "file", "query"),
        open_type="unconditional",
        related=("法人单位基础信息",),
    ),
    ResourceSpec(
        "luan-scjgj",
        "3 05 003",
        "食品经营许可证信息",
        "食品经营许可证的许可项目、经营场所、有效期和变更注销信息。",
        "unconditional",
        (
            item("licence_no", "许可证编号", "string", 20, is_key=True),
            item("credit_code", "经营者统一社会信用代码", "string", 18),
            item("operator_name", "经营者名称", "string", 200),
            item("premises", "经营场所", "string", 255),
            item("valid_until", "有效期至", "date"),
        ),
        state=IN_REVIEW,
        days_ago=1,
        modes=("interface", "query"),
        open_type="unconditional",
    ),
    ResourceSpec(
        "luan-scjgj",
        "3 05 004",
        "个体工商户登记信息",
        "个体工商户的设立、变更和注销登记信息。",
        "conditional",
        (
            _credit(),
            item("name", "字号名称", "string", 200),
            item("operator_name", "经营者姓名", "string", 100, sensitive=True),
            item("operator_id", "经营者身份证件号码", "string", 18, sensitive=True),
            item("premises", "经营场所", "string", 255),
        ),
        state=DRAFT,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-scjgj",
        "3 05 005",
        "特种设备使用登记信息（旧版）",
        "原市级特种设备使用登记台账。",
        "unconditional",
        (
            item("registration_no", "使用登记证编号", "string", 32, is_key=True),
            item("equipment_type", "设备类别", "code", 4),
            item("user_name", "使用单位名称", "string", 200),
        ),
        state=RETIRED,
        days_ago=200,
        note="已由省特种设备安全监管系统统一编目并提供，本目录条目撤销。",
    ),
    # 06 市住建局
    ResourceSpec(
        "luan-zjj",
        "3 06 001",
        "商品房预售许可信息",
        "商品房预售许可证的项目、预售范围、套数和面积信息。",
        "unconditional",
        (
            item("permit_no", "预售许可证号", "string", 32, is_key=True),
            item("project_name", "项目名称", "string", 200),
            item("developer_credit_code", "开发企业统一社会信用代码", "string", 18),
            item("units", "预售套数", "integer", 6),
            item("area", "预售面积（平方米）", "decimal", 12),
            item("issued_on", "发证日期", "date"),
        ),
        days_ago=88,
        modes=("interface", "query"),
        open_type="unconditional",
    ),
    ResourceSpec(
        "luan-zjj",
        "3 06 002",
        "建筑业企业资质信息",
        "本市建筑业企业资质证书的资质类别、等级和有效期。",
        "unconditional",
        (
            _credit("企业统一社会信用代码"),
            item("certificate_no", "资质证书编号", "string", 32),
            item("qualification", "资质类别及等级", "string", 200),
            item("valid_until", "有效期至", "date"),
        ),
        days_ago=78,
        modes=("interface", "query"),
        open_type="unconditional",
        update_cycle="weekly",
    ),
    ResourceSpec(
        "luan-zjj",
        "3 06 003",
        "房屋网签备案信息",
        "新建商品房和存量房买卖合同网签备案信息。",
        "conditional",
        (
            item("contract_no", "合同备案号", "string", 32, is_key=True),
            item("buyer_id", "买受人身份证件号码", "string", 18, sensitive=True),
            item("house_address", "房屋坐落", "string", 255),
            item("price", "成交价格（元）", "decimal", 14, sensitive=True),
            item("filed_on", "备案日期", "date"),
        ),
        state=DRAFT,
        conditions="用于不动产登记、公积金贷款和税费征收，须经授权。",
    ),
    # 07 市卫健委
    ResourceSpec(
        "luan-wjw",
        "3 07 001",
        "出生医学证明信息",
        "本市助产机构签发的出生医学证明信息，用于出生登记“一件事”。",
        "conditional",
        (
            item("certificate_no", "出生医学证明编号", "string", 20, is_key=True),
            item("newborn_name", "新生儿姓名", "string", 100, sensitive=True),
            item("birth_date", "出生日期", "date"),
            item("mother_id", "母亲身份证件号码", "string", 18, sensitive=True),
            item("father_id", "父亲身份证件号码", "string", 18, sensitive=True),
            item("institution", "助产机构", "string", 200),
        ),
        days_ago=115,
        conditions=_FOR_SERVICES,
        update_cycle="real_time",
    ),
    ResourceSpec(
        "luan-wjw",
        "3 07 002",
        "居民死亡医学证明信息",
        "医疗卫生机构签发的居民死亡医学证明（推断）书信息。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("died_on", "死亡日期", "date"),
            item("certificate_no", "死亡医学证明编号", "string", 20),
        ),
        days_ago=105,
        conditions=_FOR_SERVICES + "不返回死亡原因。",
        related=("人口基础信息", "殡葬火化信息"),
        update_cycle="real_time",
    ),
    ResourceSpec(
        "luan-wjw",
        "3 07 003",
        "医疗机构执业登记信息",
        "医疗机构执业许可证的机构名称、类别、诊疗科目和有效期。",
        "unconditional",
        (
            item("licence_no", "登记号", "string", 32, is_key=True),
            item("name", "机构名称", "string", 200),
            item("category", "机构类别", "code", 4),
            item("departments", "诊疗科目", "string", 1000),
            item("valid_until", "有效期至", "date"),
        ),
        days_ago=98,
        modes=("interface", "query"),
        open_type="unconditional",
        update_cycle="weekly",
    ),
    ResourceSpec(
        "luan-wjw",
        "3 07 004",
        "预防接种信息",
        "儿童和成人的疫苗接种记录。",
        "not_shared",
        (
            _rid("受种者身份证件号码"),
            item("vaccine", "疫苗名称", "string", 100, sensitive=True),
            item("dose", "剂次", "integer", 2, sensitive=True),
            item("vaccinated_on", "接种日期", "date", sensitive=True),
        ),
        days_ago=92,
        basis="《中华人民共和国疫苗管理法》《中华人民共和国个人信息保护法》：预防接种记录属于个人健康信息，"
        "不予共享；入托入学查验由接种单位出具查验结果。",
    ),
    # 08 市医保局
    ResourceSpec(
        "luan-ybj",
        "3 08 001",
        "医疗保险参保信息",
        "职工和城乡居民基本医疗保险的参保状态、参保类别和参保地。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("insured", "是否参保", "boolean"),
            item("scheme", "参保类别", "code", 2),
            item("division_code", "参保地行政区划代码", "code", 12),
        ),
        days_ago=110,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-ybj",
        "3 08 002",
        "定点医药机构信息",
        "医保定点医疗机构和定点零售药店的名称、地址和服务范围。",
        "unconditional",
        (
            item("institution_code", "定点机构编码", "string", 20, is_key=True),
            item("name", "机构名称", "string", 200),
            item("address", "地址", "string", 255),
            item("kind", "机构类型", "code", 2),
        ),
        days_ago=96,
        modes=("interface", "file", "query"),
        open_type="unconditional",
        update_cycle="weekly",
    ),
    ResourceSpec(
        "luan-ybj",
        "3 08 003",
        "医疗费用结算明细信息",
        "参保人员就医购药的医疗费用结算明细。",
        "not_shared",
        (
            item("settlement_no", "结算流水号", "string", 40, is_key=True),
            item("resident_id", "参保人身份证件号码", "string", 18, sensitive=True),
            item("diagnosis", "诊断", "string", 200, sensitive=True),
            item("amount", "医疗费用总额（元）", "decimal", 12, sensitive=True),
        ),
        state=IN_REVIEW,
        days_ago=2,
        basis="《医疗保障基金使用监督管理条例》《中华人民共和国个人信息保护法》：结算明细含个人诊疗信息，不予共享。",
    ),
    # 09 市税务局
    ResourceSpec(
        "luan-swj",
        "3 09 001",
        "纳税人登记信息",
        "单位和个体纳税人的税务登记、纳税人资格和主管税务机关信息。",
        "conditional",
        (
            _credit("纳税人识别号"),
            item("name", "纳税人名称", "string", 200),
            item("taxpayer_type", "纳税人资格类型", "code", 2),
            item("tax_office", "主管税务机关", "string", 100),
        ),
        days_ago=108,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-swj",
        "3 09 002",
        "纳税信用等级信息",
        "纳税人年度纳税信用等级评价结果；A 级纳税人名单向社会公开。",
        "unconditional",
        (
            _credit("纳税人识别号"),
            item("name", "纳税人名称", "string", 200),
            item("year", "评价年度", "integer", 4),
            item("grade", "纳税信用等级", "code", 1),
        ),
        days_ago=70,
        modes=("interface", "query"),
        open_type="conditional",
        open_conditions="仅公开 A 级纳税人名单。",
        update_cycle="yearly",
    ),
    ResourceSpec(
        "luan-swj",
        "3 09 003",
        "完税信息",
        "纳税人（含个人）的税款缴纳记录和完税证明信息。",
        "conditional",
        (
            _rid("纳税人身份证件号码"),
            _person_name(),
            item("tax_type", "税种", "code", 4),
            item("amount", "实缴税额（元）", "decimal", 14, sensitive=True),
            item("paid_on", "缴款日期", "date"),
        ),
        days_ago=66,
        conditions=_FOR_SERVICES,
    ),
    ResourceSpec(
        "luan-swj",
        "3 09 004",
        "欠税公告信息",
        "依法公告的欠缴税款纳税人信息。",
        "unconditional",
        (
            _credit("纳税人识别号"),
            item("name", "纳税人名称", "string", 200),
            item("amount", "欠税余额（元）", "decimal", 14),
        ),
        state=RETIRED,
        days_ago=180,
        open_type="unconditional",
        note="欠税公告已并入纳税信用等级信息和公共信用信息统一发布，本条目撤销。",
    ),
    # 10 市公积金中心
    ResourceSpec(
        "luan-gjj",
        "3 10 001",
        "住房公积金缴存信息",
        "职工住房公积金账户的缴存状态、缴存基数、月缴存额和缴存单位。",
        "conditional",
        (
            _rid(),
            _person_name(),
            item("account_status", "账户状态", "code", 2),
            item("monthly_deposit", "月缴存额（元）", "decimal", 10),
            item("employer_credit_code", "缴存单位统一社会信用代码", "string", 18),
        ),
        days_ago=102,
        conditions=_FOR_SERVICES,
        update_cycle="monthly",
    ),
    ResourceSpec(
        "luan-gjj",
        "3 10 002",
        "住房公积金贷款信息",
        "住房公积金个人住房贷款的发放、余额和还款状态。",
        "conditional",
        (
            _rid("借款人身份证件号码"),
            _person_name(),
            item("loan_amount", "贷款金额（元）", "decimal", 12),
            item("balance", "贷款余额（元）", "decimal", 12, sensitive=True),
            item("status", "还款状态", "code", 2),
        ),
        state=IN_REVIEW,
        days_ago=6,
        conditions="用于住房保障和购房资格审核，须经授权。",
    ),
    # 11 市不动产登记中心
    ResourceSpec(
        "luan-bdc",
        "3 11 001",
        "不动产登记信息",
        "不动产权利人、坐落、面积、用途和权利类型等登记簿信息。",
        "conditional",
        (
            item("unit_no", "不动产单元号", "string", 28, is_key=True),
            item("owner_id", "权利人身份证件号码", "string", 18, sensitive=True),
            item("owner_name", "权利人名称", "string", 200, sensitive=True),
            item("location", "坐落", "string", 255),
            item("area", "面积（平方米）", "decimal", 12),
            item("right_type", "权利类型", "code", 4),
        ),
        days_ago=112,
        conditions=_FOR_SERVICES + "按权利人查询须经本人授权或依法定职权。",
    ),
    ResourceSpec(
        "luan-bdc",
        "3 11 002",
        "不动产抵押登记信息",
        "不动产抵押权的设立、变更和注销登记信息。",
        "conditional",
        (
            item("unit_no", "不动产单元号", "string", 28, is_key=True),
            item("mortgagee", "抵押权人", "string", 200),
            item("amount", "被担保主债权数额（万元）", "decimal", 14),
            item("registered_on", "登记日期", "date"),
        ),
        state=DRAFT,
        conditions=_FOR_SERVICES,
        related=("不动产登记信息",),
    ),
)


@dataclass(frozen=True)
class DemandSpec:
    department: str
    purpose: str
    resource: str = ""  # the name of a demo resource, or "" for data not catalogued
    description: str = ""
    items: tuple[str, ...] = ()
    service_items: tuple[str, ...] = ()  # names of the catalogue demo's service items
    answer: tuple[str, str] | None = None  # (status, answer)
    by: str = ""  # username, if not the department's data officer


DEMANDS: tuple[DemandSpec, ...] = (
    DemandSpec(
        "luan-gaj",
        "夫妻投靠落户时核验双方婚姻关系，免交结婚证复印件。",
        resource="婚姻登记信息",
        items=("resident_id", "name", "marital_status", "registered_on"),
        service_items=("户口迁移（市内迁移）",),
        answer=(DemandStatus.SATISFIED, "已按有条件共享发布，请通过交换平台申请授权，用途限户籍业务。"),
    ),
    DemandSpec(
        "luan-rsj",
        "养老保险待遇领取资格认证：按月比对领取人员的生存状态，及时停发死亡人员待遇。",
        resource="人口基础信息",
        items=("resident_id", "name", "life_status"),
        service_items=("企业职工基本养老保险待遇申领", "丧葬补助金、抚恤金申领"),
    ),
    DemandSpec(
        "luan-mzj",
        "低保审核确认时核对申请家庭成员的就业和参保情况。",
        resource="社会保险参保信息",
        items=("resident_id", "insured", "insurance_types"),
        service_items=("最低生活保障审核确认",),
        answer=(DemandStatus.SATISFIED, "同意共享，已开放核验和查询接口。"),
    ),
    DemandSpec(
        "luan-scjgj",
        "企业信用风险分类管理：按纳税信用等级调整“双随机”抽查比例。",
        resource="纳税信用等级信息",
        items=("credit_code", "grade", "year"),
        service_items=("有限责任公司设立登记",),
    ),
    DemandSpec(
        "luan-mzj",
        "低保家庭经济状况核对：核查申请家庭名下的机动车辆。",
        description="机动车登记信息（车辆所有人、号牌、品牌型号、登记日期），由公安交管部门掌握",
        items=("车辆所有人身份证件号码", "号牌号码", "初次登记日期"),
        service_items=("最低生活保障审核确认",),
    ),
    DemandSpec(
        "luan-jyj",
        "入学报名时核验儿童预防接种完成情况。",
        resource="预防接种信息",
        items=("resident_id", "vaccine"),
        by=OFFICE_DATA_OFFICER,
        answer=(
            DemandStatus.DECLINED,
            "预防接种记录属于个人健康信息，依法不予共享；入学查验请由接种单位出具《预防接种证》查验结果。",
        ),
    ),
)

# (resource name, department, duty, contact name, contact phone)
RESPONSIBILITIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("人口基础信息", "luan-gaj", Duty.COLLECT, "王立新", "0564-3378101"),
    ("人口基础信息", "luan-gaj", Duty.MAINTAIN, "王立新", "0564-3378101"),
    ("人口基础信息", "luan-gaj", Duty.QUALITY, "李秀英", "0564-3378102"),
    ("人口基础信息", "luan-sjj", Duty.SERVE, "钱进", "0564-3371201"),
    ("法人单位基础信息", "luan-scjgj", Duty.COLLECT, "陈海燕", "0564-3362301"),
    ("法人单位基础信息", "luan-scjgj", Duty.QUALITY, "陈海燕", "0564-3362301"),
    ("法人单位基础信息", "luan-sjj", Duty.SERVE, "钱进", "0564-3371201"),
    ("婚姻登记信息", "luan-mzj", Duty.COLLECT, "刘红梅", "0564-3335401"),
    ("婚姻登记信息", "luan-mzj", Duty.MAINTAIN, "刘红梅", "0564-3335401"),
    ("婚姻登记信息", "luan-mzj", Duty.SERVE, "张建华", "13905640311"),
    ("社会保险参保信息", "luan-rsj", Duty.COLLECT, "赵文静", "0564-3326501"),
    ("社会保险参保信息", "luan-rsj", Duty.QUALITY, "赵文静", "0564-3326501"),
    ("社会保险参保信息", "luan-sjj", Duty.SERVE, "钱进", "0564-3371201"),
)


@dataclass
class DemoResult:
    resources_created: int = 0
    demands_created: int = 0
    responsibilities_created: int = 0
    codes: dict[str, str] = field(default_factory=dict)  # resource name -> code, for every demo resource

    @property
    def changed(self) -> bool:
        return bool(self.resources_created or self.demands_created or self.responsibilities_created)


class _Demo:
    def __init__(self) -> None:
        self.now = timezone.now()
        self.users = {
            u.username: u
            for u in User.objects.filter(
                username__in=[*DATA_OFFICERS.values(), OFFICE_DATA_OFFICER, OFFICE_REVIEWER]
            ).select_related("department")
        }
        missing = {*DATA_OFFICERS.values(), OFFICE_REVIEWER} - set(self.users)
        if missing:
            raise RuntimeError(
                f"the identity demo must run first (missing accounts: {', '.join(sorted(missing))})"
            )
        self.departments = {d.code: d for d in Department.objects.all()}
        self.result = DemoResult()

    def ago(self, days: int, hours: int = 0) -> dt.datetime:
        return self.now - dt.timedelta(days=days, hours=hours)

    def officer_of(self, department: str) -> User:
        return self.users[DATA_OFFICERS.get(department, OFFICE_DATA_OFFICER)]

    @property
    def reviewer(self) -> User:
        return self.users[OFFICE_REVIEWER]

    def resource(self, provider: str, name: str) -> DataResource | None:
        return DataResource.objects.filter(provider__code=provider, name=name).first()

    def by_name(self, name: str) -> DataResource:
        resource = DataResource.objects.filter(name=name).order_by("pk").first()
        if resource is None:  # pragma: no cover - the specs name resources listed before them
            raise RuntimeError(f"demo resource {name} is not there")
        return resource

    def load_resource(self, spec: ResourceSpec) -> DataResource:
        existing = self.resource(spec.provider, spec.name)
        if existing is not None:
            return existing
        by = self.officer_of(spec.provider)
        values = spec.values()
        values["related_codes"] = [self.by_name(name).code for name in spec.related]
        resource = services.resource_create(by=by, provider=self.departments[spec.provider], **values)
        self.result.resources_created += 1
        # Dated like the rest of the demo: registered a week before it was submitted.
        DataResource.objects.filter(pk=resource.pk).update(created_at=self.ago(spec.days_ago + 7))
        if spec.state == DRAFT:
            return resource
        submitted = self.ago(spec.days_ago + 2, 3) if spec.state != IN_REVIEW else self.ago(spec.days_ago)
        services.resource_submit(resource=resource, by=by, at=submitted)
        if spec.state == IN_REVIEW:
            return resource
        if spec.state == RETURNED:
            return services.resource_return(
                resource=resource, by=self.reviewer, reason=spec.note, at=self.ago(spec.days_ago)
            )
        services.resource_publish(resource=resource, by=self.reviewer, at=self.ago(spec.days_ago))
        if spec.state == RETIRED:
            services.resource_retire(
                resource=resource, by=self.reviewer, reason=spec.note, at=self.ago(max(spec.days_ago // 3, 1))
            )
        elif spec.state == CORRECTION:
            correction = services.correction_save(
                resource=resource,
                by=by,
                reason=spec.note,
                items=[*spec.items, *spec.correction_items],
            )
            services.correction_submit(correction=correction, by=by)
        resource.refresh_from_db()
        return resource

    def service_items(self, names: tuple[str, ...]) -> list[ServiceItem]:
        if not names:
            return []
        return list(catalog_selectors.published_items().filter(current_version__name__in=names))

    def load_demand(self, spec: DemandSpec) -> None:
        department = self.departments[spec.department]
        resource = self.by_name(spec.resource) if spec.resource else None
        exists = ResourceDemand.objects.filter(
            department=department, resource=resource, description=spec.description, purpose=spec.purpose
        ).exists()
        if exists:
            return
        by = self.users[spec.by] if spec.by else self.officer_of(spec.department)
        demand = services.demand_create(
            by=by,
            department=department,
            resource=resource,
            description=spec.description,
            items=spec.items,
            service_items=self.service_items(spec.service_items),
            purpose=spec.purpose,
        )
        self.result.demands_created += 1
        if spec.answer is not None:
            status, answer = spec.answer
            answering = self.officer_of(resource.provider.code) if resource is not None else self.reviewer
            services.demand_answer(demand=demand, by=answering, status=status, answer=answer)

    def load_responsibility(self, entry: tuple[str, str, str, str, str]) -> None:
        name, department_code, duty, contact, phone = entry
        resource = self.by_name(name)
        department = self.departments[department_code]
        if ResourceResponsibility.objects.filter(
            resource=resource, department=department, duty=duty
        ).exists():
            return
        services.responsibility_set(
            resource=resource,
            by=self.officer_of(resource.provider.code),
            department=department,
            duty=duty,
            contact_name=contact,
            contact_phone=phone,
        )
        self.result.responsibilities_created += 1


@transaction.atomic
def load() -> DemoResult:
    """Build the demo catalogue, its demands and responsibilities; create only what is missing."""
    demo = _Demo()
    for spec in RESOURCES:
        resource = demo.load_resource(spec)
        demo.result.codes[spec.name] = resource.code
    for demand in DEMANDS:
        demo.load_demand(demand)
    for entry in RESPONSIBILITIES:
        demo.load_responsibility(entry)
    return demo.result
