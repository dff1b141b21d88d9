"""Writes of licences: keys, issuance, revocation, expiry, authorisations and uses (ADR 17).

Every write is one transaction and audited. Issuance signs the licence's canonical form with the
issuing department's active key; a department without one cannot issue (``signing_key_missing``)
until an administrator creates its key, and rotating a key retires the old one, which still
verifies every licence it signed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.core import audit
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.idnumbers import validate_credit_code, validate_resident_id
from tongban.core.models import AuditOutcome
from tongban.identity.choices import AccountKind
from tongban.identity.models import Department, User
from tongban.licences import identifiers, permissions, selectors, signing
from tongban.licences.choices import (
    AuthorisationKind,
    HolderKind,
    KeyStatus,
    LicenceOrigin,
    LicenceStatus,
    UseKind,
    Validity,
)
from tongban.licences.models import (
    Licence,
    LicenceAuthorisation,
    LicenceCounter,
    LicenceImport,
    LicenceType,
    LicenceUse,
    SigningKey,
)

MAX_VALUE_LENGTH = 500
MAX_AUTHORISATION_DAYS = 90


# --- signing keys -----------------------------------------------------------------------------


def _new_key_id(department: Department, now: dt.datetime) -> str:
    return f"{department.credit_code or department.code}-{now:%Y%m%d%H%M%S}-{secrets.token_hex(2)}"


@transaction.atomic
def signing_key_rotate(*, department: Department, by: User | None, reason: str = "") -> SigningKey:
    """Create the department's new signing key; the active one (if any) is retired but still verifies.

    ``by`` is None only for the demo and the set-up commands (the system acts)."""
    if by is not None:
        permissions.ensure_key_administrator(by, department)
    now = timezone.now()
    retired = list(
        SigningKey.objects.select_for_update().filter(department=department, status=KeyStatus.ACTIVE)
    )
    for old in retired:
        old.status = KeyStatus.RETIRED
        old.retired_at = now
        old.save(update_fields=["status", "retired_at"])
    public_pem, encrypted = signing.new_key_pair()
    key = SigningKey.objects.create(
        department=department,
        key_id=_new_key_id(department, now),
        algorithm=signing.ALGORITHM,
        public_key=public_pem,
        private_key=encrypted,
        created_by=by,
    )
    audit.record(
        action="licence.key_rotated",
        actor=by,
        subject=key,
        summary=f"signing key {key.key_id} for {department.code}",
        data={"department": department.code, "retired": [k.key_id for k in retired], "reason": reason},
    )
    return key


def _signing_key(department: Department) -> SigningKey:
    key = selectors.active_key(department.pk)
    if key is None:
        raise Conflict(
            _(
                "%(department)s has no signing key, so it cannot issue electronic licences. "
                "Ask an administrator to create one (证照签章密钥)."
            )
            % {"department": department.name},
            code="signing_key_missing",
        )
    return key


# --- issuance ---------------------------------------------------------------------------------


def _reserve_serials(type_: LicenceType, issuer: Department, count: int) -> int:
    """Reserve ``count`` serials at once; returns the first."""
    table = connection.ops.quote_name(LicenceCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (type_id, issuer_id, last) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (type_id, issuer_id) DO UPDATE SET last = {table}.last + %s RETURNING last",
            [type_.pk, issuer.pk, count, count],
        )
        return int(cursor.fetchone()[0]) - count + 1


def _field_error(name: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={name: [message]})


def clean_holder(holder_kind: str, holder_id: str, *, today: dt.date | None = None) -> str:
    text = (holder_id or "").strip().upper()
    try:
        if holder_kind == HolderKind.PERSON:
            return validate_resident_id(text, today=today)
        return validate_credit_code(text)
    except ValidationFailed as exc:
        raise _field_error("holder_id", str(exc.message), "holder_id_invalid") from None


def clean_data(type_: LicenceType, data: Mapping[str, Any]) -> dict[str, str]:
    """The licence's data: the type's fields, as text, every required one given."""
    known = {str(f["key"]): f for f in type_.fields}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise _field_error(
            unknown[0],
            _("“%(field)s” is not a field of %(type)s.") % {"field": unknown[0], "type": type_.name},
            "licence_field_unknown",
        )
    cleaned: dict[str, str] = {}
    for key, spec in known.items():
        value = data.get(key)
        text = "" if value is None else str(value).strip()
        if not text:
            if spec.get("required", True):
                raise _field_error(
                    key,
                    _("“%(label)s” is required.") % {"label": spec.get("label", key)},
                    "licence_field_required",
                )
            continue
        if len(text) > MAX_VALUE_LENGTH:
            raise _field_error(
                key,
                _("“%(label)s” is too long.") % {"label": spec.get("label", key)},
                "licence_field_too_long",
            )
        cleaned[key] = text
    return cleaned


def validity_end(type_: LicenceType, valid_from: dt.date, given: dt.date | None) -> dt.date | None:
    if type_.validity == Validity.LONG_TERM:
        return None
    if type_.validity == Validity.YEARS:
        years = type_.validity_years or 1
        try:
            end = valid_from.replace(year=valid_from.year + years)
        except ValueError:  # 29 February
            end = valid_from.replace(year=valid_from.year + years, day=28)
        return end - dt.timedelta(days=1)
    if given is None:
        raise _field_error(
            "valid_until", _("Give the date the licence is valid until."), "valid_until_required"
        )
    if given < valid_from:
        raise _field_error(
            "valid_until", _("The licence cannot end before it starts."), "valid_until_before_start"
        )
    return given


@dataclass(frozen=True)
class NewLicence:
    type: LicenceType
    holder_id: str
    holder_name: str
    data: dict[str, str]
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date | None
    number: str = ""
    holder_kind: str = ""  # the type's, unless given (a 个体工商户's licence held by a person)


def prepare(
    *,
    type_: LicenceType,
    holder_id: str,
    holder_name: str,
    data: Mapping[str, Any],
    issued_on: dt.date | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    number: str = "",
    holder_kind: str = "",
) -> NewLicence:
    """Check everything about a licence to issue (no writes): the bulk import checks rows this way."""
    today = timezone.localdate()
    issued_on = issued_on or today
    if issued_on > today:
        raise _field_error("issued_on", _("A licence cannot be issued in the future."), "issued_on_future")
    name = (holder_name or "").strip()
    if not name or len(name) > 200:
        raise _field_error("holder_name", _("Give the holder's name."), "holder_name_required")
    number = (number or "").strip()
    if len(number) > 64:
        raise _field_error("number", _("The licence number is too long."), "number_too_long")
    start = valid_from or issued_on
    kind = holder_kind or type_.holder_kind
    return NewLicence(
        type=type_,
        holder_kind=kind,
        holder_id=clean_holder(kind, holder_id, today=today),
        holder_name=name,
        data=clean_data(type_, data),
        issued_on=issued_on,
        valid_from=start,
        valid_until=validity_end(type_, start, valid_until),
        number=number,
    )


def _build(new: NewLicence, *, issuer: Department, key: SigningKey, serial: int, origin: str) -> Licence:
    identifier = identifiers.make(new.type.code, issuer.credit_code or "", serial)
    licence = Licence(
        identifier=identifier,
        type=new.type,
        issuer=issuer,
        serial=serial,
        version=1,
        holder_kind=new.holder_kind or new.type.holder_kind,
        holder_id=new.holder_id,
        holder_name=new.holder_name,
        number=new.number or identifier.split(".")[-3],
        data=new.data,
        issued_on=new.issued_on,
        valid_from=new.valid_from,
        valid_until=new.valid_until,
        status=LicenceStatus.VALID,
        origin=origin,
        key=key,
    )
    licence.signature = signing.sign(
        bytes(key.private_key), signing.canonical(selectors.document_of(licence))
    )
    return licence


def _issuer_of(type_: LicenceType) -> Department:
    issuer = type_.issuing_department
    if not issuer.credit_code:
        raise Conflict(
            _("The issuing department has no unified social credit code, which the identifier needs."),
            code="issuer_code_missing",
        )
    return issuer


def _issue(new: NewLicence, *, origin: str, by: User | None, case: Any = None) -> Licence:
    issuer = _issuer_of(new.type)
    key = _signing_key(issuer)
    licence = _build(new, issuer=issuer, key=key, serial=_reserve_serials(new.type, issuer, 1), origin=origin)
    if case is not None:
        licence.case_id, licence.case_number = case.pk, case.number or ""
    licence.save(force_insert=True)
    audit.record(
        action="licence.issued",
        actor=by,
        subject=licence,
        summary=f"issued {licence.identifier}",
        data={"type": new.type.code, "origin": origin, "case": licence.case_number},
    )
    return licence


@transaction.atomic
def licence_issue(
    *,
    type_: LicenceType,
    holder_id: str,
    holder_name: str,
    data: Mapping[str, Any],
    by: User,
    valid_until: dt.date | None = None,
    number: str = "",
) -> Licence:
    """Staff of the issuing department issue a licence directly (not from a case)."""
    permissions.ensure_acts_for(by, type_.issuing_department)
    if not type_.is_active:
        raise Conflict(_("This licence type is no longer issued."), code="licence_type_inactive")
    new = prepare(
        type_=type_,
        holder_id=holder_id,
        holder_name=holder_name,
        data=data,
        valid_until=valid_until,
        number=number,
    )
    return _issue(new, origin=LicenceOrigin.MANUAL, by=by)


class CaseLike(Protocol):
    """What issuance needs of a case (the cases app calls in; licences does not import it)."""

    pk: int
    number: str | None
    item_id: int
    applicant: Any
    applicant_name: str
    applicant_id_number: str
    form_data: dict[str, Any]


def _value_from(source: str, case: CaseLike) -> str:
    if source == "holder.name":
        return case.applicant_name
    if source == "holder.id":
        return case.applicant_id_number
    if source == "case.number":
        return case.number or ""
    if source.startswith("form:"):
        value = case.form_data.get(source[5:], "")
        return "" if value is None else str(value)
    if source.startswith("fixed:"):
        return source[6:]
    return ""


def check_issuable_for(item_id: int) -> LicenceType | None:
    """The type an approval of the item issues, after checking it can be issued (the key exists)."""
    type_ = selectors.type_for_item(item_id)
    if type_ is not None:
        _signing_key(_issuer_of(type_))
    return type_


def licence_issue_for_case(*, case: CaseLike, by: User) -> Licence | None:
    """Called inside the approval's transaction: issue the licence the item yields, if it yields one.

    A field the case does not fill is left out when optional; a missing required one refuses the
    approval (the approver sees what is missing), so no approved case lacks its licence."""
    type_ = check_issuable_for(case.item_id)
    if type_ is None:
        return None
    data = {str(f["key"]): _value_from(str(f.get("from", "")), case) for f in type_.fields}
    data = {k: v for k, v in data.items() if v}
    new = prepare(
        type_=type_,
        holder_id=case.applicant_id_number,
        holder_name=case.applicant_name,
        holder_kind=HolderKind.ENTERPRISE
        if case.applicant.kind == AccountKind.ENTERPRISE
        else HolderKind.PERSON,
        data=data,
        valid_until=timezone.localdate() + dt.timedelta(days=365 * 5)
        if type_.validity == Validity.GIVEN
        else None,
    )
    return _issue(new, origin=LicenceOrigin.ISSUED, by=by, case=case)


def issue_prepared_batch(
    rows: list[NewLicence], *, type_: LicenceType, batch: LicenceImport | None, origin: str
) -> int:
    """Sign and insert checked licences in bulk (the import and the demo); not audited per row."""
    if not rows:
        return 0
    issuer = _issuer_of(type_)
    key = _signing_key(issuer)
    first = _reserve_serials(type_, issuer, len(rows))
    built = []
    for offset, new in enumerate(rows):
        licence = _build(new, issuer=issuer, key=key, serial=first + offset, origin=origin)
        licence.batch = batch
        built.append(licence)
    Licence.objects.bulk_create(built, batch_size=2000)
    return len(built)


# --- revocation and expiry --------------------------------------------------------------------


@transaction.atomic
def licence_revoke(*, licence: Licence, reason: str, by: User) -> Licence:
    licence = Licence.objects.select_for_update().select_related("issuer").get(pk=licence.pk)
    permissions.ensure_acts_for(by, licence.issuer)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise _field_error("reason", _("Give the reason for revoking the licence."), "reason_required")
    if licence.status == LicenceStatus.REVOKED:
        raise Conflict(_("This licence has already been revoked."), code="licence_already_revoked")
    licence.status = LicenceStatus.REVOKED
    licence.revoked_at = timezone.now()
    licence.revoked_reason = reason[:1000]
    licence.revoked_by = by
    licence.save(update_fields=["status", "revoked_at", "revoked_reason", "revoked_by"])
    audit.record(action="licence.revoked", actor=by, subject=licence, data={"reason": licence.revoked_reason})
    return licence


@transaction.atomic
def licences_expire(*, today: dt.date | None = None) -> int:
    """Mark valid licences past their end date expired (the nightly job; reads do not wait for it)."""
    today = today or timezone.localdate()
    count = Licence.objects.filter(status=LicenceStatus.VALID, valid_until__lt=today).update(
        status=LicenceStatus.EXPIRED
    )
    if count:
        audit.record(action="licence.expired", summary=f"{count} licences expired", data={"count": count})
    return count


# --- authorisations and uses ------------------------------------------------------------------


def _ensure_holder(licence: Licence, by: User) -> None:
    """Refuse (and audit) anyone but the holder. Called before the caller's transaction opens, so
    the refusal's audit row is not rolled back with it."""
    if permissions.holder_id_of(by) != licence.holder_id:
        audit.record(
            action="licence.refused",
            actor=by,
            subject=licence,
            outcome=AuditOutcome.DENIED,
            data={"why": "not_holder"},
        )
        raise NotFound(_("No such licence, or it is not yours."), code="licence_not_found")


