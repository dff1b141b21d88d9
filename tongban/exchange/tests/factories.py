"""Test data for the exchange: a published resource with items, its source, people, systems, grants."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, set_token_value

from tongban.basedata.models import LegalEntity, Person
from tongban.exchange.choices import GrantStatus, SourceKind
from tongban.exchange.models import AccessGrant, ResourceSource
from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.services import clients
from tongban.identity.tests.factories import (
    DepartmentFactory,
    StaffFactory,
    make_credit_code,
    make_resident_id,
)
from tongban.resources.models import DataItem, DataResource

POPULATION_ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("resident_id", "公民身份号码", "string", True),
    ("name", "姓名", "string", False),
    ("gender", "性别", "code", False),
    ("birth_date", "出生日期", "date", False),
    ("ethnicity", "民族", "code", False),
    ("household_address", "户籍地址", "string", False),
    ("division_code", "行政区划代码", "code", False),
    ("marital_status", "婚姻状况", "code", False),
    ("life_status", "生存状态", "code", False),
)
LEGAL_ENTITY_ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("credit_code", "统一社会信用代码", "string", True),
    ("name", "名称", "string", False),
    ("legal_representative_name", "法定代表人", "string", False),
    ("registered_capital", "注册资本", "decimal", False),
    ("established_on", "成立日期", "date", False),
    ("status", "登记状态", "code", False),
)

LICENCE_ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("holder_id", "持证主体代码", "string", True),
    ("identifier", "电子证照标识", "string", False),
    ("type_code", "证照类型代码", "code", False),
    ("type_name", "证照名称", "string", False),
    ("holder_name", "持证主体名称", "string", False),
    ("number", "证照编号", "string", False),
    ("issuer_name", "颁发机构", "string", False),
    ("issued_on", "颁发日期", "date", False),
    ("valid_until", "有效期截止日期", "date", False),
    ("status", "证照状态", "code", False),
    ("data", "照面信息", "string", False),
    ("signature", "颁发部门数字签名", "string", False),
    ("key_id", "签名密钥标识", "string", False),
    ("signature_valid", "签名核验结果", "boolean", False),
)

_codes = iter(range(1, 10**6))


def department(code: str, name: str, division: str = "341500") -> Department:
    dept: Any = DepartmentFactory(code=code, name=name, division_code=division)
    if not dept.credit_code:
        dept.credit_code = make_credit_code("341500").replace("91", "11", 1)
        dept.save(update_fields=["credit_code"])
    return dept


def data_officer(dept: Department, **kwargs: Any) -> User:
    officer: Any = StaffFactory(department=dept, roles=[Role.DATA_OFFICER], **kwargs)
    return officer


def resource(
    provider: Department,
    *,
    name: str = "人口基础信息",
    items: Sequence[tuple[str, str, str, bool]] = POPULATION_ITEMS,
    sharing_type: str = "conditional",
    status: str = "published",
    dataset: str | None = "population",
    sensitive: Sequence[str] = ("name", "household_address"),
) -> DataResource:
    n = next(_codes)
    res = DataResource.objects.create(
        code=f"101001{n:03d}/{n:06d}",
        category="1",
        item_code="01",
        heading_code="001",
        subheading_code=f"{n % 1000:03d}",
        name=name,
        provider=provider,
        provider_code=provider.credit_code or "",
        summary=f"{name}（测试）",
        format="database",
        sharing_type=sharing_type,
        sharing_conditions="用于政务服务事项办理" if sharing_type == "conditional" else "",
        not_shared_basis="《测试依据》" if sharing_type == "not_shared" else "",
        sharing_modes=["interface"],
        open_type="not_open",
        update_cycle="real_time",
        status=status,
        published_on=timezone.localdate() if status in ("published", "retired") else None,
    )
    DataItem.objects.bulk_create(
        [
            DataItem(
                resource=res,
                key=key,
                name=label,
                data_type=kind,
                is_key=is_key,
                sensitive=key in sensitive or is_key,
                sort_order=i,
            )
            for i, (key, label, kind, is_key) in enumerate(items)
        ]
    )
    if dataset:
        ResourceSource.objects.create(resource=res, kind=SourceKind.BASEDATA, dataset=dataset)
    return res


def person(**overrides: Any) -> Person:
    values: dict[str, Any] = {
        "resident_id": make_resident_id("341502", "19860312", seq=next(_codes) % 1000),
        "name": "张伟",
        "gender": "1",
        "birth_date": dt.date(1986, 3, 12),
        "ethnicity": "01",
        "household_address": "安徽省六安市金安区梅山南路1号",
        "division_code": "341502",
        "marital_status": "20",
        "life_status": "alive",
        "updated_at": timezone.now(),
        **overrides,
    }
    return Person.objects.create(**values)


def entity(**overrides: Any) -> LegalEntity:
    values: dict[str, Any] = {
        "credit_code": make_credit_code("341500"),
        "name": "六安市测试茶业有限公司",
        "entity_type": "company",
        "legal_representative_id": make_resident_id(),
        "legal_representative_name": "王建国",
        "registered_capital": "500.0000",
        "address": "安徽省六安市裕安区测试路8号",
        "division_code": "341503",
        "established_on": dt.date(2013, 5, 20),
        "status": "active",
        "registration_authority": "六安市市场监督管理局",
        "updated_at": timezone.now(),
        **overrides,
    }
    return LegalEntity.objects.create(**values)


@dataclass
class System:
    client_id: str
    client_secret: str
    token: str
    department: Department

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def system(dept: Department, *, scope: str = "exchange", expires_in: int = 3600) -> System:
    """A registered department system with an access token, as client credentials would issue it."""
    credentials = clients.client_register(
        name=f"{dept.name}业务系统", grant_type="client-credentials", department=dept, by=None
    )
    raw = secrets.token_urlsafe(30)
    token = get_access_token_model()(
        application=credentials.application,
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
        scope=scope,
    )
    set_token_value(token, raw)
    token.save()
    return System(credentials.application.client_id, credentials.client_secret or "", raw, dept)


def grant(
    consumer: Department,
    res: DataResource,
    *,
    items: Sequence[str] = ("name", "gender", "birth_date"),
    status: str = GrantStatus.ACTIVE,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    rate_per_minute: int = 600,
) -> AccessGrant:
    today = timezone.localdate()
    return AccessGrant.objects.create(
        consumer=consumer,
        resource=res,
        items=list(items),
        purpose="办理政务服务事项时核验申请人身份",
        valid_from=valid_from or today - dt.timedelta(days=30),
        valid_until=valid_until or today + dt.timedelta(days=365),
        rate_per_minute=rate_per_minute,
        status=status,
    )


def licence_library(provider: Department, *, sharing_type: str = "conditional") -> DataResource:
    """The electronic licence library as a catalogued resource served from the licences."""
    res = resource(
        provider,
        name="电子证照库",
        items=LICENCE_ITEMS,
        sharing_type=sharing_type,
        dataset=None,
        sensitive=("holder_name", "data"),
    )
    ResourceSource.objects.create(resource=res, kind=SourceKind.LICENCES)
    return res
