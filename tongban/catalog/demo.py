"""Load the demo city's service items (``demo_data.ITEMS``) through the catalogue services.

Every item is created, given its materials and published by the demo city's administrator, so the
demo leaves the same audit trail as real use. Idempotent: an item is looked up by its
implementation code (the implementing department's credit code followed by the item digits) and
created only when missing; existing items, published or not, are left as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction

from tongban.catalog import services
from tongban.catalog.demo_data import ITEMS, PHONE, WINDOW_ADDRESS, WINDOW_HOURS, ItemSpec
from tongban.catalog.models import ServiceItem
from tongban.core.errors import ValidationFailed
from tongban.identity.models import Department, User

ADMINISTRATOR = "admin"  # the city administrator of tongban/identity/demo.py, who may edit every department


@dataclass
class CatalogSeedResult:
    items_created: int = 0
    items_existing: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.items_created)


def item_digits(spec: ItemSpec) -> str:
    """The item digits after the credit code: the basic code's digits (type, main item, sub item)."""
    return spec.basic_code


def implementation_code(spec: ItemSpec, department: Department) -> str:
    return f"{department.credit_code}{item_digits(spec)}"


def _create(spec: ItemSpec, department: Department, by: User) -> ServiceItem:
    item = services.item_create(
        by=by,
        department=department,
        basic_code=spec.basic_code,
        item_digits=item_digits(spec),
        name=spec.name,
        item_type=spec.item_type,
        level=spec.level,
        legal_basis=spec.legal_basis,
        conditions=spec.conditions,
        statutory_days=spec.statutory_days,
        promised_days=spec.promised_days,
        fee_charged=bool(spec.fee_amount),
        fee_amount=spec.fee_amount or "不收费",
        fee_basis=spec.fee_basis,
        visits=spec.visits,
        online_depth=spec.online_depth,
        channels=list(spec.channels),
        window_address=WINDOW_ADDRESS,
        window_hours=WINDOW_HOURS,
        consultation_phone=PHONE,
        complaint_phone=PHONE,
        result_type=spec.result_type,
        result_name=spec.result_name,
        service_object=spec.service_object,
        themes=list(spec.themes),
    )
    draft = item.versions.get()
    for order, material in enumerate(spec.materials):
        services.material_add(version=draft, by=by, sort_order=order, **asdict(material))
    if spec.form:
        services.form_schema_set(version=draft, schema=list(spec.form), by=by)
    services.process_set(version=draft, stages=spec.process, by=by)
    services.item_version_publish(version=draft, by=by)
    return item


@transaction.atomic
def seed_catalog(*, by: User | None = None) -> CatalogSeedResult:
    """Create and publish the demo items that are missing. All or nothing.

    ``by`` defaults to the demo city's administrator, so the identity demo must be seeded first.
    """
    if by is None:
        by = User.objects.filter(username=ADMINISTRATOR).first()
        if by is None:
            raise ValidationFailed(
                "Seed the demo city (departments and accounts) before its catalogue.",
                code="demo_city_missing",
            )
    codes = sorted({spec.department for spec in ITEMS})
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in departments]
    if missing:
        raise ValidationFailed(
            f"The demo departments {', '.join(missing)} do not exist.", code="demo_department_missing"
        )
    wanted = {implementation_code(spec, departments[spec.department]): spec for spec in ITEMS}
    existing = set(
        ServiceItem.objects.filter(implementation_code__in=wanted).values_list(
            "implementation_code", flat=True
        )
    )
    result = CatalogSeedResult()
    for code, spec in wanted.items():
        if code in existing:
            result.items_existing += 1
            continue
        _create(spec, departments[spec.department], by)
        result.items_created += 1
    return result
