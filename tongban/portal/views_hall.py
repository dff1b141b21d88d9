"""The online hall (网上办事大厅): apply, keep drafts, correct, withdraw, follow one's cases.

Every page reads through ``tongban.cases.selectors`` (scoped to the applicant side: the applicant,
or a citizen agent of the enterprise applicant) and writes through ``tongban.cases.services``. A
case that is not the user's is the portal's 404, whatever the reason. Uploaded files are only ever
served by ``material_download`` after that check, never from MEDIA directly.

Saving and submitting an application takes several service calls (save the draft, remove and add
files, submit). The view runs them in one transaction: when any of them refuses, the database is
left exactly as it was before the request and the files stored meanwhile are deleted again, so a
failed submission never leaves a half-changed draft behind.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from tongban.cases import prefill
from tongban.cases import selectors as case_selectors
from tongban.cases import services as case_services
from tongban.cases.api import PROGRESS_RATE_GROUP
from tongban.cases.choices import (
    PREFILLED_ORIGINS,
    WITHDRAWABLE_STATUSES,
    CaseStatus,
    Decision,
    EventKind,
    MaterialStatus,
)
from tongban.cases.models import Case, CaseEvent, CaseMaterial
from tongban.cases.notices import NoticeKind, notice_pdf, notices_for
from tongban.cases.uploads import ACCEPTED_EXTENSIONS, check_upload, max_bytes
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.choices import OnlineDepth, ServiceObject
from tongban.catalog.forms_schema import build_form_class
from tongban.catalog.models import Material, ServiceItemVersion
from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import AccountKind
from tongban.identity.models import User
from tongban.identity.selectors import enterprises_represented_by, portal_user
from tongban.portal.forms_hall import SELF, ApplicantForm, ProgressForm, WithdrawForm
from tongban.portal.views_catalog import FETCHED_SOURCES, MAX_CODE_LENGTH

PAGE_SIZE = 20
# What the idempotency key of an application form may look like (secrets.token_urlsafe output).
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# The public progress lookup: per client address, a few lookups a minute, so that guessing the
# last four digits of someone's ID number is not practical. The page and the API
# (``cases.api.progress``) count in the same group with the same rate: one budget per address.
PROGRESS_RATE_DEFAULT = "20/m"
# Timeline notes the anonymous lookup may show: stage names, the kind of special procedure, the
# delivery method, a material's name. Other notes (correction instructions, reasons for refusal,
# the applicant's reason for withdrawing, the clerk's acceptance note) may hold personal data.
PUBLIC_NOTE_KINDS = frozenset(
    {
        EventKind.STAGE_STARTED,
        EventKind.STAGE_DONE,
        EventKind.OPINION,
        EventKind.SUSPENDED,
        EventKind.DELIVERED,
        EventKind.MATERIAL_ADDED,
    }
)
EDITABLE_STATUSES = frozenset({CaseStatus.DRAFT, CaseStatus.CORRECTION})


# --- helpers ---------------------------------------------------------------------------------


def accepts_online(version: ServiceItemVersion) -> bool:
    """The item can be applied for in the online hall (the guide's "在线办理" button uses the same rule)."""
    return version.online_depth >= OnlineDepth.PRE_REVIEW and "online" in version.channels


def _published(implementation_code: str) -> ServiceItemVersion | None:
    if len(implementation_code) > MAX_CODE_LENGTH:
        return None
    item_id = (
        catalog_selectors.published_items()
        .filter(implementation_code=implementation_code)
        .values_list("pk", flat=True)
        .first()
    )
    if item_id is None:
        return None
    try:
        return catalog_selectors.published_version(item_id=item_id)
    except NotFound:
        return None


def _unavailable(request: HttpRequest, message: str, *, status: int, item_name: str = "") -> HttpResponse:
    """A friendly page for an application that cannot be made (unpublished item, wrong account)."""
    context = {"message": message, "item_name": item_name}
    return render(request, "portal/hall/unavailable.html", context, status=status)


def _case_or_404(user: User, pk: int) -> Case:
    try:
        return case_selectors.case_for_applicant(user, case_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _applicant_choices(user: User, version: ServiceItemVersion) -> list[tuple[str, str, User]]:
    """Whom this account may apply for on this item: itself and/or the enterprises it represents."""
    obj = version.service_object
    for_persons = obj in (ServiceObject.PERSON, ServiceObject.BOTH)
    for_enterprises = obj in (ServiceObject.ENTERPRISE, ServiceObject.BOTH)
    choices: list[tuple[str, str, User]] = []
    if user.kind == AccountKind.CITIZEN:
        if for_persons:
            choices.append((SELF, _("Myself (%(name)s)") % {"name": user.name}, user))
        if for_enterprises:
            for enterprise in enterprises_represented_by(user).order_by("name"):
                label = _("Enterprise %(name)s (as its agent)") % {"name": enterprise.name}
                choices.append((str(enterprise.pk), label, enterprise))
    elif user.kind == AccountKind.ENTERPRISE and for_enterprises:
        choices.append((SELF, user.name, user))
    return choices


def _raw_answers(schema: list[dict[str, Any]], data: Any) -> dict[str, Any]:
    """The answers as typed, one per schema field: what a draft keeps and what submission checks."""
    answers: dict[str, Any] = {}
    for definition in schema:
        key = definition["key"]
        if definition["type"] == "multichoice":
            answers[key] = data.getlist(key)
        elif definition["type"] == "boolean":
            answers[key] = key in data
        else:
            answers[key] = data.get(key, "")
    return answers


@dataclass
class MaterialRow:
    """One material of the version as the application page shows it."""

    material: Material
    fetched: bool  # its source is a licence or shared data: the platform can fetch it (免提交)
    uploadable: bool
    files: list[CaseMaterial] = field(default_factory=list)
    deferred: bool = False
    errors: list[str] = field(default_factory=list)
    offer: prefill.Offer | None = None  # what would be fetched, or why it cannot be
    prefilled: list[prefill.ProvenanceView] = field(default_factory=list)  # what was fetched

    @property
    def input_name(self) -> str:
        return f"material_{self.material.pk}"


def _material_rows(
    version: ServiceItemVersion, case: Case | None, offers: list[prefill.Offer] | None = None
) -> list[MaterialRow]:
    given: dict[int, list[CaseMaterial]] = {}
    deferred: set[int] = set()
    fetched_rows = prefill.provenance_views(case) if case is not None else {}
    if case is not None:
        for row in case.materials.all():
            if row.status == MaterialStatus.DEFERRED:
                deferred.add(row.material_id)
            elif row.origin not in PREFILLED_ORIGINS:
                given.setdefault(row.material_id, []).append(row)
    by_material = {o.material.pk: o for o in offers or []}
    return [
        MaterialRow(
            material=m,
            fetched=m.source in FETCHED_SOURCES,
            # Anything not fetched can be uploaded: a licence the applicant does not hold, data the
            # exchange cannot give, or because the applicant prefers not to consent.
            uploadable=m.pk not in fetched_rows,
            files=given.get(m.pk, []),
            deferred=m.pk in deferred,
            offer=by_material.get(m.pk),
            prefilled=fetched_rows.get(m.pk, []),
        )
        for m in version.materials.all()
    ]


def _answers_for_display(version: ServiceItemVersion, form_data: dict[str, Any]) -> list[tuple[str, str]]:
    """Each question with the applicant's answer in words (option labels, 是/否)."""
    rows = []
    for definition in version.form_schema:
        value = form_data.get(definition["key"])
        labels = {o["value"]: o["label"] for o in definition.get("options") or []}
        if definition["type"] == "boolean":
            shown = _("Yes") if value else _("No")
        elif definition["type"] == "multichoice":
            shown = "、".join(labels.get(v, str(v)) for v in value or [])
        elif definition["type"] == "choice":
            shown = labels.get(value, str(value or ""))
        else:
            shown = "" if value is None else str(value)
        rows.append((definition["label"], shown))
    return rows


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.POST.get("idempotency_key", "")
    return key if _KEY.match(key) else None


def _case_for_key(user: User, key: str | None) -> Case | None:
    """The application this user already submitted with this key (a double click, a resent form)."""
    if not key:
        return None
    return (
        case_selectors.cases_of_applicant(user)
        .filter(idempotency_key=key)
        .exclude(status=CaseStatus.DRAFT)
        .first()
    )


def _submitted(request: HttpRequest, case: Case) -> HttpResponse:
    messages.success(
        request,
        _("Your application has been submitted. Case number: %(number)s. Keep it to follow the progress.")
        % {"number": case.number},
    )
    return redirect("hall:case_detail", pk=case.pk)


# --- the application form --------------------------------------------------------------------


@dataclass
class Attempt:
    """What one POST of the application page asks for."""

    submit: bool
    answers: dict[str, Any]
    files: dict[int, UploadedFile]
    removals: list[int]
    key: str | None


def _store(
    user: User,
    version: ServiceItemVersion,
    case: Case | None,
    applicant: User,
    attempt: Attempt,
    stored: list[tuple[Storage, str]],
) -> Case:
    """Save the draft, change its files and (if asked) submit it, all or nothing.

    One transaction around every service call: a refusal by any of them (a missing material, an
    answer the schema refuses, a transition no longer allowed) rolls all of them back, so the draft
    stays as it was before the request. The names of the files written meanwhile go to ``stored``
    for the caller to delete when the attempt fails.
    """
    # A new file for a material replaces the file(s) the draft had for it.
    replaced = [
        row.pk
        for row in (case.materials.all() if case is not None else [])
        if row.material_id in attempt.files and row.status == MaterialStatus.PROVIDED
    ]
    with transaction.atomic():
        case = case_services.case_draft_save(
            item=version.item, applicant=applicant, form_data=attempt.answers, by=user, case=case
        )
        for case_material_id in dict.fromkeys([*attempt.removals, *replaced]):
            case_services.case_material_remove(case=case, case_material_id=case_material_id, by=user)
        for material_id, upload in attempt.files.items():
            row = case_services.case_material_upload(
                case=case, material_id=material_id, upload=upload, by=user
            )
            stored.append((row.file.storage, row.file.name or ""))
        if attempt.submit:
            if case.status == CaseStatus.DRAFT:
                case = case_services.case_submit(
                    case=case, by=user, form_data=attempt.answers, idempotency_key=attempt.key
                )
            else:
                case = case_services.case_resubmit(case=case, by=user, form_data=attempt.answers)
    return case


def _delete_stored(stored: list[tuple[Storage, str]]) -> None:
    """Files of a rolled-back attempt: their rows are gone, so the files must go too."""
    for storage, name in stored:
        if name:
            storage.delete(name)


def _checked_files(request: HttpRequest, rows: list[MaterialRow]) -> dict[int, UploadedFile]:
    """The uploads of this request by material; a refused file's message goes to its material."""
    files: dict[int, UploadedFile] = {}
    for row in rows:
        upload = request.FILES.get(row.input_name)
        if upload is None or not row.uploadable:
            continue
        try:
            check_upload(upload, field=row.input_name)
        except DomainError as exc:
            row.errors.append(str(exc.message))
            continue
        files[row.material.pk] = upload
    return files


def _removals(request: HttpRequest, rows: list[MaterialRow]) -> list[int]:
    own = {f.pk for row in rows for f in row.files} | {p.row.pk for row in rows for p in row.prefilled}
    wanted = {int(v) for v in request.POST.getlist("remove") if v.isdigit()}
    return sorted(wanted & own)


def _place_error(exc: DomainError, form: Form, rows: list[MaterialRow]) -> str:
    """Put a service error's field messages next to the fields and materials; return the summary."""
    by_input = {row.input_name: row for row in rows}
    for name, found in exc.fields.items():
        if name in by_input:
            by_input[name].errors.extend(str(m) for m in found)
        elif form.is_bound and name in form.fields:
            for message in found:
                form.add_error(name, str(message))
    return str(exc.message)


def _application(
    request: HttpRequest,
    *,
    user: User,
    version: ServiceItemVersion,
    case: Case | None,
    choices: list[tuple[str, str, User]],
) -> HttpResponse:
    """The application page of a new application or of a draft or correction being edited."""
    form_class = build_form_class(version.form_schema)
    ask_applicant = case is None and (len(choices) > 1 or choices[0][2].pk != user.pk)
    # What the platform can fetch is shown once it is known whose application this is.
    known_applicant = case.applicant if case is not None else None if ask_applicant else choices[0][2]
    offers = (
        prefill.offers(version, known_applicant, version.item.department)
        if known_applicant is not None
        else []
    )
    rows = _material_rows(version, case, offers)
    applicant_form = ApplicantForm(
        request.POST or None, choices=[(value, label) for value, label, _who in choices], prefix="for"
    )
    error = ""
    status = 200
    key = _idempotency_key(request) if request.method == "POST" else None
    form: Form
    if request.method == "POST":
        action = request.POST.get("action")
        submit = action == "submit"
        if action == "prefill" and "prefill_consent" not in request.POST:
            error = _("Tick the box to consent before the materials are fetched.")
            action = "save_only_shown"
        done = _case_for_key(user, key) if submit else None
        if done is not None:
            return _submitted(request, done)
        answers = _raw_answers(version.form_schema, request.POST)
        # A draft keeps answers unchecked; a submission must pass the form first.
        form = form_class(request.POST) if submit else form_class(initial=answers)
        form_ok = form.is_valid() if submit else True
        applicant = case.applicant if case is not None else None
        if applicant is None:
            if ask_applicant and applicant_form.is_valid():
                wanted = applicant_form.cleaned_data["applicant"]
                applicant = next(who for value, _label, who in choices if value == wanted)
            elif not ask_applicant:
                applicant = choices[0][2]
        files = _checked_files(request, rows)
        attempt = Attempt(
            submit=submit, answers=answers, files=files, removals=_removals(request, rows), key=key
        )
        if action == "save_only_shown":
            status = 400
        elif form_ok and applicant is not None and not any(row.errors for row in rows):
            stored: list[tuple[Storage, str]] = []
            try:
                saved = _store(user, version, case, applicant, attempt, stored)
            except (DomainError, IntegrityError) as exc:
                _delete_stored(stored)
                done = _case_for_key(user, key) if submit else None
                if done is not None:
                    return _submitted(request, done)  # a concurrent copy of this submission won
                if isinstance(exc, IntegrityError):
                    raise
                error = _place_error(exc, form, rows)
                status = exc.status
            else:
                if action == "prefill":
                    return _prefill(request, saved, user)
                if not submit:
                    messages.success(request, _("Draft saved. You can come back and submit it later."))
                    return redirect("hall:case_edit", pk=saved.pk)
                if case is not None and case.status == CaseStatus.CORRECTION:
                    messages.success(request, _("Your corrected application has been resubmitted."))
                    return redirect("hall:case_detail", pk=saved.pk)
                return _submitted(request, saved)
        else:
            # The form's own summary lists the answers to correct; files and the applicant are named here.
            if applicant is None:
                error = _("Choose whom you are applying for.")
            elif any(row.errors for row in rows):
                error = _("Please correct the marked files.")
            status = 400
    else:
        form = form_class(initial=case.form_data if case is not None else None)
    context = {
        "version": version,
        "case": case,
        "form": form,
        "rows": rows,
        "consent_offers": [
            r.offer for r in rows if r.offer is not None and r.offer.available and not r.prefilled
        ],
        "prefill_purpose": prefill.purpose_of(version),
        "applicant_form": applicant_form if ask_applicant else None,
        "applicant_name": case.applicant_name if case is not None else choices[0][2].name,
        "idempotency_key": key or secrets.token_urlsafe(24),
        "error": error,
        "correction": _open_correction(case),
        "accept": ",".join(ACCEPTED_EXTENSIONS),
        "max_mb": max_bytes() // (1024 * 1024),
        "public_files": version.item.current_version_id == version.pk,
        # Starting afresh while a draft of the same item waits: offer the draft instead.
        "drafts": list(
            case_selectors.cases_of_applicant(user, status=CaseStatus.DRAFT).filter(item_id=version.item_id)[
                :3
            ]
        )
        if case is None
        else [],
    }
    return render(request, "portal/hall/apply.html", context, status=status)


def _prefill(request: HttpRequest, case: Case, user: User) -> HttpResponse:
    """The applicant consented: fetch what the platform can and come back to the draft."""
    try:
        fetched = prefill.prefill_draft(case=case, by=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("hall:case_edit", pk=case.pk)
    got = [f for f in fetched if f.ok]
    if got:
        messages.success(
            request,
            _("%(n)d materials were fetched for you and need not be submitted: %(names)s.")
            % {"n": len(got), "names": "、".join(f.offer.material.name for f in got)},
        )
    for failed in (f for f in fetched if not f.ok):
        messages.warning(request, f"{failed.offer.material.name}：{failed.reason}")
    return redirect("hall:case_edit", pk=case.pk)


def _open_correction(case: Case | None) -> Any:
    if case is None or case.status != CaseStatus.CORRECTION:
        return None
    return next((c for c in case.corrections.all() if c.resolved_at is None), None)


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, implementation_code: str) -> HttpResponse:
    """Start an application for a published item (在线办理)."""
    user = portal_user(request)
    version = _published(implementation_code)
    if version is None:
        return _unavailable(
            request, _("This service item is not published, so it does not accept applications."), status=404
        )
    if not accepts_online(version):
        message = _("This service cannot be applied for online. The service guide says where to apply.")
        return _unavailable(request, message, status=409, item_name=version.name)
    choices = _applicant_choices(user, version)
    if not choices:
        if user.kind == AccountKind.STAFF:
            message = _("Staff accounts cannot apply for services; use a citizen or enterprise account.")
        else:
            message = _("This service is for %(object)s only.") % {
                "object": version.get_service_object_display()
            }
        return _unavailable(request, message, status=403, item_name=version.name)
    return _application(request, user=user, version=version, case=None, choices=choices)


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Continue a draft, or correct a case returned with a one-time notice (修改并重新提交)."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    if request.method == "POST" and request.POST.get("action") == "submit":
        done = _case_for_key(user, _idempotency_key(request))
        if done is not None and done.pk == case.pk:
            return _submitted(request, done)
    if case.status not in EDITABLE_STATUSES:
        messages.info(request, _("This application can no longer be changed."))
        return redirect("hall:case_detail", pk=case.pk)
    choices = [(SELF, case.applicant_name, case.applicant)]
    return _application(request, user=user, version=case.version, case=case, choices=choices)


@require_GET
def material_file(
    request: HttpRequest, implementation_code: str, material_id: int, which: str
) -> HttpResponseBase:
    """A published material's blank form or filled-in sample (public, like the guide)."""
    version = _published(implementation_code)
    material = next((m for m in version.materials.all() if m.pk == material_id), None) if version else None
    if material is None or which not in ("blank_form", "sample"):
        raise Http404(_("This file is not available."))
    stored = material.blank_form if which == "blank_form" else material.sample
    if not stored:
        raise Http404(_("This file is not available."))
    name = (stored.name or "").rsplit("/", 1)[-1]
    return FileResponse(stored.open("rb"), as_attachment=True, filename=name)


# --- my cases --------------------------------------------------------------------------------


@login_required
@require_GET
def my_cases(request: HttpRequest) -> HttpResponse:
    """我的办件: every application of the account (and of the enterprises it acts for), drafts included."""
    user = portal_user(request)
    status = request.GET.get("status") or ""
    if status not in CaseStatus.values:
        status = ""
    cases = case_selectors.cases_of_applicant(user, status=status or None)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page_obj": page, "status": status, "statuses": CaseStatus.choices, "user_pk": user.pk}
    return render(request, "portal/hall/my_cases.html", context)


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    rows = _material_rows(case.version, case)
    context = {
        "case": case,
        "version": case.version,
        "answers": _answers_for_display(case.version, case.form_data),
        "rows": rows,
        "events": list(case.events.all()),
        "stages": list(case.stages.all()),
        "corrections": list(case.corrections.all()),
        "correction": _open_correction(case),
        "is_draft": case.status == CaseStatus.DRAFT,
        "can_withdraw": case.status in WITHDRAWABLE_STATUSES,
        "deferred_rows": [r for r in rows if r.deferred]
        if case.status in (CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED)
        else [],
        "notices": [{"title": n.title, "url": _notice_url(case, n.kind, n.round)} for n in notices_for(case)],
        "decision_refused": case.decision == Decision.REFUSED,
        "accept": ",".join(ACCEPTED_EXTENSIONS),
    }
    return render(request, "portal/hall/case_detail.html", context)


@login_required
@require_GET
def material_download(request: HttpRequest, pk: int, material_pk: int) -> HttpResponseBase:
    """A file of one's own case, after the ownership check (MEDIA is never served directly)."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    row = next((m for m in case.materials.all() if m.pk == material_pk and m.file), None)
    if row is None:
        raise Http404(_("No such file on this case."))
    return FileResponse(
        row.file.open("rb"),
        as_attachment=True,
        filename=row.original_name or f"material{row.extension}",
        content_type=row.content_type or "application/octet-stream",
    )


@login_required
@require_POST
def deferred_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Provide a material accepted to follow later (容缺后补)."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    material_id = request.POST.get("material", "")
    upload = request.FILES.get("file")
    if not material_id.isdigit() or upload is None:
        messages.error(request, _("Choose the file to upload."))
        return redirect("hall:case_detail", pk=case.pk)
    try:
        case_services.case_material_upload(case=case, material_id=int(material_id), upload=upload, by=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The material has been provided."))
    return redirect("hall:case_detail", pk=case.pk)


@login_required
@require_POST
def case_discard(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    try:
        case_services.case_draft_discard(case=case, by=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("hall:case_detail", pk=case.pk)
    messages.success(request, _("The draft has been discarded."))
    return redirect("hall:my_cases")


@login_required
@require_http_methods(["GET", "POST"])
def case_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw an application before the decision, after a confirmation page."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    if case.status not in WITHDRAWABLE_STATUSES:
        messages.info(request, _("This application can no longer be withdrawn."))
        return redirect("hall:case_detail", pk=case.pk)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case_services.case_withdraw(case=case, by=user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Your application has been withdrawn."))
            return redirect("hall:case_detail", pk=case.pk)
    status = 400 if form.errors else 200
    return render(request, "portal/hall/withdraw.html", {"case": case, "form": form}, status=status)


def _notice_url(case: Case, kind: str, round: int | None) -> str:
    if round is None:
        return reverse("hall:notice", kwargs={"pk": case.pk, "kind": kind})
    return reverse("hall:notice_round", kwargs={"pk": case.pk, "kind": kind, "round": round})


@login_required
@require_GET
def notice_download(request: HttpRequest, pk: int, kind: str, round: int | None = None) -> HttpResponseBase:
    """One of the case's written notices as a PDF (受理、不予受理、一次性告知、办结/不予许可)."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    if kind not in NoticeKind.values:
        raise Http404(_("No such notice."))
    try:
        title, pdf = notice_pdf(case, NoticeKind(kind), round=round)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    filename = f"{title}-{case.number}.pdf"
    return FileResponse(
        io.BytesIO(pdf), as_attachment=True, filename=filename, content_type="application/pdf"
    )


# --- the public progress lookup --------------------------------------------------------------


@dataclass(frozen=True)
class PublicEvent:
    label: str
    at: Any
    department: str
    note: str


def _public_events(events: list[CaseEvent]) -> list[PublicEvent]:
    return [
        PublicEvent(
            label=e.get_kind_display(),
            at=e.at,
            department=e.department.name if e.department else "",
            note=e.note if e.kind in PUBLIC_NOTE_KINDS else "",
        )
        for e in events
    ]


@require_http_methods(["GET", "POST"])
def progress(request: HttpRequest) -> HttpResponse:
    """办件进度查询: anyone with the case number and the last four characters of the ID or phone.

    A wrong number and wrong digits give the same "not found"; lookups are limited per client
    address (``TONGBAN_PROGRESS_RATE``), over which the page answers 429.
    """
    result = None
    not_found = False
    if request.method == "POST":
        rate = getattr(settings, "TONGBAN_PROGRESS_RATE", PROGRESS_RATE_DEFAULT)
        if is_ratelimited(request, group=PROGRESS_RATE_GROUP, key="ip", rate=rate, increment=True):
            return render(request, "portal/hall/progress_limited.html", status=429)
        form = ProgressForm(request.POST)
        if form.is_valid():
            result = case_selectors.progress_lookup(
                number=form.cleaned_data["number"], last4=form.cleaned_data["last4"]
            )
            not_found = result is None
    else:
        form = ProgressForm(initial={"number": request.GET.get("number", "")[:64]})
    context = {
        "form": form,
        "result": result,
        "events": _public_events(result.events) if result else [],
        "not_found": not_found,
    }
    return render(request, "portal/hall/progress.html", context, status=400 if form.errors else 200)
