"""Reads of licences: the holder's wallet, verification, uses, the published keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import NotFound
from tongban.core.masking import mask_name, mask_resident_id
from tongban.identity import selectors as identity_selectors
from tongban.identity.models import Department, User
from tongban.licences import identifiers, permissions, signing
from tongban.licences.choices import HolderKind, KeyStatus, LicenceStatus, Verdict
from tongban.licences.models import (
    Licence,
    LicenceAuthorisation,
    LicenceImport,
    LicenceType,
    LicenceUse,
    SigningKey,
)


def licence_types(*, active_only: bool = True) -> QuerySet[LicenceType]:
    qs = LicenceType.objects.select_related("issuing_department")
    return qs.filter(is_active=True) if active_only else qs


def type_by_code(code: str) -> LicenceType | None:
    return licence_types().filter(code=code).first()


def type_for_item(item_id: int) -> LicenceType | None:
    """The licence an approved case of the item yields, if any."""
    return licence_types().filter(items__pk=item_id).order_by("code").first()


def effective_status(licence: Licence, today: dt.date | None = None) -> str:
    """Revoked, expired (by date, even before the nightly job marks it) or valid."""
    if licence.status == LicenceStatus.REVOKED:
        return LicenceStatus.REVOKED
    today = today or timezone.localdate()
    if licence.status == LicenceStatus.EXPIRED or (licence.valid_until and licence.valid_until < today):
        return LicenceStatus.EXPIRED
    return LicenceStatus.VALID


def document_of(licence: Licence) -> dict[str, Any]:
    """The licence's signed content, rebuilt from the registry row."""
    return signing.document(
        identifier=licence.identifier,
        type_code=licence.type.code,
        type_name=licence.type.name,
        holder_kind=licence.holder_kind,
        holder_id=licence.holder_id,
        holder_name=licence.holder_name,
        number=licence.number,
        issuer_code=licence.issuer.credit_code or "",
        issuer_name=licence.issuer.name,
        issued_on=licence.issued_on.isoformat(),
        valid_from=licence.valid_from.isoformat(),
        valid_until=licence.valid_until.isoformat() if licence.valid_until else "",
        data=licence.data,
        key_id=licence.key.key_id,
    )


def signed_document(licence: Licence) -> dict[str, Any]:
    """What a holder downloads and anyone can verify offline: the content and its signature."""
    return {"licence": document_of(licence), "signature": licence.signature}


def signature_ok(licence: Licence) -> bool:
    return signing.verify(licence.key.public_key, signing.canonical(document_of(licence)), licence.signature)


# --- the holder's wallet ----------------------------------------------------------------------


def licences_of(user: User) -> QuerySet[Licence]:
    holder = permissions.holder_id_of(user)
    if not holder:
        return Licence.objects.none()
    return Licence.objects.filter(holder_id=holder).select_related("type", "issuer", "key")


def licence_of_holder(user: User, pk: int) -> Licence:
    licence = licences_of(user).filter(pk=pk).first()
    if licence is None:
        raise NotFound(_("No such licence, or it is not yours."), code="licence_not_found")
    return licence


def usable_licence(holder_id: str, type_code: str, today: dt.date | None = None) -> Licence | None:
    """The holder's newest licence of the type that is valid today (for pre-filling applications)."""
    today = today or timezone.localdate()
    return (
        Licence.objects.filter(holder_id=holder_id, type__code=type_code, status=LicenceStatus.VALID)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("type", "issuer", "key")
        .order_by("-issued_on", "-pk")
        .first()
    )


def uses_of(licence: Licence) -> QuerySet[LicenceUse]:
    return licence.uses.select_related("department", "authorisation")


def authorisations_of(licence: Licence) -> QuerySet[LicenceAuthorisation]:
    return licence.authorisations.select_related("department")


