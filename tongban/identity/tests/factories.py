"""factory_boy factories for identity. Identifiers are generated with valid check digits."""

from __future__ import annotations

import random
from typing import Any

import factory
from stdnum.cn import ric, uscc

from tongban.identity.models import Department, RoleAssignment, User

TEST_PASSWORD = "Tongban-test-2026"


def make_resident_id(region: str = "341502", birth: str | None = None, seq: int | None = None) -> str:
    birth = birth or f"{random.randint(1950, 2005)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}"
    seq_str = f"{seq if seq is not None else random.randint(0, 999):03d}"
    body = region + birth + seq_str
    return body + ric.calc_check_digit(body + "0")


def make_credit_code(region: str = "341500") -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region + "".join(random.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"测试部门{n}")
    code = factory.Sequence(lambda n: f"dept-{n}")
    level = "city"
    division_code = "341500"


class _UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class CitizenFactory(_UserFactory):
    kind = "citizen"
    resident_id = factory.LazyFunction(make_resident_id)
    username = factory.LazyAttribute(lambda o: f"c{o.resident_id}")
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    real_name_level = 1


class EnterpriseFactory(_UserFactory):
    kind = "enterprise"
    credit_code = factory.LazyFunction(make_credit_code)
    username = factory.LazyAttribute(lambda o: f"e{o.credit_code.lower()}")
    name = factory.Faker("company", locale="zh_CN")
    legal_rep_name = factory.Faker("name", locale="zh_CN")
    legal_rep_resident_id = factory.LazyFunction(make_resident_id)
    phone = factory.Sequence(lambda n: f"139{n:08d}")


class StaffFactory(_UserFactory):
    kind = "staff"
    username = factory.Sequence(lambda n: f"staff{n}")
    name = factory.Faker("name", locale="zh_CN")
    department = factory.SubFactory(DepartmentFactory)

    @factory.post_generation
    def roles(obj: User, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if create and extracted:
            RoleAssignment.objects.bulk_create([RoleAssignment(user=obj, role=r) for r in extracted])
