"""Writes to cases: every transition is checked, atomic, audited and notified (ADR 11).

The transitions::

    draft ─submit─▶ submitted ─accept─▶ in_review ─(all stages approved)─▶ result_ready ─deliver─▶ completed
                        │  ▲                  │  ▲  │
           return_for_  │  │ resubmit   suspend│  │resume   any branch refuses ──▶ refused
           correction   ▼  │                  ▼  │
                      correction           suspended
    submitted ──not_accept──▶ not_accepted;   submitted/correction/in_review/suspended ──withdraw──▶ withdrawn

An illegal transition raises ``Conflict`` (HTTP 409) with the code ``case_transition_invalid``; acting
outside one's department raises ``PermissionDenied`` (403). The applicant is notified of every change
after the transaction commits (``notifications.notify``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.cases import permissions, prefill
from tongban.cases.choices import (
    WITHDRAWABLE_STATUSES,
    CaseStatus,
    Channel,
    Decision,
    DeliveryMethod,
    EventKind,
    MaterialOrigin,
    MaterialStatus,
    StageStatus,
    SuspensionKind,
    TaskOutcome,
    TaskStatus,
)
from tongban.cases.models import (
    Case,
    CaseCorrection,
    CaseCounter,
    CaseEvent,
    CaseFee,
    CaseMaterial,
    CaseStage,
    CaseSuspension,
    CaseTask,
)
from tongban.cases.uploads import check_upload
from tongban.catalog import forms_schema
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.choices import MaterialSource, ServiceObject
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
from tongban.core import audit
from tongban.core.calendar import deadline_after, local_date, working_days_between
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.choices import AccountKind
from tongban.identity.models import Department, User
from tongban.licences import services as licence_services
from tongban.notifications.services import notify

MAX_SERIAL = 9999
MAX_CORRECTION_ITEMS = 50
MAX_TEXT = 2000


# --- helpers ---------------------------------------------------------------------------------


def _transition_error(case: Case, action: str | Promise) -> Conflict:
    return Conflict(
        _("A case that is “%(status)s” cannot be %(action)s.")
        % {"status": case.get_status_display(), "action": action},
        code="case_transition_invalid",
        extra={"status": case.status},
    )


def _require_status(case: Case, allowed: Iterable[str], action: str | Promise) -> None:
    if case.status not in set(allowed):
        raise _transition_error(case, action)


def _text(value: str | None, *, field: str, required: bool, message: str | Promise, code: str) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(message, code=code, fields={field: [message]})
    if len(text) > MAX_TEXT:
        too_long = _("At most 2000 characters.")
        raise ValidationFailed(too_long, code="text_too_long", fields={field: [too_long]})
    return text


def _locked(case: Case) -> Case:
    """The case re-read under a row lock, so two staff acting at once are serialised."""
    return Case.objects.select_for_update().select_related("department", "item", "version").get(pk=case.pk)


def _event(
    case: Case, kind: str, *, by: User | None, note: str = "", department: Department | None = None
) -> None:
    CaseEvent.objects.create(case=case, kind=kind, actor=by, note=note, department=department)


def _site_language(render: Callable[[], str]) -> str:
    """Timeline notes are stored text shown to everyone: write them in the site's language, not in
    whatever language the acting request (or a management command, which runs untranslated) uses."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(render())


def _notify(case: Case, topic: str, title: str | Promise, body: str | Promise) -> None:
    notify(
        recipient=case.applicant,
        topic=topic,
        title=str(title),
        body=str(body),
        link=f"/my/cases/{case.pk}/",
        subject=case,
    )


def _audit(action: str, case: Case, by: User | None, summary: str = "", **data: Any) -> None:
    audit.record(**_audit_entry(action, case, by, summary, **data))


def _audit_entry(action: str, case: Case, by: User | None, summary: str = "", **data: Any) -> dict[str, Any]:
    return {
        "action": action,
        "actor": by,
        "subject": case,
        "summary": summary,
        "data": {"status": case.status, **data},
    }


def _applicant_snapshot(applicant: User) -> dict[str, str]:
    if applicant.kind == AccountKind.CITIZEN:
        number = applicant.resident_id or ""
    elif applicant.kind == AccountKind.ENTERPRISE:
        number = applicant.credit_code or ""
    else:
        raise PermissionDenied(
            _("Staff accounts cannot apply for services; use a citizen or enterprise account."),
            code="applicant_not_eligible",
        )
    return {
        "applicant_name": applicant.name,
        "applicant_id_number": number,
        "applicant_phone": applicant.phone,
    }


def _check_applicable(item: ServiceItem, applicant: User) -> ServiceItemVersion:
    version = catalog_selectors.applicable_version(item)
    if version is None:
        raise Conflict(
            _("This service item is not published, so it does not accept applications."),
            code="item_not_published",
        )
    wanted: dict[str, str] = {
        AccountKind.CITIZEN: ServiceObject.PERSON,
        AccountKind.ENTERPRISE: ServiceObject.ENTERPRISE,
    }
    if version.service_object != ServiceObject.BOTH and wanted.get(applicant.kind) != version.service_object:
        raise PermissionDenied(
            _("This service is for %(object)s only.") % {"object": version.get_service_object_display()},
            code="item_not_for_applicant",
        )
    return version


