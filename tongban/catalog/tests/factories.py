"""factory_boy factories for the catalogue, for tests of this app and of the apps built on it.

``ServiceItemFactory()`` gives an item of a department with a credit code and a draft v1;
``ServiceItemFactory(published=True)`` publishes it with two materials, a small application form
(``DEFAULT_FORM``) and a one-stage process handled by the item's department (``default_process``),
as ``item_version_publish`` would (status, publication time, current-version pointer). Tests of
the catalogue's own rules go through ``services`` instead (``conftest.make_item``).
"""

from __future__ import annotations

import copy
from typing import Any

import factory
from django.utils import timezone

from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, make_credit_code

# Normal form, as ``forms_schema.validate_form_schema`` returns it.
DEFAULT_FORM: list[dict[str, Any]] = [
    {
        "key": "applicant_name",
        "label": "申请人姓名",
        "type": "text",
        "required": True,
        "help_text": "",
        "options": [],
        "validation": {"max_length": 50},
    },
    {
        "key": "contact_phone",
        "label": "联系电话",
        "type": "phone",
        "required": True,
        "help_text": "",
        "options": [],
        "validation": {},
    },
    {
        "key": "remarks",
        "label": "备注",
        "type": "textarea",
        "required": False,
        "help_text": "",
        "options": [],
        "validation": {"max_length": 500},
    },
]


def default_process(department: Department, days: int = 5) -> list[dict[str, Any]]:
    """One stage handled by ``department`` (normal form, as ``processes.validate_process`` returns it)."""
    return [
        {
            "name": "审查决定",
            "days": days,
            "departments": [department.code],
            "join": "all",
            "on_refusal": "refuse_case",
        }
    ]


class MaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Material

    name = factory.Iterator(["居民身份证", "居民户口簿", "申请表", "近期免冠照片"])
    required = True
    form = "original"
    copies = 1
    source = "applicant"


class ServiceItemVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceItemVersion

    number = 1
    status = VersionStatus.DRAFT
    name = factory.Sequence(lambda n: f"测试事项{n}")
    item_type = "public_service"
    level = "city"
    conditions = "申请人为本市户籍居民。"
    statutory_days = 20
    promised_days = 5
    visits = 1
    online_depth = 3
    channels = factory.LazyFunction(lambda: ["online", "window"])
    service_object = "person"


class ServiceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceItem
        skip_postgeneration_save = True

    department = factory.SubFactory(
        DepartmentFactory, credit_code=factory.LazyFunction(lambda: make_credit_code("341500"))
    )
    basic_code = factory.Sequence(lambda n: f"0001{n:08d}")
    implementation_code = factory.LazyAttributeSequence(lambda o, n: f"{o.department.credit_code}{n:06d}")

    @factory.post_generation
    def version(obj: ServiceItem, create: bool, extracted: Any, **kwargs: Any) -> None:
        """The draft v1; ``version__name="…"`` and the like set its fields."""
        if create:
            ServiceItemVersionFactory(item=obj, **kwargs)

    @factory.post_generation
    def published(obj: ServiceItem, create: bool, extracted: Any, **kwargs: Any) -> None:
        """``published=True``: two materials, a form and a process, then v1 published and made current."""
        if not (create and extracted):
            return
        version = obj.versions.get()
        MaterialFactory(version=version, name="居民身份证", sort_order=0)
        MaterialFactory(version=version, name="申请表", sort_order=1)
        if not version.form_schema:
            version.form_schema = copy.deepcopy(DEFAULT_FORM)
        if not version.process:
            version.process = default_process(obj.department, days=min(5, version.promised_days or 5))
        version.status = VersionStatus.PUBLISHED
        version.published_at = timezone.now()
        version.save(update_fields=["status", "published_at", "form_schema", "process"])
        obj.current_version = version
        obj.save(update_fields=["current_version"])