def authorisation_active(authorisation: LicenceAuthorisation, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return authorisation.revoked_at is None and authorisation.valid_until > now


def case_authorisation(licence_id: int, case_id: int) -> LicenceAuthorisation | None:
    """The newest authorisation of the licence for the case (active or not)."""
    return (
        LicenceAuthorisation.objects.filter(licence_id=licence_id, case_id=case_id)
        .order_by("-granted_at", "-pk")
        .first()
    )


def case_authorisations(case_id: int) -> dict[int, LicenceAuthorisation]:
    """Licence id -> the newest authorisation for the case."""
    found: dict[int, LicenceAuthorisation] = {}
    for auth in LicenceAuthorisation.objects.filter(case_id=case_id).order_by("granted_at", "pk"):
        found[auth.licence_id] = auth
    return found


# --- verification -----------------------------------------------------------------------------


@dataclass
class Verification:
    verdict: str
    licence: Licence | None = None
    public: dict[str, str] = field(default_factory=dict)
    licence_id: int | None = None

    @property
    def message(self) -> str:
        return str(VERDICT_MESSAGES[self.verdict])


VERDICT_MESSAGES: dict[str, Any] = {
    Verdict.VALID: _("This licence is genuine and valid."),
    Verdict.REVOKED: _("This licence has been revoked by its issuer and may not be used."),
    Verdict.EXPIRED: _("This licence has expired and may not be used."),
    Verdict.FORGED: _("This licence is not what its issuer signed: it is forged or has been altered."),
    Verdict.NOT_FOUND: _("No licence has this identifier."),
}


def _public(
    *,
    identifier: str,
    type_name: str,
    issuer_name: str,
    holder_kind: str,
    holder_name: str,
    holder_id: str,
    issued_on: str,
    valid_until: str,
    verdict: str,
) -> dict[str, str]:
    """The minimum a verifier sees: what it is, who issued it, to whom (a person masked; a credit
    code is public), and its state."""
    person = holder_kind == HolderKind.PERSON
    return {
        "identifier": identifier,
        "type_name": type_name,
        "issuer_name": issuer_name,
        "holder_name": mask_name(holder_name) if person else holder_name,
        "holder_id": mask_resident_id(holder_id) if person else holder_id,
        "issued_on": issued_on,
        "valid_until": valid_until,
        "verdict": verdict,
    }


def public_view(licence: Licence, verdict: str) -> dict[str, str]:
    return _public(
        identifier=licence.identifier,
        type_name=licence.type.name,
        issuer_name=licence.issuer.name,
        holder_kind=licence.holder_kind,
        holder_name=licence.holder_name,
        holder_id=licence.holder_id,
        issued_on=licence.issued_on.isoformat(),
        valid_until=licence.valid_until.isoformat() if licence.valid_until else "",
        verdict=verdict,
    )


def _verdict(licence: Licence, *, signature_valid: bool) -> str:
    if not signature_valid:
        return Verdict.FORGED
    verdicts: dict[str, str] = {
        LicenceStatus.VALID: Verdict.VALID,
        LicenceStatus.REVOKED: Verdict.REVOKED,
        LicenceStatus.EXPIRED: Verdict.EXPIRED,
    }
    return verdicts[effective_status(licence)]


def _verify_sql() -> str:
    sql = _VERIFY_SQL.get(connection.vendor)
    if sql is None:
        q = connection.ops.quote_name
        licence, type_, department, key = (
            q(m._meta.db_table) for m in (Licence, LicenceType, Department, SigningKey)
        )
        sql = (
            "SELECT l.id, l.identifier, l.holder_kind, l.holder_id, l.holder_name, l.number, l.data, "  # noqa: S608
            "l.issued_on, l.valid_from, l.valid_until, l.status, l.signature, t.code, t.name, "
            "d.credit_code, d.name, k.key_id, k.public_key "
            f"FROM {licence} l JOIN {type_} t ON t.id = l.type_id JOIN {department} d ON d.id = l.issuer_id "
            f"JOIN {key} k ON k.id = l.key_id WHERE l.identifier = %s"
        )
        _VERIFY_SQL[connection.vendor] = sql
    return sql


_VERIFY_SQL: dict[str, str] = {}


def _day(value: Any) -> str:
    return "" if value is None else (value.isoformat() if isinstance(value, dt.date) else str(value))


def _verify_row(text: str) -> Any:
    """The verification's one row. On PostgreSQL the statement is prepared once per connection and
    then only executed: Django turns psycopg's prepared statements off (``prepare_threshold=None``),
    and parsing and planning the four-table join cost the database ~0.5 ms of CPU a verification,
    four times executing it (bench/README.md ``licence_verify``; ``exchange.gateway`` does the same)."""
    sql = _verify_sql()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, [text])
            return cursor.fetchone()
    connection.close_if_health_check_failed()  # as Django's cursor() does
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 1_000_000  # only statements that ask (prepare=True) are prepared
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        if connection.queries_logged:  # keep DEBUG's and the tests' query log whole
            with CursorDebugWrapper(cursor, connection).debug_sql(sql, [text]):
                cursor.execute(sql, [text], prepare=True)
        else:
            cursor.execute(sql, [text], prepare=True)
        return cursor.fetchone()