def holder_licence(*, by: User, pk: int) -> Licence:
    """The holder's own licence ``pk`` (the wallet's pages and API). Someone else's licence gets the
    same "not found" as one that does not exist, and the attempt is audited; an id that names no
    licence at all is not (nothing was refused)."""
    try:
        return selectors.licence_of_holder(by, pk)
    except NotFound:
        other = Licence.objects.filter(pk=pk).first()
        if other is not None:
            audit.record(
                action="licence.refused",
                actor=by,
                subject=other,
                outcome=AuditOutcome.DENIED,
                data={"why": "not_holder", "where": "wallet"},
            )
        raise


def _ensure_usable(licence: Licence) -> None:
    status = selectors.effective_status(licence)
    if status == LicenceStatus.REVOKED:
        raise Conflict(_("This licence has been revoked and cannot be used."), code="licence_revoked")
    if status == LicenceStatus.EXPIRED:
        raise Conflict(_("This licence has expired and cannot be used."), code="licence_expired")


def _purpose(purpose: str) -> str:
    text = (purpose or "").strip()
    if len(text) < 2 or len(text) > 200:
        raise _field_error("purpose", _("Say what the licence will be used for."), "purpose_required")
    return text


def authorisation_for_case(
    *,
    licence: Licence,
    case: Any,
    purpose: str,
    fields: list[str],
    by: User,
    holder: User,
    days: int = 30,
) -> LicenceAuthorisation:
    """The holder (or whoever files for them, checked by the caller) lets a case use the licence.

    Runs inside the caller's transaction (the cases app's pre-fill); the licence's state is read
    again under a row lock, so one revoked meanwhile is refused."""
    licence = Licence.objects.select_for_update().select_related("type").get(pk=licence.pk)
    _ensure_usable_by(licence, holder=holder, by=by)
    auth = LicenceAuthorisation.objects.create(
        licence=licence,
        kind=AuthorisationKind.CASE,
        purpose=_purpose(purpose),
        fields=fields,
        case_id=case.pk,
        case_number=case.number or "",
        department=case.department,
        granted_by=by,
        valid_until=timezone.now() + dt.timedelta(days=days),
    )
    audit.record(
        action="licence.authorised",
        actor=by,
        subject=licence,
        data={"authorisation": auth.pk, "kind": auth.kind, "case": case.pk, "purpose": auth.purpose},
    )
    return auth


