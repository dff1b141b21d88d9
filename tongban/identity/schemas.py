from __future__ import annotations

from ninja import Schema


class DepartmentOut(Schema):
    id: int
    name: str
    division_code: str


class MeOut(Schema):
    sub: str
    kind: str
    name: str
    resident_id_masked: str | None = None
    credit_code: str | None = None
    real_name_level: int
    phone_masked: str | None = None
    department: DepartmentOut | None = None
    roles: list[str] = []
    second_factor_pending: str | None = None


class LoginIn(Schema):
    identifier: str
    password: str


class TotpIn(Schema):
    token: str


class CitizenRegisterIn(Schema):
    resident_id: str
    name: str
    phone: str
    password: str


class EnterpriseRegisterIn(Schema):
    credit_code: str
    name: str
    legal_rep_name: str
    legal_rep_resident_id: str
    phone: str
    password: str


class OkOut(Schema):
    status: str = "ok"
