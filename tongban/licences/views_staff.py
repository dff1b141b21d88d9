"""The licence staff pages, mounted at /staff/licences/ (urls_staff.py).

The issuing department's approvers and data officers see and act on their department's licences;
an administrator on those of the departments in the jurisdiction (``selectors.licences_issued_by``);
every other account is refused (403, or the login page). Opening a licence in full is a sensitive
read and audited (``licence.staff_viewed``); the verification desk reads a licence in full only
through the holder's authorisation for a case (``services.licence_read_for_case``, which audits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.core.masking import mask_resident_id
from tongban.core.paging import query_without_page, slice_page
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.licences import imports, permissions, selectors, services
from tongban.licences.choices import HolderKind, ImportStatus, KeyStatus, LicenceStatus, Verdict
from tongban.licences.forms_staff import (
    CheckForm,
    ImportForm,
    IssueForm,
    KeyRotateForm,
    LicenceFilterForm,
    ReasonForm,
)
from tongban.licences.models import Licence, LicenceImport, LicenceType

T = TypeVar("T")
REPORT_ROWS = 500  # refused rows shown on the report page (the XLSX has every stored one)

licence_staff_required = staff_required(Role.APPROVER, Role.DATA_OFFICER, Role.ADMINISTRATOR)
administrator_required = staff_required(Role.ADMINISTRATOR)


def _found(lookup: Callable[[], T]) -> T:
    try:
        return lookup()
    except NotFound:
        raise Http404 from None


def _refuse_or_keep(exc: DomainError) -> None:
    """A refused permission is a 403 page and a vanished object a 404; other errors go on the form."""
    if isinstance(exc, PermissionDenied):
        raise PageForbidden(str(exc.message)) from None
    if isinstance(exc, NotFound):
        raise Http404 from None


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=imports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _masked_holder(licence: Licence) -> str:
    if licence.holder_kind == HolderKind.PERSON:
        return mask_resident_id(licence.holder_id)
    return licence.holder_id  # a credit code is public


def _data_rows(licence: Licence) -> list[tuple[str, str]]:
    """The licence's data in the order of its type's fields (then anything the type no longer has)."""
    rows: list[tuple[str, str]] = []
    known: set[str] = set()
    for spec in licence.type.fields:
        key = str(spec["key"])
        known.add(key)
        if key in licence.data:
            rows.append((str(spec.get("label") or key), str(licence.data[key])))
    rows.extend((key, str(value)) for key, value in licence.data.items() if key not in known)
    return rows


def _common(user: User, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "is_administrator": identity_selectors.has_role(user, Role.ADMINISTRATOR),
    }


# --- licences ------------------------------------------------------------------------------------


@licence_staff_required
@require_GET
def licence_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    types = selectors.types_in_scope(user)
    form = LicenceFilterForm(request.GET or None, types=types)
    qs = selectors.licences_search(user, **form.filters())
    page = slice_page(qs, request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        (licence, _masked_holder(licence), selectors.effective_status(licence, today))
        for licence in page.rows
    ]
    context = {
        **_common(user, "licences"),
        "form": form,
        "page": page,
        "rows": rows,
        "query": query_without_page(request.GET),
    }
    return render(request, "licences/staff/licence_list.html", context)


def _detail(
    request: HttpRequest, user: User, licence: Licence, *, form: ReasonForm | None = None, status: int = 200
) -> HttpResponse:
    services.licence_staff_viewed(licence=licence, by=user)
    effective = selectors.effective_status(licence)
    context = {
        **_common(user, "licences"),
        "licence": licence,
        "effective": effective,
        "data_rows": _data_rows(licence),
        "signature_ok": selectors.signature_ok(licence),
        "verification_url": selectors.verification_url(licence.identifier),
        "revoke_form": form
        or (ReasonForm(auto_id="id_revoke_%s") if licence.status != LicenceStatus.REVOKED else None),
    }
    return render(request, "licences/staff/licence_detail.html", context, status=status)


@licence_staff_required
@require_GET
def licence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    licence = _found(lambda: selectors.licence_issued_by(user, pk))
    return _detail(request, user, licence)


@licence_staff_required
@require_POST
def licence_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    licence = _found(lambda: selectors.licence_issued_by(user, pk))
    form = ReasonForm(request.POST, auto_id="id_revoke_%s")
    if not form.is_valid():
        return _detail(request, user, licence, form=form, status=400)
    try:
        services.licence_revoke(licence=licence, reason=form.cleaned_data["reason"], by=user)
    except DomainError as exc:
        _refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _detail(request, user, licence, form=form, status=exc.status)
    messages.success(request, _("The licence is revoked: verification now says so, and it cannot be used."))
    return redirect("licences_staff:detail", pk=licence.pk)


# --- types and issuance --------------------------------------------------------------------------


@licence_staff_required
@require_GET
def type_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    types = selectors.licence_types().prefetch_related("items__current_version", "items__department")
    rows = [(t, permissions.acts_for(user, t.issuing_department)) for t in types]
    return render(request, "licences/staff/type_list.html", {**_common(user, "types"), "rows": rows})


def _active_type(pk: int) -> LicenceType:
    type_ = selectors.licence_types().filter(pk=pk).first()
    if type_ is None:
        raise Http404
    return type_


@licence_staff_required
@require_http_methods(["GET", "POST"])
def licence_issue(request: HttpRequest, type_pk: int) -> HttpResponse:
    user = portal_user(request)
    type_ = _active_type(type_pk)
    try:
        permissions.ensure_acts_for(user, type_.issuing_department)
    except DomainError as exc:
        _refuse_or_keep(exc)
    form = IssueForm(request.POST or None, type_=type_)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                licence = services.licence_issue(type_=type_, by=user, **form.service_kwargs())
            except DomainError as exc:
                _refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(
                    request, _("The licence is issued and signed: %(id)s") % {"id": licence.identifier}
                )
                return redirect("licences_staff:detail", pk=licence.pk)
        else:
            status = 400
    context = {**_common(user, "types"), "type": type_, "form": form}
    return render(request, "licences/staff/issue.html", context, status=status)


@licence_staff_required
@require_GET
def type_template(request: HttpRequest, pk: int) -> HttpResponse:
    type_ = _active_type(pk)
    return _xlsx(imports.template_xlsx(type_), f"licences-{type_.code}.xlsx")


# --- signing keys --------------------------------------------------------------------------------


def _keys_page(
    request: HttpRequest, user: User, *, bound: tuple[int, KeyRotateForm] | None = None, status: int = 200
) -> HttpResponse:
    rows = []
    for department, keys in selectors.key_overview(user):
        form = (
            bound[1]
            if bound and bound[0] == department.pk
            else KeyRotateForm(auto_id=f"id_key{department.pk}_%s")
        )
        rows.append((department, keys, any(k.status == KeyStatus.ACTIVE for k in keys), form))
    return render(
        request, "licences/staff/key_list.html", {**_common(user, "keys"), "rows": rows}, status=status
    )


@administrator_required
@require_GET
def key_list(request: HttpRequest) -> HttpResponse:
    return _keys_page(request, portal_user(request))


@administrator_required
@require_POST
def key_rotate(request: HttpRequest, department_pk: int) -> HttpResponse:
    user = portal_user(request)
    department = identity_selectors.departments_in_jurisdiction(user).filter(pk=department_pk).first()
    if department is None:
        raise Http404
    form = KeyRotateForm(request.POST, auto_id=f"id_key{department.pk}_%s")
    if not form.is_valid():
        return _keys_page(request, user, bound=(department.pk, form), status=400)
    try:
        key = services.signing_key_rotate(department=department, by=user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        _refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _keys_page(request, user, bound=(department.pk, form), status=exc.status)
    messages.success(
        request,
        _("%(department)s now signs with key %(key)s; its earlier keys still verify what they signed.")
        % {"department": department.name, "key": key.key_id},
    )
    return redirect("licences_staff:keys")


# --- verification by staff -----------------------------------------------------------------------


@licence_staff_required
@require_http_methods(["GET", "POST"])
def check(request: HttpRequest) -> HttpResponse:
    """Verify an identifier; with a case number the holder authorised, show the licence in full."""
    user = portal_user(request)
    form = CheckForm(request.POST or None)
    context: dict[str, Any] = {**_common(user, "check"), "form": form}
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            verification = selectors.verify_identifier(form.cleaned_data["identifier"])
            context["verification"] = verification
            case_number = form.cleaned_data["case_number"].strip()
            context["case_number"] = case_number
            if case_number and verification.licence_id is not None:
                context.update(_read_for_case(user, verification, case_number))
    return render(request, "licences/staff/check.html", context, status=status)


def _read_for_case(user: User, verification: selectors.Verification, case_number: str) -> dict[str, Any]:
    if verification.verdict == Verdict.FORGED:
        return {"refusal": _("The registry's record does not match its signature: the licence is not shown.")}
    licence = selectors.licence_for_reading(verification.licence_id or 0)
    if licence is None:
        return {}
    auth = selectors.authorisation_by_case_number(licence.pk, case_number)
    try:
        # Without an authorisation for that case number the service finds none for case 0: refused, audited.
        services.licence_read_for_case(
            licence=licence, case_id=(auth.case_id or 0) if auth else 0, case_number=case_number, by=user
        )
    except PermissionDenied as exc:
        return {"refusal": str(exc.message), "refusal_code": exc.code}
    return {"licence": licence, "data_rows": _data_rows(licence), "authorisation": auth}


# --- bulk import ---------------------------------------------------------------------------------


@licence_staff_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    types = selectors.types_issued_by(user)
    form = ImportForm(request.POST or None, request.FILES or None, types=types)
    if request.method == "GET" and request.GET.get("type"):
        form.initial["type"] = request.GET["type"]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                batch = imports.licences_import(
                    type_=form.chosen_type(), file=form.cleaned_data["file"], by=user
                )
            except DomainError as exc:
                _refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                return redirect("licences_staff:import_report", pk=batch.pk)
        else:
            status = 400
    context = {
        **_common(user, "import"),
        "form": form,
        "types": types,
        "recent": list(selectors.imports_visible_to(user)[:20]),
    }
    return render(request, "licences/staff/import.html", context, status=status)


@licence_staff_required
@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    batch: LicenceImport = _found(lambda: selectors.import_visible_to(user, pk))
    context = {
        **_common(user, "import"),
        "batch": batch,
        "refused": imports.refused_count(batch),
        "errors": batch.errors[:REPORT_ROWS],
        "more_errors": max(0, len(batch.errors) - REPORT_ROWS),
        "unlisted": max(0, imports.refused_count(batch) - len(batch.errors)),
        "is_failed": batch.status == ImportStatus.FAILED,
    }
    return render(request, "licences/staff/import_report.html", context)


@licence_staff_required
@require_GET
def import_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    batch: LicenceImport = _found(lambda: selectors.import_visible_to(user, pk))
    return _xlsx(imports.report_xlsx(batch), f"licence-import-{batch.pk}-refused.xlsx")