def _ensure_usable_by(licence: Licence, *, holder: User, by: User) -> None:
    """The holder's licence, neither revoked nor expired; someone else's is refused and audited (in the
    caller's transaction: the refusal is on record only if the caller commits)."""
    if permissions.holder_id_of(holder) != licence.holder_id:
        audit.record(
            action="licence.refused",
            actor=by,
            subject=licence,
            outcome=AuditOutcome.DENIED,
            data={"why": "not_holder"},
        )
        raise PermissionDenied(_("This licence belongs to someone else."), code="licence_not_yours")
    _ensure_usable(licence)


def authorisations_for_case(
    *,
    licences: Sequence[Licence],
    case: Any,
    purpose: str,
    by: User,
    holder: User,
    days: int = 30,
) -> list[LicenceAuthorisation]:
    """``authorisation_for_case`` for every licence an application is pre-filled with, and each one's
    use (``case_prefill``), in one go: the authorisations in the order of ``licences``.

    Each licence is authorised for the fields of its type (what the applicant was shown), gets one
    ``LicenceUse`` and one ``licence.authorised`` audit event, as one at a time would; the licences
    are read again under one row lock (in id order), so one revoked, expired or not the holder's is
    refused and nothing is written (all or nothing, inside the caller's transaction). Six statements
    whatever the number of licences: the lock, the authorisations, the uses and one audit append (3).
    """
    if not licences:
        return []
    purpose = _purpose(purpose)
    with transaction.atomic(savepoint=False):
        locked = {
            row.pk: row
            for row in Licence.objects.select_for_update()
            .filter(pk__in={licence.pk for licence in licences})
            .order_by("pk")
            .only("pk", "holder_id", "status", "valid_until")
        }
        for licence in licences:
            current = locked.get(licence.pk)
            if current is None:
                raise NotFound(_("No such licence, or it is not yours."), code="licence_not_found")
            _ensure_usable_by(current, holder=holder, by=by)
        valid_until = timezone.now() + dt.timedelta(days=days)
        auths = LicenceAuthorisation.objects.bulk_create(
            [
                LicenceAuthorisation(
                    licence=licence,
                    kind=AuthorisationKind.CASE,
                    purpose=purpose,
                    fields=licence.type.field_keys,
                    case_id=case.pk,
                    case_number=case.number or "",
                    department=case.department,
                    granted_by=by,
                    valid_until=valid_until,
                )
                for licence in licences
            ]
        )
        staff = by.kind == AccountKind.STAFF
        LicenceUse.objects.bulk_create(
            [
                LicenceUse(
                    licence=licence,
                    kind=UseKind.CASE_PREFILL,
                    actor=by if staff else None,
                    department=case.department,
                    actor_label=by.name[:200] if staff else "",
                    case_number=case.number or "",
                    purpose=purpose[:200],
                    authorisation=auth,
                )
                for licence, auth in zip(licences, auths, strict=True)
            ]
        )
        audit.record_many(
            [
                {
                    "action": "licence.authorised",
                    "actor": by,
                    "subject": licence,
                    "data": {
                        "authorisation": auth.pk,
                        "kind": auth.kind,
                        "case": case.pk,
                        "purpose": purpose,
                    },
                }
                for licence, auth in zip(licences, auths, strict=True)
            ]
        )
    return auths


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def authorisation_for_third_party(
    *, licence: Licence, grantee_name: str, purpose: str, days: int, by: User
) -> tuple[LicenceAuthorisation, str]:
    """The holder lets a third party (a bank, a landlord) see the licence with a code, for a time.

    Returns the authorisation and the code, shown once to the holder."""
    _ensure_holder(licence, by)
    with transaction.atomic():
        return _third_party_grant(
            licence=licence, grantee_name=grantee_name, purpose=purpose, days=days, by=by
        )