def verify_identifier(identifier: str) -> Verification:
    """Look the licence up, check its signature over the registry row, and say what it is.

    The public verifier's path (the QR code, the API): one hand-written statement over the four
    tables, then the signature check (bench/README.md ``licence_verify``)."""
    text = identifiers.normalise(identifier)
    if identifiers.parse(text) is None:
        return Verification(Verdict.NOT_FOUND)
    row = _verify_row(text)
    if row is None:
        return Verification(Verdict.NOT_FOUND)
    (pk, ident, holder_kind, holder_id, holder_name, number, data, issued_on, valid_from, valid_until,
     status, signature, type_code, type_name, issuer_code, issuer_name, key_id, public_pem) = row  # fmt: skip
    if isinstance(data, str):
        data = json.loads(data)
    document = signing.document(
        identifier=ident,
        type_code=type_code,
        type_name=type_name,
        holder_kind=holder_kind,
        holder_id=holder_id,
        holder_name=holder_name,
        number=number,
        issuer_code=issuer_code or "",
        issuer_name=issuer_name,
        issued_on=_day(issued_on),
        valid_from=_day(valid_from),
        valid_until=_day(valid_until),
        data=data,
        key_id=key_id,
    )
    until = _day(valid_until)
    if not signing.verify(public_pem, signing.canonical(document), signature):
        verdict = Verdict.FORGED
    elif status == LicenceStatus.REVOKED:
        verdict = Verdict.REVOKED
    elif status == LicenceStatus.EXPIRED or (until and until < timezone.localdate().isoformat()):
        verdict = Verdict.EXPIRED
    else:
        verdict = Verdict.VALID
    public = _public(
        identifier=ident,
        type_name=type_name,
        issuer_name=issuer_name,
        holder_kind=holder_kind,
        holder_name=holder_name,
        holder_id=holder_id,
        issued_on=_day(issued_on),
        valid_until=until,
        verdict=verdict,
    )
    return Verification(verdict, None, public, licence_id=pk)


def verify_document(document: Any, signature: Any) -> Verification:
    """Check a licence as presented (a downloaded file): its signature, and that the registry holds
    exactly this licence. Any difference, any unknown key, any bad signature: forged."""
    if not isinstance(document, dict) or not isinstance(signature, str):
        return Verification(Verdict.FORGED)
    key = SigningKey.objects.filter(key_id=str(document.get("key_id", ""))).first()
    if key is None or not signing.verify(key.public_key, signing.canonical(document), signature):
        return Verification(Verdict.FORGED)
    licence = (
        Licence.objects.select_related("type", "issuer", "key")
        .filter(identifier=str(document.get("identifier", "")))
        .first()
    )
    if licence is None:
        return Verification(Verdict.FORGED)
    if document_of(licence) != document or licence.signature != signature:
        return Verification(Verdict.FORGED)
    verdict = _verdict(licence, signature_valid=True)
    return Verification(verdict, licence, public_view(licence, verdict), licence_id=licence.pk)


# --- keys -------------------------------------------------------------------------------------


def active_key(department_id: int) -> SigningKey | None:
    return SigningKey.objects.filter(department_id=department_id, status=KeyStatus.ACTIVE).first()


def published_keys() -> list[dict[str, Any]]:
    """Every key that signed or signs licences, as JWKs with their department: anyone may verify."""
    keys = SigningKey.objects.select_related("department").order_by("department__code", "created_at")
    return [
        {
            **signing.public_jwk(k.public_key),
            "kid": k.key_id,
            "alg": "EdDSA",
            "use": "sig",
            "status": k.status,
            "department": k.department.name,
            "department_code": k.department.credit_code or "",
            "created_at": k.created_at.isoformat(),
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            "pem": k.public_key,
        }
        for k in keys
    ]


def keys_of_departments(user: User) -> QuerySet[SigningKey]:
    visible = identity_selectors.departments_in_jurisdiction(user).values("pk")
    return SigningKey.objects.filter(department_id__in=visible).select_related("department", "created_by")


def licences_issued_by(user: User, *, departments: Iterable[int] | None = None) -> QuerySet[Licence]:
    """The licences a staff member's department issued (an administrator: the jurisdiction's)."""
    if not permissions.is_licence_staff(user):
        return Licence.objects.none()
    if identity_selectors.has_role(user, "administrator"):
        scope = Q(issuer_id__in=identity_selectors.departments_in_jurisdiction(user).values("pk"))
    else:
        scope = Q(issuer_id=user.department_id)
    qs = Licence.objects.filter(scope).select_related("type", "issuer", "key")
    if departments is not None:
        qs = qs.filter(issuer_id__in=list(departments))
    return qs


def verification_url(identifier: str) -> str:
    """The public verification page of a licence: what its QR code holds."""
    return f"{settings.PUBLIC_URL}/licences/v/{identifier}/"


# --- the exchange (added for issue 5 item 6, helper H4) ---------------------------------------


def usable_licences(
    holder_ids: Iterable[str], type_code: str, today: dt.date | None = None
) -> dict[str, Licence]:
    """Holder ID -> the holder's newest licence of the type that is valid today, in one query (what
    the exchange serves from the licence library; ``usable_licence`` for several holders)."""
    holders = list(dict.fromkeys(holder_ids))
    if not holders:
        return {}
    today = today or timezone.localdate()
    found: dict[str, Licence] = {}
    rows = (
        Licence.objects.filter(holder_id__in=holders, type__code=type_code, status=LicenceStatus.VALID)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("type", "issuer", "key")
        .order_by("holder_id", "-issued_on", "-pk")
    )
    for licence in rows:
        found.setdefault(licence.holder_id, licence)
    return found


