"""The demo city's themed bundles (一件事一次办), created and published through the services.

Each bundle names its items by their names in the demo catalogue (``catalog.demo_data``), which must
be seeded first. Idempotent: a bundle whose code exists is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tongban.bundles import services
from tongban.bundles.models import Bundle
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.models import ServiceItem
from tongban.core.errors import ValidationFailed
from tongban.identity.models import User

ADMINISTRATOR = "admin"  # the city administrator of tongban/identity/demo.py


@dataclass(frozen=True)
class BundleSpec:
    code: str
    name: str
    description: str
    theme: str
    items: tuple[str, ...]  # item names in the demo catalogue, in the order they are handled


BUNDLES: tuple[BundleSpec, ...] = (
    BundleSpec(
        "newborn",
        "新生儿出生一件事",
        "孩子出生后，一次申请办齐出生医学证明、出生登记（落户）、城乡居民医保参保登记和社会保障卡申领："
        "一张表、一套材料，卫健、公安、医保、人社四个部门同步办理，不再分头跑。",
        "birth",
        ("出生医学证明签发", "出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领"),
    ),
    BundleSpec(
        "restaurant",
        "开办餐饮店一件事",
        "以个体工商户开办餐饮店：营业执照、食品经营许可和城镇污水排入排水管网许可一次申请，"
        "店铺名称、经营场所只填一次，市场监管和住建部门并联审批。",
        "start-up",
        ("个体工商户设立登记", "食品经营许可", "城镇污水排入排水管网许可"),
    ),
    BundleSpec(
        "retirement",
        "退休一件事",
        "企业职工到达法定退休年龄：退休申请、基本养老金申领和住房公积金退休提取一次办，"
        "人社部门与公积金中心共享退休信息，无需重复提交。",
        "retirement",
        ("职工正常退休（职）申请", "企业职工基本养老保险待遇申领", "住房公积金提取（退休）"),
    ),
    BundleSpec(
        "after-death",
        "身后一件事",
        "亲人离世后，家属一次申请办理居民死亡医学证明、户口注销和丧葬补助金、抚恤金申领，"
        "死者信息只填一次，减少家属奔波。",
        "after-death",
        ("居民死亡医学证明（推断）书签发", "死亡人员户口注销", "丧葬补助金、抚恤金申领"),
    ),
)


@dataclass
class BundlesSeedResult:
    bundles_created: int = 0
    bundles_existing: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.bundles_created)


def _items(names: tuple[str, ...]) -> list[ServiceItem]:
    found = {
        item.current_version.name: item
        for item in catalog_selectors.published_items().filter(current_version__name__in=names)
        if item.current_version is not None
    }
    missing = [name for name in names if name not in found]
    if missing:
        raise ValidationFailed(
            f"The demo catalogue lacks {', '.join(missing)}; seed the catalogue first.",
            code="demo_items_missing",
        )
    return [found[name] for name in names]


@transaction.atomic
def seed(*, by: User | None = None) -> BundlesSeedResult:
    """Create and publish the demo bundles that are missing. All or nothing."""
    if by is None:
        by = User.objects.filter(username=ADMINISTRATOR).first()
        if by is None:
            raise ValidationFailed(
                "Seed the demo city (departments and accounts) before its bundles.", code="demo_city_missing"
            )
    result = BundlesSeedResult()
    existing = set(Bundle.objects.values_list("code", flat=True))
    for order, spec in enumerate(BUNDLES, start=1):
        if spec.code in existing:
            result.bundles_existing += 1
            continue
        bundle = services.bundle_create(
            by=by,
            code=spec.code,
            name=spec.name,
            description=spec.description,
            theme=spec.theme,
            items=_items(spec.items),
            sort_order=order,
        )
        services.bundle_publish(bundle=bundle, by=by)
        result.bundles_created += 1
    return result