def _third_party_grant(
    *, licence: Licence, grantee_name: str, purpose: str, days: int, by: User
) -> tuple[LicenceAuthorisation, str]:
    _ensure_usable(licence)
    name = (grantee_name or "").strip()
    if len(name) < 2 or len(name) > 200:
        raise _field_error("grantee_name", _("Say who may see the licence."), "grantee_required")
    if not 1 <= days <= MAX_AUTHORISATION_DAYS:
        raise _field_error(
            "days",
            _("An authorisation lasts from 1 to %(max)d days.") % {"max": MAX_AUTHORISATION_DAYS},
            "days_invalid",
        )
    code = secrets.token_hex(5).upper()
    auth = LicenceAuthorisation.objects.create(
        licence=licence,
        kind=AuthorisationKind.THIRD_PARTY,
        purpose=_purpose(purpose),
        fields=licence.type.field_keys,
        grantee_name=name,
        code_hash=_code_hash(code),
        granted_by=by,
        valid_until=timezone.now() + dt.timedelta(days=days),
    )
    audit.record(
        action="licence.authorised",
        actor=by,
        subject=licence,
        data={"authorisation": auth.pk, "kind": auth.kind, "grantee": name, "days": days},
    )
    return auth, code


def authorisation_withdraw(*, authorisation: LicenceAuthorisation, by: User) -> LicenceAuthorisation:
    """The holder withdraws an authorisation; the case's department then sees consent was withdrawn."""
    _ensure_holder(Licence.objects.get(pk=authorisation.licence_id), by)
    with transaction.atomic():
        return _withdraw(authorisation, by)


