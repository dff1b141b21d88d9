"""Request and answer shapes of the exchange API (documented in the OpenAPI document).

The call endpoints read their JSON body themselves (``gateway.call``), so that a malformed request
is answered with the exchange's own 400 and recorded like any other call; these schemas describe
the bodies for the document and for client generators.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class CallContext(Schema):
    resource: str = Field(description="The resource's code, e.g. 101001001/000001.")
    purpose: str = Field(description="What the data is for (required, 2-200 characters).")
    case_number: str | None = Field(None, description="The case the call serves, if any.")
    on_behalf_of: str | None = Field(None, description="The staff member or user the system acts for.")


class QueryIn(CallContext):
    key: str = Field(description="The record's key: a resident ID, a credit code…")
    items: list[str] | None = Field(None, description="Item keys wanted; default: every granted item.")


class VerifyIn(CallContext):
    key: str
    fields: dict[str, str] = Field(description='Values to check, as {"name": "张伟"}; granted items only.')


class BatchIn(CallContext):
    keys: list[str] = Field(description="Up to TONGBAN_EXCHANGE_BATCH_MAX keys (100 by default).")
    items: list[str] | None = None


class QueryOut(Schema):
    call_id: str
    resource: str
    record: dict[str, Any]


class VerifyOut(Schema):
    call_id: str
    resource: str
    match: bool = Field(description="True when every field matches.")
    fields: dict[str, bool]


class BatchResult(Schema):
    key: str
    found: bool
    record: dict[str, Any] | None


class BatchOut(Schema):
    call_id: str
    resource: str
    results: list[BatchResult]


class ItemOut(Schema):
    key: str
    name: str
    data_type: str
    length: int | None
    sensitive: bool
    is_key: bool
    granted: bool


class GrantOut(Schema):
    id: int
    status: str
    items: list[str]
    valid_from: str
    valid_until: str
    rate_per_minute: int


class ResourceOut(Schema):
    code: str
    name: str
    provider: str
    summary: str
    sharing_type: str
    update_cycle: str
    operations: list[str]
    grant: GrantOut | None
    items: list[ItemOut]


class ResourceListOut(Schema):
    count: int
    items: list[ResourceOut]