def _acting_for(applicant: User, by: User) -> None:
    """``by`` may file for ``applicant``: themselves or an authorised agent (clerks are checked apart)."""
    if by.pk == applicant.pk:
        return
    if by.kind == AccountKind.CITIZEN and applicant.kind == AccountKind.ENTERPRISE:
        from tongban.identity.selectors import enterprises_represented_by

        if enterprises_represented_by(by).filter(pk=applicant.pk).exists():
            return
    raise PermissionDenied(_("You may not apply on behalf of this account."), code="not_authorised_agent")


def _require_applicant_side(case: Case, by: User) -> None:
    if not permissions.is_applicant_side(by, case):
        raise NotFound(_("No such case, or it is not yours to see."), code="case_not_found")


def _next_number(item: ServiceItem, moment: datetime) -> str:
    """Implementation code + yyyymmdd + a 4-digit serial, unique per item and day under concurrency.

    The counter row is created by the day's first number and incremented by every later one in the
    same upsert, whose row lock is held until the submitting transaction commits, so two
    submissions never read the same value.
    """
    day = local_date(moment)
    table = connection.ops.quote_name(CaseCounter._meta.db_table)
    with connection.cursor() as cursor:
        # One statement on PostgreSQL and SQLite (3.35+): create the day's row or count one more,
        # under the row lock (or SQLite's write lock) that the upsert takes.
        cursor.execute(
            f"INSERT INTO {table} (item_id, day, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (item_id, day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [item.pk, day],
        )
        serial = int(cursor.fetchone()[0])
    if serial > MAX_SERIAL:
        raise Conflict(
            _("This item has reached 9999 applications today; please apply again tomorrow."),
            code="case_serial_exhausted",
        )
    return f"{item.implementation_code}{day:%Y%m%d}{serial:04d}"


def _missing_required(case: Case) -> list[Material]:
    """Required materials with nothing given: no upload, and nothing fetched (免提交) either."""
    provided = set(
        case.materials.filter(status=MaterialStatus.PROVIDED).values_list("material_id", flat=True)
    )
    # A themed bundle's case may lack a licence or shared-data material it could not fetch: the
    # department asks for it in its one-time notice (``case_apply``'s ``allow_unfetched``).
    unfetched_ok = case.channel == Channel.BUNDLE
    return [
        m
        for m in case.version.materials.all()
        if m.required and m.pk not in provided and not (unfetched_ok and m.source != MaterialSource.APPLICANT)
    ]


def _missing_error(missing: Sequence[Material]) -> ValidationFailed:
    message = _("Please provide these materials: %(names)s.") % {"names": "、".join(m.name for m in missing)}
    return ValidationFailed(
        message,
        code="materials_missing",
        fields={f"material_{m.pk}": [_("This material is required.")] for m in missing},
        extra={"materials": [m.pk for m in missing]},
    )


# --- drafts and submission -------------------------------------------------------------------


@transaction.atomic
def case_draft_save(
    *,
    item: ServiceItem,
    applicant: User,
    form_data: Mapping[str, Any],
    by: User,
    case: Case | None = None,
) -> Case:
    """Create or update a draft. Answers are kept as typed, unchecked: they are checked on submission."""
    _acting_for(applicant, by)
    if case is None:
        version = _check_applicable(item, applicant)
        case = Case(
            item=item,
            version=version,
            department=item.department,
            applicant=applicant,
            submitted_by=None if by.pk == applicant.pk else by,
            **_applicant_snapshot(applicant),
        )
    else:
        case = _locked(case)
        _require_applicant_side(case, by)
        _require_status(case, {CaseStatus.DRAFT, CaseStatus.CORRECTION}, _("edited"))
    known = {field["key"] for field in case.version.form_schema}
    case.form_data = {key: value for key, value in form_data.items() if key in known}
    case.save()
    _audit("case.draft_saved", case, by)
    return case


@transaction.atomic
def case_draft_discard(*, case: Case, by: User) -> None:
    case = _locked(case)
    _require_applicant_side(case, by)
    _require_status(case, {CaseStatus.DRAFT}, _("discarded"))
    _audit("case.draft_discarded", case, by)
    for material in case.materials.all():
        material.file.delete(save=False)
    case.delete()


def _material_of(case: Case, material_id: int) -> Material:
    material = case.version.materials.filter(pk=material_id).first()
    if material is None:
        message = _("This material does not belong to the item applied for.")
        raise ValidationFailed(message, code="material_unknown", fields={"material": [message]})
    return material


def _file_row(
    case: Case, material: Material, upload: UploadedFile, *, by: User, origin: str, row: CaseMaterial | None
) -> CaseMaterial:
    """The material row for an upload, its file written to storage; the row itself is not saved."""
    checked = check_upload(upload, field=f"material_{material.pk}")
    row = row or CaseMaterial(case=case, material=material)
    row.status = MaterialStatus.PROVIDED
    row.origin = origin
    row.original_name = checked.original_name
    row.content_type = checked.content_type
    row.extension = checked.extension
    row.size = checked.size
    row.sha256 = checked.sha256
    row.uploaded_by = by
    row.file.save(checked.original_name, upload, save=False)
    return row