def _withdraw(authorisation: LicenceAuthorisation, by: User) -> LicenceAuthorisation:
    auth = LicenceAuthorisation.objects.select_for_update().select_related("licence").get(pk=authorisation.pk)
    if auth.revoked_at is not None:
        raise Conflict(_("This authorisation has already been withdrawn."), code="authorisation_withdrawn")
    auth.revoked_at = timezone.now()
    auth.save(update_fields=["revoked_at"])
    audit.record(
        action="licence.authorisation_withdrawn",
        actor=by,
        subject=auth.licence,
        data={"authorisation": auth.pk},
    )
    return auth


def third_party_authorisation(code: str) -> LicenceAuthorisation | None:
    """The active third-party authorisation for a code (None when unknown, expired or withdrawn)."""
    auth = (
        LicenceAuthorisation.objects.filter(
            kind=AuthorisationKind.THIRD_PARTY, code_hash=_code_hash(code or "")
        )
        .select_related("licence", "licence__type", "licence__issuer", "licence__key")
        .first()
    )
    if auth is None or not selectors.authorisation_active(auth):
        return None
    return auth


def use_record(
    *,
    licence: Licence,
    kind: str,
    by: User | None = None,
    department: Department | None = None,
    actor_label: str = "",
    case_number: str = "",
    purpose: str = "",
    authorisation: LicenceAuthorisation | None = None,
    call_id: Any = None,
) -> LicenceUse:
    """Record one use of a licence (inside the caller's transaction)."""
    label = actor_label or (by.name if by is not None and by.kind == AccountKind.STAFF else "")
    return LicenceUse.objects.create(
        licence=licence,
        kind=kind,
        actor=by,
        department=department or (by.department if by is not None and by.kind == AccountKind.STAFF else None),
        actor_label=label[:200],
        case_number=case_number,
        purpose=purpose[:200],
        authorisation=authorisation,
        call_id=call_id,
    )


