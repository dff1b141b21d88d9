"""Helpers for tests of cases and the apps built on them (bundles, portal pages, the API).

``published_item(department, ...)`` gives a published item with two applicant materials (居民身份证
required, 申请表 required and allowed to follow later), the default form and a process;
``pdf_upload()`` a tiny valid PDF; ``submitted_case(...)`` an application as ``case_apply`` makes it.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongban.cases import services
from tongban.cases.models import Case
from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.factories import DEFAULT_FORM, MaterialFactory, ServiceItemFactory, default_process
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import make_credit_code

FORM_ANSWERS: dict[str, Any] = {"applicant_name": "张三", "contact_phone": "13800001234", "remarks": ""}
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf_upload(name: str = "材料.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def published_item(
    department: Department, *, process: list[dict[str, Any]] | None = None, **version: Any
) -> ServiceItem:
    """A published item of ``department``: 居民身份证 (required), 申请表 (required, may follow later)
    and 户口簿 (an e-licence the platform fetches, so not uploaded)."""
    if not department.credit_code:
        department.credit_code = make_credit_code(department.division_code[:6])
        department.save(update_fields=["credit_code"])
    item: Any = ServiceItemFactory(department=department, **{f"version__{k}": v for k, v in version.items()})
    draft = item.versions.get()
    MaterialFactory(version=draft, name="居民身份证", sort_order=0)
    MaterialFactory(version=draft, name="申请表", sort_order=1, may_follow_later=True)
    MaterialFactory(
        version=draft,
        name="户口簿",
        sort_order=2,
        source="e_licence",
        source_code="11100000110068567G002",
        required=False,  # fetched when the applicant holds it (免提交); tests of pre-fill make their own
    )
    draft.form_schema = copy.deepcopy(DEFAULT_FORM)
    draft.process = process or default_process(department, days=min(5, draft.promised_days or 5))
    draft.status = VersionStatus.PUBLISHED
    draft.published_at = timezone.now()
    draft.save(update_fields=["status", "published_at", "form_schema", "process"])
    item.current_version = draft
    item.save(update_fields=["current_version"])
    return item


def stage(name: str, days: int, *departments: Department) -> dict[str, Any]:
    return {"name": name, "days": days, "departments": [d.code for d in departments]}


def material_ids(item: ServiceItem) -> dict[str, int]:
    assert item.current_version is not None
    return {m.name: m.pk for m in item.current_version.materials.all()}


def all_files(item: ServiceItem) -> dict[int, SimpleUploadedFile]:
    ids = material_ids(item)
    return {ids["居民身份证"]: pdf_upload("身份证.pdf"), ids["申请表"]: pdf_upload("申请表.pdf")}


def submitted_case(item: ServiceItem, applicant: User, **kwargs: Any) -> Case:
    return services.case_apply(
        item=item,
        applicant=applicant,
        form_data=kwargs.pop("form_data", FORM_ANSWERS),
        files=kwargs.pop("files", None) or all_files(item),
        by=kwargs.pop("by", applicant),
        **kwargs,
    )