def _store_file(
    case: Case, material: Material, upload: UploadedFile, *, by: User, origin: str, row: CaseMaterial | None
) -> CaseMaterial:
    row = _file_row(case, material, upload, by=by, origin=origin, row=row)
    row.save()
    return row


@transaction.atomic
def case_material_upload(
    *, case: Case, material_id: int, upload: UploadedFile, by: User, origin: str = MaterialOrigin.APPLICANT
) -> CaseMaterial:
    """Add a file for a material: on a draft or during corrections, or a deferred material later."""
    case = _locked(case)
    staff = by.kind == AccountKind.STAFF
    if staff:
        if not permissions.can_intake(by, case.department):
            raise PermissionDenied(_("This case is not handled by your window."), code="not_your_department")
    else:
        _require_applicant_side(case, by)
    material = _material_of(case, material_id)
    deferred = case.materials.filter(material=material, status=MaterialStatus.DEFERRED).first()
    if deferred is None:
        allowed = {CaseStatus.DRAFT, CaseStatus.CORRECTION} | ({CaseStatus.SUBMITTED} if staff else set())
        _require_status(case, allowed, _("given more materials"))
    else:
        _require_status(case, {CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED}, _("given more materials"))
    row = _store_file(case, material, upload, by=by, origin=origin, row=deferred)
    if deferred is not None:
        _event(case, EventKind.MATERIAL_ADDED, by=by, note=material.name)
    _audit("case.material_uploaded", case, by, material=material.pk, sha256=row.sha256, size=row.size)
    return row


@transaction.atomic
def case_material_remove(*, case: Case, case_material_id: int, by: User) -> None:
    case = _locked(case)
    _require_applicant_side(case, by)
    _require_status(case, {CaseStatus.DRAFT, CaseStatus.CORRECTION}, _("changed"))
    row = case.materials.filter(pk=case_material_id, status=MaterialStatus.PROVIDED).first()
    if row is None:
        raise NotFound(_("No such file on this case."), code="case_material_not_found")
    name = row.file.name or ""
    storage = row.file.storage
    authorisation_id = (
        row.provenance.get("authorisation_id") if row.origin == MaterialOrigin.E_LICENCE else None
    )
    row.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
    if authorisation_id:
        # The licence is no longer used for this case: its authorisation ends with it.
        licence_services.case_authorisation_end(
            authorisation_id=int(authorisation_id), case_id=case.pk, by=by
        )
    _audit("case.material_removed", case, by, material=row.material_id)


def check_prefill_allowed(*, case: Case, by: User) -> None:
    """Whether ``by`` may have materials fetched for this case now (read-only, before any call)."""
    _require_applicant_side(case, by)
    _require_status(case, {CaseStatus.DRAFT, CaseStatus.CORRECTION}, _("given fetched materials"))


def locked_for_prefill(*, case: Case, by: User) -> Case:
    """The case locked for attaching fetched materials, its status checked again under the lock."""
    case = _locked(case)
    check_prefill_allowed(case=case, by=by)
    return case


def _validated_form(case: Case, form_data: Mapping[str, Any] | None) -> dict[str, Any]:
    data = case.form_data if form_data is None else form_data
    cleaned = forms_schema.validate_submission(case.version.form_schema, data)
    return forms_schema.submission_to_json(cleaned)


@transaction.atomic
def case_submit(
    *, case: Case, by: User, form_data: Mapping[str, Any] | None = None, idempotency_key: str | None = None
) -> Case:
    """Submit a draft: the form is checked, every required material must be there, a number is given."""
    case = _locked(case)
    _require_applicant_side(case, by)
    if case.status != CaseStatus.DRAFT:
        if idempotency_key and case.idempotency_key == idempotency_key:
            return case  # the same submission sent twice
        raise _transition_error(case, _("submitted"))
    _check_applicable(case.item, case.applicant)
    case.form_data = _validated_form(case, form_data)
    missing = _missing_required(case)
    if missing:
        raise _missing_error(missing)
    now = timezone.now()
    case.number = _next_number(case.item, now)
    case.status = CaseStatus.SUBMITTED
    case.submitted_at = now
    case.idempotency_key = idempotency_key or case.idempotency_key
    case.save()
    licence_services.case_numbered(case_id=case.pk, number=case.number)
    _event(case, EventKind.SUBMITTED, by=by, department=case.department)
    _audit("case.submitted", case, by, number=case.number)
    _notify(
        case,
        "case.submitted",
        _("Application %(number)s submitted") % {"number": case.number},
        _("Your application for “%(item)s” has been submitted and awaits pre-review by %(department)s.")
        % {"item": case.version.name, "department": case.department.name},
    )
    return case


def _existing_for_key(applicant: User, idempotency_key: str | None) -> Case | None:
    if not idempotency_key:
        return None
    return Case.objects.filter(applicant=applicant, idempotency_key=idempotency_key).first()


def _key_used(applicant: User, idempotency_key: str | None) -> bool:
    """Whether the key already filed a case (before pre-fill's calls: a repeat makes none)."""
    return bool(idempotency_key) and (
        Case.objects.filter(applicant=applicant, idempotency_key=idempotency_key).exists()
    )