def licence_download(*, licence: Licence, by: User, fmt: str) -> None:
    """The holder downloads the licence (PDF or signed data file): audited and shown as a use."""
    _ensure_holder(licence, by)
    with transaction.atomic():
        use_record(licence=licence, kind=UseKind.DOWNLOAD, by=by, purpose=fmt)
        audit.record(action="licence.downloaded", actor=by, subject=licence, data={"format": fmt})


def licence_read_for_case(
    *, licence: Licence, case_id: int, case_number: str, by: User
) -> LicenceAuthorisation:
    """Staff read the full licence for a case their department handles, under the holder's consent.

    Refused (and audited, outside any transaction so the refusal stays on record) without an
    active authorisation for that case, or outside the department."""
    auth = selectors.case_authorisation(licence.pk, case_id)
    allowed = (
        auth is not None
        and auth.department_id is not None
        and (by.department_id == auth.department_id or permissions.is_administrator_over(by, auth.department))
    )
    if not allowed or auth is None:
        audit.record(
            action="licence.refused",
            actor=by,
            subject=licence,
            outcome=AuditOutcome.DENIED,
            data={"case": case_number, "why": "no_authorisation"},
        )
        raise PermissionDenied(
            _("Your department has no authorisation from the holder to read this licence for that case."),
            code="licence_not_authorised",
        )
    if not selectors.authorisation_active(auth):
        why = "consent_withdrawn" if auth.revoked_at else "consent_expired"
        audit.record(
            action="licence.refused",
            actor=by,
            subject=licence,
            outcome=AuditOutcome.DENIED,
            data={"case": case_number, "why": why},
        )
        raise PermissionDenied(
            _("The holder withdrew consent for this case.")
            if auth.revoked_at
            else _("The holder's consent for this case has expired."),
            code=why,
        )
    with transaction.atomic():
        use_record(
            licence=licence, kind=UseKind.CASE_REVIEW, by=by, case_number=case_number, authorisation=auth
        )
        audit.record(action="licence.viewed", actor=by, subject=licence, data={"case": case_number})
    return auth


