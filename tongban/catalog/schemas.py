"""Request and response schemas of the public catalogue API (``tongban.catalog.api``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

MAX_PAGE_SIZE = 100


class ItemFilters(Schema):
    """Query parameters of ``GET /items``; out-of-range values are a 422 ``request_invalid``."""

    object: Literal["person", "enterprise"] | None = Field(
        None, description="Items for natural persons or legal persons (items serving both are included)."
    )
    theme: str | None = Field(None, max_length=40, description="A theme code (see GET /themes).")
    department: str | None = Field(None, max_length=50, description="The implementing department's code.")
    q: str | None = Field(None, max_length=100, description="Chinese full-text search (jieba-segmented).")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class DepartmentRef(Schema):
    code: str
    name: str


class ThemeOut(Schema):
    code: str
    name: str
    kind: str


class ThemeRef(Schema):
    code: str
    name: str


class ItemSummary(Schema):
    implementation_code: str
    name: str
    department: DepartmentRef
    item_type: str
    service_object: str
    promised_days: int | None
    visits: int
    online_depth: int
    themes: list[ThemeRef]


class ItemPage(Schema):
    count: int = Field(description="Matching items in all pages (a search returns at most 50).")
    page: int
    page_size: int
    items: list[ItemSummary]


class MaterialOut(Schema):
    name: str
    required: bool
    form: str
    copies: int
    acceptance_standard: str
    source: str
    source_code: str
    may_follow_later: bool = Field(
        description="Acceptance with deficiencies (容缺受理): may be handed in later."
    )
    need_not_submit: bool = Field(
        description="The platform fetches it (e-licence or shared data), so the applicant submits nothing."
    )
    blank_form_url: str | None
    sample_url: str | None


class StageOut(Schema):
    name: str
    days: int
    departments: list[DepartmentRef]
    join: str
    on_refusal: str


class ItemDetail(Schema):
    implementation_code: str
    basic_code: str
    version: int
    published_at: datetime | None
    name: str
    department: DepartmentRef
    item_type: str
    level: str
    service_object: str
    legal_basis: str
    conditions: str
    statutory_days: int | None
    promised_days: int | None
    fee_charged: bool
    fee_amount: str
    fee_basis: str
    visits: int
    online_depth: int
    channels: list[str]
    window_address: str
    window_hours: str
    consultation_phone: str
    complaint_phone: str
    result_type: str
    result_name: str
    themes: list[ThemeRef]
    materials: list[MaterialOut]
    form_schema: list[dict[str, Any]] = Field(
        description="The application form's fields in normal form (catalog.forms_schema, ADR 10)."
    )
    process: list[StageOut]