# --- staff pages and bulk import (added for H3: staff pages, 存量证照 import) -------------------


def licence_issued_by(user: User, pk: int) -> Licence:
    """One licence the staff member's department (or jurisdiction) issued; NotFound otherwise."""
    licence = licences_issued_by(user).filter(pk=pk).first()
    if licence is None:
        raise NotFound(_("No such licence among those your department issued."), code="licence_not_found")
    return licence


def licences_search(
    user: User, *, type_id: int | None = None, status: str = "", q: str = ""
) -> QuerySet[Licence]:
    """The staff list: by type, by effective status, by identifier, holder ID or licence number."""
    qs = licences_issued_by(user)
    if type_id:
        qs = qs.filter(type_id=type_id)
    today = timezone.localdate()
    ended = Q(valid_until__lt=today)
    if status == LicenceStatus.VALID:
        qs = qs.filter(status=LicenceStatus.VALID).exclude(ended)
    elif status == LicenceStatus.EXPIRED:
        qs = qs.filter(Q(status=LicenceStatus.EXPIRED) | (Q(status=LicenceStatus.VALID) & ended))
    elif status == LicenceStatus.REVOKED:
        qs = qs.filter(status=LicenceStatus.REVOKED)
    text = (q or "").strip().upper()
    if text:
        qs = qs.filter(Q(identifier=text) | Q(holder_id=text) | Q(number=(q or "").strip()))
    return qs


def types_issued_by(user: User) -> list[LicenceType]:
    """The active types whose licences the staff member may issue and import."""
    return [t for t in licence_types() if permissions.acts_for(user, t.issuing_department)]


def types_in_scope(user: User) -> list[LicenceType]:
    """Every type (active or not) issued by a department in the staff member's scope: the list's filter."""
    visible = identity_selectors.departments_in_jurisdiction(user)
    return list(licence_types(active_only=False).filter(issuing_department__in=visible))


def licence_for_reading(pk: int) -> Licence | None:
    """A licence with what showing it in full needs (after a verification found its id)."""
    return Licence.objects.select_related("type", "issuer", "key").filter(pk=pk).first()


def authorisation_by_case_number(licence_id: int, case_number: str) -> LicenceAuthorisation | None:
    """The newest case authorisation of the licence for the case with that number (active or not)."""
    number = (case_number or "").strip()
    if not number:
        return None
    return (
        LicenceAuthorisation.objects.filter(licence_id=licence_id, case_number=number, case_id__isnull=False)
        .select_related("department")
        .order_by("-granted_at", "-pk")
        .first()
    )


def imports_visible_to(user: User) -> QuerySet[LicenceImport]:
    """Imports of the departments the staff member acts for."""
    if not permissions.is_licence_staff(user):
        return LicenceImport.objects.none()
    if identity_selectors.has_role(user, "administrator"):
        scope = Q(department_id__in=identity_selectors.departments_in_jurisdiction(user).values("pk"))
    else:
        scope = Q(department_id=user.department_id)
    return LicenceImport.objects.filter(scope).select_related("type", "department", "by")


def import_visible_to(user: User, pk: int) -> LicenceImport:
    found = imports_visible_to(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such import."), code="import_not_found")
    return found


def key_overview(user: User) -> list[tuple[Department, list[SigningKey]]]:
    """An administrator's departments that issue licences or hold keys, each with its keys (newest first)."""
    visible = identity_selectors.departments_in_jurisdiction(user)
    keys = list(keys_of_departments(user).order_by("department_id", "-created_at", "-pk"))
    issuing = set(
        LicenceType.objects.filter(issuing_department__in=visible).values_list(
            "issuing_department_id", flat=True
        )
    )
    wanted = issuing | {k.department_id for k in keys}
    by_department: dict[int, list[SigningKey]] = {pk: [] for pk in wanted}
    for key in keys:
        by_department[key.department_id].append(key)
    departments = visible.filter(pk__in=wanted).order_by("code")
    return [(d, by_department[d.pk]) for d in departments]


# --- the holder's wallet (added for H2: wallet pages and API) ---------------------------------


def authorisation_of_holder(user: User, pk: int) -> LicenceAuthorisation:
    """One authorisation of one of the user's licences; NotFound for anyone else's (or staff)."""
    found = (
        LicenceAuthorisation.objects.filter(pk=pk, licence__in=licences_of(user))
        .select_related("licence", "licence__type", "department")
        .first()
    )
    if found is None:
        raise NotFound(_("No such authorisation, or it is not yours."), code="authorisation_not_found")
    return found