def licence_read_by_third_party(*, code: str, viewer_label: str = "") -> LicenceAuthorisation:
    """A third party reads a licence with the holder's code; a bad code is refused and audited."""
    auth = third_party_authorisation(code)
    if auth is None:
        audit.record(
            action="licence.refused", outcome=AuditOutcome.DENIED, data={"why": "authorisation_code"}
        )
        raise PermissionDenied(
            _("This authorisation code is wrong, has expired or was withdrawn."), code="authorisation_invalid"
        )
    _ensure_usable(auth.licence)
    with transaction.atomic():
        use_record(
            licence=auth.licence,
            kind=UseKind.THIRD_PARTY_VIEW,
            actor_label=viewer_label or auth.grantee_name,
            purpose=auth.purpose,
            authorisation=auth,
        )
        audit.record(action="licence.viewed", subject=auth.licence, data={"authorisation": auth.pk})
    return auth


def case_numbered(*, case_id: int, number: str) -> None:
    """A case given its number on submission: its authorisations and uses show it from now on."""
    LicenceAuthorisation.objects.filter(case_id=case_id, case_number="").update(case_number=number)
    LicenceUse.objects.filter(authorisation__case_id=case_id, case_number="").update(case_number=number)


def case_authorisation_end(*, authorisation_id: int, case_id: int, by: User) -> None:
    """A licence fetched for a case is taken off it by the applicant: its authorisation ends."""
    ended = LicenceAuthorisation.objects.filter(
        pk=authorisation_id, case_id=case_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if ended:
        audit.record(
            action="licence.authorisation_withdrawn",
            actor=by,
            data={"authorisation": authorisation_id, "case": case_id, "why": "material_removed"},
        )


# --- staff pages and bulk import (added for H3: staff pages, 存量证照 import) -------------------


def issuance_check(*, type_: LicenceType) -> SigningKey:
    """The key that would sign the type's licences now; refuses as issuance would
    (``issuer_code_missing``, ``signing_key_missing``), so a bulk import stops before reading."""
    return _signing_key(_issuer_of(type_))


def licence_staff_viewed(*, licence: Licence, by: User) -> None:
    """The issuing department's staff open a licence in full (a sensitive read): audited."""
    permissions.ensure_acts_for(by, licence.issuer)
    audit.record(
        action="licence.staff_viewed",
        actor=by,
        subject=licence,
        data={"type": licence.type.code},
    )