def case_apply(
    *,
    item: ServiceItem,
    applicant: User,
    form_data: Mapping[str, Any],
    files: Mapping[int, UploadedFile],
    by: User,
    idempotency_key: str | None = None,
    channel: str = Channel.ONLINE,
    prefill_consent: bool = False,
    allow_unfetched: bool = False,
) -> Case:
    """Draft, upload and submit in one transaction (the API, bundles and the window use this).

    With an ``idempotency_key`` the same request sent twice yields the one case it created; a key
    reused for a different item is refused (``idempotency_key_reused``). With ``prefill_consent``
    (the applicant consented, online or in front of the clerk) every licence and shared-data
    material the platform can fetch is fetched first (``cases.prefill``; the exchange's call
    records commit on their own) and attached, and only the rest must be uploaded.
    ``allow_unfetched`` (themed bundles, whose merged form has no upload for such materials) files
    the case even when a licence or shared-data material could not be fetched: the department sees
    it missing and asks for it in its one-time notice.
    """
    fetched: list[prefill.Fetched] = []
    if prefill_consent and not _key_used(applicant, idempotency_key):
        version = _check_applicable(item, applicant)
        fetched = prefill.gather(
            prefill.offers(version, applicant, item.department),
            applicant=applicant,
            department=item.department,
            purpose=prefill.purpose_of(version),
        )
    # A new key is the common case: file straight away and let the unique constraint on
    # (applicant, idempotency_key) catch a repeat, rather than look the key up first every time.
    try:
        return _apply(
            item=item,
            applicant=applicant,
            form_data=form_data,
            files=files,
            by=by,
            idempotency_key=idempotency_key,
            channel=channel,
            fetched=fetched,
            allow_unfetched=allow_unfetched,
        )
    except (IntegrityError, DomainError):
        # A repeat of an earlier request (or a concurrent one that won the race) is answered with
        # the case it created, whatever would be refused now (the item since retired, say).
        existing = _existing_for_key(applicant, idempotency_key)
        if existing is None:
            raise
    if existing.item_id != item.pk:
        raise Conflict(
            _("This idempotency key was already used for another application."), code="idempotency_key_reused"
        )
    return existing


@transaction.atomic
def _apply(
    *,
    item: ServiceItem,
    applicant: User,
    form_data: Mapping[str, Any],
    files: Mapping[int, UploadedFile],
    by: User,
    idempotency_key: str | None,
    channel: str,
    fetched: Sequence[prefill.Fetched] = (),
    allow_unfetched: bool = False,
) -> Case:
    if by.kind != AccountKind.STAFF:
        _acting_for(applicant, by)
    elif not permissions.can_intake(by, item.department):
        raise PermissionDenied(
            _("Your window does not accept applications for this department."), code="not_your_department"
        )
    version = _check_applicable(item, applicant)
    case = Case(
        item=item,
        version=version,
        department=item.department,
        applicant=applicant,
        submitted_by=None if by.pk == applicant.pk else by,
        channel=channel,
        idempotency_key=idempotency_key,
        **_applicant_snapshot(applicant),
    )
    case.form_data = _validated_form(case, form_data)
    materials = {m.pk: m for m in version.materials.all()}
    prefilled = {f.offer.material.pk for f in fetched if f.ok}
    checked = {}
    for material_id, upload in files.items():
        if material_id not in materials:
            message = _("This material does not belong to the item applied for.")
            raise ValidationFailed(
                message, code="material_unknown", fields={f"material_{material_id}": [message]}
            )
        checked[material_id] = check_upload(upload, field=f"material_{material_id}")
    missing = [
        m
        for m in materials.values()
        if m.required
        and m.pk not in files
        and m.pk not in prefilled
        and not (allow_unfetched and m.source != MaterialSource.APPLICANT)
    ]
    staff = by.kind == AccountKind.STAFF
    if missing and not staff:
        raise _missing_error(missing)
    # The rows that lock what other applications need (the item's day counter, the audit chain's
    # head) are written last, so those locks are held only from there to the commit: the case is
    # inserted as a draft with its files, then numbered and submitted.
    case.save(force_insert=True)
    origin = MaterialOrigin.WINDOW_SCAN if staff else MaterialOrigin.APPLICANT
    CaseMaterial.objects.bulk_create(
        [
            _file_row(case, materials[material_id], upload, by=by, origin=origin, row=None)
            for material_id, upload in files.items()
            if material_id not in prefilled
        ]
    )
    _event(case, EventKind.SUBMITTED, by=by, department=case.department)
    now = timezone.now()
    case.number = _next_number(item, now)
    events: list[dict[str, Any]] = []
    if fetched:
        # Attached once numbered, so the licences' authorisations and uses are written with the
        # number (no UPDATEs after); the counter is then taken before the audit head, as
        # ``case_submit`` takes them. The attachment's own event is appended with the submission's.
        prefill.attach(
            case,
            fetched,
            by=by,
            purpose=prefill.purpose_of(version),
            channel=channel,
            new_case=True,
            audit_later=events,
        )
    case.status = CaseStatus.SUBMITTED
    case.submitted_at = now
    case.save(update_fields=["number", "status", "submitted_at", "updated_at"])
    _notify(
        case,
        "case.submitted",
        _("Application %(number)s submitted") % {"number": case.number},
        _("Your application for “%(item)s” has been submitted and awaits pre-review by %(department)s.")
        % {"item": version.name, "department": case.department.name},
    )
    events.append(_audit_entry("case.submitted", case, by, number=case.number, channel=channel))
    audit.record_many(events)
    return case


# --- pre-review and acceptance ---------------------------------------------------------------


def _require_intake(case: Case, by: User) -> None:
    if not permissions.can_intake(by, case.department):
        raise PermissionDenied(
            _("Pre-review and acceptance of this case belong to another department or window."),
            code="not_your_department",
        )


def _clean_corrections(items: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    cleaned = []
    for entry in items:
        target = (entry.get("target") or "").strip()[:200]
        instruction = (entry.get("instruction") or "").strip()[:MAX_TEXT]
        if target and instruction:
            cleaned.append({"target": target, "instruction": instruction})
        elif target or instruction:
            message = _("Each correction needs both what is to be corrected and how.")
            raise ValidationFailed(message, code="correction_incomplete", fields={"items": [message]})
    if not cleaned:
        message = _("List at least one thing to correct.")
        raise ValidationFailed(message, code="corrections_required", fields={"items": [message]})
    if len(cleaned) > MAX_CORRECTION_ITEMS:
        message = _("At most 50 corrections in one notice.")
        raise ValidationFailed(message, code="too_many_corrections", fields={"items": [message]})
    return cleaned


@transaction.atomic
def case_return_for_correction(*, case: Case, items: Sequence[Mapping[str, str]], by: User) -> CaseCorrection:
    """Issue the one-time notice (一次性告知): everything to correct, at once."""
    case = _locked(case)
    _require_intake(case, by)
    _require_status(case, {CaseStatus.SUBMITTED}, _("returned for corrections"))
    cleaned = _clean_corrections(items)
    case.correction_rounds += 1
    case.status = CaseStatus.CORRECTION
    case.save(update_fields=["correction_rounds", "status", "updated_at"])
    correction = CaseCorrection.objects.create(
        case=case, round=case.correction_rounds, items=cleaned, issued_by=by
    )
    _event(
        case,
        EventKind.CORRECTION_REQUESTED,
        by=by,
        department=by.department,
        note="；".join(f"{c['target']}：{c['instruction']}" for c in cleaned),
    )
    _audit("case.correction_requested", case, by, round=correction.round, items=len(cleaned))
    _notify(
        case,
        "case.correction_requested",
        _("Application %(number)s needs corrections") % {"number": case.number},
        _("Please correct %(count)s item(s) listed in the one-time notice and resubmit.")
        % {"count": len(cleaned)},
    )
    return correction


@transaction.atomic
def case_resubmit(*, case: Case, by: User, form_data: Mapping[str, Any] | None = None) -> Case:
    case = _locked(case)
    _require_applicant_side(case, by)
    _require_status(case, {CaseStatus.CORRECTION}, _("resubmitted"))
    case.form_data = _validated_form(case, form_data)
    missing = _missing_required(case)
    if missing:
        raise _missing_error(missing)
    case.status = CaseStatus.SUBMITTED
    case.save(update_fields=["form_data", "status", "updated_at"])
    case.corrections.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
    _event(case, EventKind.RESUBMITTED, by=by, department=case.department)
    _audit("case.resubmitted", case, by, round=case.correction_rounds)
    _notify(
        case,
        "case.resubmitted",
        _("Application %(number)s resubmitted") % {"number": case.number},
        _("Your corrected application awaits pre-review again."),
    )
    return case


def _stage_departments(stage: Mapping[str, Any]) -> list[Department]:
    codes = list(stage.get("departments") or [stage.get("department")])
    found = {d.code: d for d in Department.objects.filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise Conflict(
            _("The item's process names departments that no longer exist: %(codes)s.")
            % {"codes": ", ".join(missing)},
            code="process_department_missing",
        )
    return [found[c] for c in codes]


def _start_stage(case: Case, stage: CaseStage, *, now: datetime, by: User | None) -> None:
    stage.status = StageStatus.ACTIVE
    stage.started_at = now
    stage.due_at = deadline_after(now, stage.days)
    stage.save(update_fields=["status", "started_at", "due_at"])
    departments = _stage_departments(case.version.process[stage.index])
    CaseTask.objects.bulk_create(
        CaseTask(stage=stage, case=case, department=d, due_at=stage.due_at) for d in departments
    )
    _event(case, EventKind.STAGE_STARTED, by=by, note=stage.name, department=departments[0])


@transaction.atomic
def case_accept(*, case: Case, by: User, deferred_material_ids: Iterable[int] = (), note: str = "") -> Case:
    """Accept (受理): the clock starts and the first stage goes to its departments' queues.

    Required materials still missing must be listed in ``deferred_material_ids`` and the item must
    allow them to follow later (容缺受理); they are then due before the final decision.
    """
    case = _locked(case)
    _require_intake(case, by)
    _require_status(case, {CaseStatus.SUBMITTED}, _("accepted"))
    note = _text(note, field="note", required=False, message="", code="")
    deferred_ids = set(deferred_material_ids)
    missing = _missing_required(case)
    for material in case.version.materials.filter(pk__in=deferred_ids):
        if not material.may_follow_later:
            message = _("“%(name)s” may not follow later for this item.") % {"name": material.name}
            raise ValidationFailed(message, code="material_not_deferrable", fields={"deferred": [message]})
    not_deferred = [m for m in missing if m.pk not in deferred_ids]
    if not_deferred:
        raise _missing_error(not_deferred)
    now = timezone.now()
    CaseMaterial.objects.bulk_create(
        CaseMaterial(case=case, material=m, status=MaterialStatus.DEFERRED, uploaded_by=by) for m in missing
    )
    case.status = CaseStatus.IN_REVIEW
    case.accepted_at = now
    case.accepted_by = by
    case.due_at = deadline_after(now, case.version.promised_days or 1)
    case.save(update_fields=["status", "accepted_at", "accepted_by", "due_at", "updated_at"])
    stages = CaseStage.objects.bulk_create(
        CaseStage(case=case, index=i, name=s["name"], days=s["days"])
        for i, s in enumerate(case.version.process)
    )
    if not stages:
        raise Conflict(_("The item has no process to follow."), code="process_missing")
    _event(case, EventKind.ACCEPTED, by=by, department=by.department, note=note)
    _start_stage(case, stages[0], now=now, by=by)
    _audit("case.accepted", case, by, deferred=sorted(m.pk for m in missing))
    _notify(
        case,
        "case.accepted",
        _("Application %(number)s accepted") % {"number": case.number},
        _("Your application has been accepted and will be completed by %(date)s.")
        % {"date": f"{local_date(case.due_at):%Y-%m-%d}"},
    )
    return case


@transaction.atomic
def case_not_accept(*, case: Case, reason: str, by: User) -> Case:
    """Refuse to accept (不予受理), with the reasons, which the notice gives to the applicant."""
    case = _locked(case)
    _require_intake(case, by)
    _require_status(case, {CaseStatus.SUBMITTED}, _("refused acceptance"))
    reason = _text(
        reason,
        field="reason",
        required=True,
        message=_("Give the reasons for not accepting the application."),
        code="reason_required",
    )
    now = timezone.now()
    case.status = CaseStatus.NOT_ACCEPTED
    case.not_accepted_reason = reason
    case.completed_at = now
    case.save(update_fields=["status", "not_accepted_reason", "completed_at", "updated_at"])
    _event(case, EventKind.NOT_ACCEPTED, by=by, department=by.department, note=reason)
    _audit("case.not_accepted", case, by)
    _notify(
        case,
        "case.not_accepted",
        _("Application %(number)s not accepted") % {"number": case.number},
        _("Your application was not accepted. Reasons: %(reason)s") % {"reason": reason},
    )
    return case


# --- review stages and decision --------------------------------------------------------------


def _cancel_open_work(case: Case) -> None:
    case.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    case.stages.filter(status__in=[StageStatus.ACTIVE, StageStatus.PENDING]).update(
        status=StageStatus.CANCELLED
    )


@transaction.atomic
def task_decide(*, task: CaseTask, outcome: str, opinion: str, by: User) -> CaseTask:
    """One department's opinion on its branch. A refusal ends the case; the last approval decides it."""
    task = CaseTask.objects.select_related("stage").get(pk=task.pk)
    if not permissions.can_decide_task(by, task):
        raise PermissionDenied(_("This task belongs to another department."), code="not_your_department")
    case = _locked(task.case)
    if case.status == CaseStatus.SUSPENDED:
        raise Conflict(
            _("The case is suspended for a special procedure; resume it first."), code="case_suspended"
        )
    _require_status(case, {CaseStatus.IN_REVIEW}, _("decided"))
    task.refresh_from_db()
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("This task has already been decided."), code="task_already_decided")
    if outcome not in TaskOutcome.values:
        message = _("Choose approve or refuse.")
        raise ValidationFailed(message, code="outcome_invalid", fields={"outcome": [message]})
    opinion = _text(
        opinion,
        field="opinion",
        required=outcome == TaskOutcome.REFUSE,
        message=_("A refusal must give its reasons."),
        code="reason_required",
    )
    stage = task.stage
    last_stage = not case.stages.filter(index__gt=stage.index).exists()
    others_open = case.tasks.filter(stage=stage, status=TaskStatus.OPEN).exclude(pk=task.pk).exists()
    deciding = outcome == TaskOutcome.APPROVE and last_stage and not others_open
    if deciding and case.materials.filter(status=MaterialStatus.DEFERRED).exists():
        raise Conflict(
            _("Materials accepted to follow later (容缺) must be provided before the decision."),
            code="deferred_materials_outstanding",
        )
    now = timezone.now()
    task.status = TaskStatus.APPROVED if outcome == TaskOutcome.APPROVE else TaskStatus.REFUSED
    task.opinion = opinion
    task.decided_by = by
    task.decided_at = now
    task.save(update_fields=["status", "opinion", "decided_by", "decided_at"])
    _event(
        case,
        EventKind.OPINION,
        by=by,
        department=task.department,
        note=_site_language(lambda: f"{stage.name}：{task.get_status_display()}"),
    )
    _audit("case.task_decided", case, by, task=task.pk, outcome=outcome, stage=stage.name)
    if outcome == TaskOutcome.REFUSE:
        stage.status = StageStatus.REFUSED
        stage.finished_at = now
        stage.save(update_fields=["status", "finished_at"])
        _cancel_open_work(case)
        _decide(case, Decision.REFUSED, opinion, by=by, now=now)
    elif not others_open:
        stage.status = StageStatus.DONE
        stage.finished_at = now
        stage.save(update_fields=["status", "finished_at"])
        _event(case, EventKind.STAGE_DONE, by=by, note=stage.name)
        following = case.stages.filter(index=stage.index + 1).first()
        if following is not None:
            _start_stage(case, following, now=now, by=by)
        else:
            _decide(case, Decision.APPROVED, opinion, by=by, now=now)
    return task


def _decide(case: Case, decision: str, opinion: str, *, by: User, now: datetime) -> None:
    licence = None
    if decision == Decision.APPROVED:
        # The licence the item yields is issued in the approval's transaction: an approval that
        # cannot issue it (no signing key, a required field missing) is refused as a whole.
        licence = licence_services.licence_issue_for_case(case=case, by=by)
    case.decision = decision
    case.decision_opinion = opinion
    case.decided_at = now
    if decision == Decision.APPROVED:
        case.status = CaseStatus.RESULT_READY
        kind, title = EventKind.APPROVED, _("Application %(number)s approved")
        body = str(_("Your application has been approved. The result will be delivered as you chose."))
    else:
        case.status = CaseStatus.REFUSED
        case.completed_at = now
        kind, title = EventKind.REFUSED, _("Application %(number)s refused")
        body = str(_("Your application was refused. Reasons: %(reason)s") % {"reason": opinion})
    case.save(
        update_fields=["decision", "decision_opinion", "decided_at", "status", "completed_at", "updated_at"]
    )
    _event(case, kind, by=by, department=by.department, note=opinion)
    _audit(f"case.{decision}", case, by)
    if licence is not None:
        _event(case, EventKind.LICENCE_ISSUED, by=by, department=licence.issuer, note=licence.identifier)
        body = f"{body} " + str(
            _("The electronic licence “%(type)s” has been issued to your licence wallet.")
            % {"type": licence.type.name}
        )
    _notify(case, f"case.{decision}", title % {"number": case.number}, body)


# --- delivery, withdrawal, suspension --------------------------------------------------------


@transaction.atomic
def case_deliver(*, case: Case, method: str, note: str = "", by: User) -> Case:
    """Hand over the result (统一出件): collected at the window, posted with a tracking number, or online."""
    case = _locked(case)
    if not permissions.can_deliver(by, case):
        raise PermissionDenied(
            _("Results of this case are not delivered by your window."), code="not_your_department"
        )
    _require_status(case, {CaseStatus.RESULT_READY}, _("delivered"))
    if method not in DeliveryMethod.values:
        message = _("Choose pickup, post or online delivery.")
        raise ValidationFailed(message, code="delivery_method_invalid", fields={"method": [message]})
    note = _text(
        note,
        field="note",
        required=method == DeliveryMethod.POST,
        message=_("Give the postal tracking number."),
        code="tracking_number_required",
    )[:200]
    now = timezone.now()
    case.status = CaseStatus.COMPLETED
    case.delivery_method = method
    case.delivery_note = note
    case.completed_at = now
    case.save(update_fields=["status", "delivery_method", "delivery_note", "completed_at", "updated_at"])
    _event(
        case,
        EventKind.DELIVERED,
        by=by,
        department=by.department,
        note=_site_language(case.get_delivery_method_display),
    )
    _audit("case.delivered", case, by, method=method)
    _notify(
        case,
        "case.delivered",
        _("Application %(number)s completed") % {"number": case.number},
        _("The result has been delivered (%(method)s). Thank you; you may rate the service.")
        % {"method": case.get_delivery_method_display()},
    )
    return case


@transaction.atomic
def case_withdraw(*, case: Case, by: User, reason: str = "") -> Case:
    case = _locked(case)
    _require_applicant_side(case, by)
    _require_status(case, WITHDRAWABLE_STATUSES, _("withdrawn"))
    reason = _text(reason, field="reason", required=False, message="", code="")
    now = timezone.now()
    _cancel_open_work(case)
    case.suspensions.filter(ended_at__isnull=True).update(ended_at=now, ended_by=by)
    case.status = CaseStatus.WITHDRAWN
    case.withdrawn_reason = reason
    case.completed_at = now
    case.save(update_fields=["status", "withdrawn_reason", "completed_at", "updated_at"])
    _event(case, EventKind.WITHDRAWN, by=by, note=reason)
    _audit("case.withdrawn", case, by)
    _notify(
        case,
        "case.withdrawn",
        _("Application %(number)s withdrawn") % {"number": case.number},
        _("Your application has been withdrawn at your request."),
    )
    return case


@transaction.atomic
def case_suspend(*, case: Case, kind: str, reason: str, by: User) -> CaseSuspension:
    """Stop the clock for a special procedure (特别程序: hearing, expert review, testing…)."""
    case = _locked(case)
    if not permissions.can_manage_case(by, case):
        raise PermissionDenied(
            _("Only the responsible department can suspend this case."), code="not_your_department"
        )
    _require_status(case, {CaseStatus.IN_REVIEW}, _("suspended"))
    if kind not in SuspensionKind.values:
        message = _("Choose the kind of special procedure.")
        raise ValidationFailed(message, code="suspension_kind_invalid", fields={"kind": [message]})
    reason = _text(
        reason,
        field="reason",
        required=True,
        message=_("Give the reason for the special procedure."),
        code="reason_required",
    )
    suspension = CaseSuspension.objects.create(
        case=case, kind=kind, reason=reason, started_at=timezone.now(), started_by=by
    )
    case.status = CaseStatus.SUSPENDED
    case.save(update_fields=["status", "updated_at"])
    _event(
        case,
        EventKind.SUSPENDED,
        by=by,
        department=by.department,
        note=_site_language(suspension.get_kind_display),
    )
    _audit("case.suspended", case, by, kind=kind)
    _notify(
        case,
        "case.suspended",
        _("Application %(number)s: special procedure") % {"number": case.number},
        _("The time limit is paused for a special procedure (%(kind)s): %(reason)s")
        % {"kind": suspension.get_kind_display(), "reason": reason},
    )
    return suspension


@transaction.atomic
def case_resume(*, case: Case, by: User) -> Case:
    """Restart the clock; the deadlines move by the working days the procedure took."""
    case = _locked(case)
    if not permissions.can_manage_case(by, case):
        raise PermissionDenied(
            _("Only the responsible department can resume this case."), code="not_your_department"
        )
    _require_status(case, {CaseStatus.SUSPENDED}, _("resumed"))
    suspension = case.suspensions.get(ended_at__isnull=True)
    now = timezone.now()
    days = max(working_days_between(suspension.started_at, now), 0)
    suspension.ended_at = now
    suspension.ended_by = by
    suspension.working_days = days
    suspension.save(update_fields=["ended_at", "ended_by", "working_days"])
    if days and case.due_at is not None:
        case.due_at = deadline_after(case.due_at, days)
        for stage in case.stages.filter(status=StageStatus.ACTIVE):
            if stage.due_at is not None:
                stage.due_at = deadline_after(stage.due_at, days)
                stage.save(update_fields=["due_at"])
                stage.tasks.filter(status=TaskStatus.OPEN).update(due_at=stage.due_at)
    case.status = CaseStatus.IN_REVIEW
    case.save(update_fields=["status", "due_at", "updated_at"])
    _event(case, EventKind.RESUMED, by=by, department=by.department)
    _audit("case.resumed", case, by, working_days=days)
    _notify(
        case,
        "case.resumed",
        _("Application %(number)s resumed") % {"number": case.number},
        _("The special procedure has ended; the case will be completed by %(date)s.")
        % {"date": f"{local_date(case.due_at):%Y-%m-%d}" if case.due_at else ""},
    )
    return case


# --- fees (supervised against the catalogue, issue 6) ----------------------------------------

MAX_FEE = Decimal("100000000")
_CATALOGUE_AMOUNT = re.compile(r"(\d+(?:\.\d{1,2})?)\s*元")


def catalogue_amounts(fee_text: str) -> set[Decimal]:
    """The amounts a catalogue entry's fee text states (``住宅80元/件，非住宅550元/件`` → 80, 550)."""
    return {Decimal(m) for m in _CATALOGUE_AMOUNT.findall(fee_text or "")}


def fee_in_catalogue(version: ServiceItemVersion, amount: Decimal) -> bool:
    """An item that charges nothing allows no fee; one that states amounts allows only those."""
    if not version.fee_charged:
        return False
    stated = catalogue_amounts(version.fee_amount)
    return not stated or amount in stated


@transaction.atomic
def case_fee_record(*, case: Case, amount: Decimal | str, basis: str, by: User) -> CaseFee:
    """Record a fee charged on an accepted case: an approver or clerk of the case's department only.

    Whether the fee is in the item's catalogue entry is decided here and kept on the row, so the
    supervision sweep finds fees outside the catalogue with one indexed query.
    """
    case = _locked(case)
    if not (by.department_id == case.department_id and permissions.can_intake(by, case.department)):
        raise PermissionDenied(
            _("Only the case's own department records its fees."), code="not_your_department"
        )
    _require_status(
        case,
        {CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED, CaseStatus.RESULT_READY, CaseStatus.COMPLETED},
        _("charged a fee"),
    )
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value >= MAX_FEE or value != value.quantize(Decimal("0.01")):
        message = _("Give the amount in yuan, more than 0, with at most two decimals.")
        raise ValidationFailed(message, code="fee_amount_invalid", fields={"amount": [message]})
    basis = _text(
        basis,
        field="basis",
        required=True,
        message=_("Say what the fee is for and on what basis."),
        code="fee_basis_required",
    )[:500]
    fee = CaseFee.objects.create(
        case=case,
        amount=value,
        basis=basis,
        in_catalogue=fee_in_catalogue(case.version, value),
        recorded_by=by,
    )
    _audit("case.fee_recorded", case, by, fee=fee.pk, amount=str(value), in_catalogue=fee.in_catalogue)
    return fee
