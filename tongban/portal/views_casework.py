"""Staff case handling (办件) and the one-window intake (一窗受理), under /staff/.

Every read goes through ``tongban.cases.selectors`` (scoped to the staff member's department or
jurisdiction; a case outside it is a 404 whatever the reason) and every write through
``tongban.cases.services``, which decide whether the action is allowed now. A refused action
re-renders the case page with the service's message and the status it carries (409 for a
transition the case's status does not allow), and changes nothing.

The one-window intake has three steps: find the item, identify the applicant who is present (ID
number and name must both match one account, ``cases.casework.window_identify``), then fill the
form and scan the materials. The identified account is kept in the clerk's session for a short
time, tied to what it was identified for (an item, or a themed bundle in ``views_bundles_window``),
so step three cannot be reached for anyone the clerk did not identify.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from tongban.bundles import selectors as bundle_selectors
from tongban.bundles.models import Bundle
from tongban.cases import casework, prefill, selectors, services
from tongban.cases.choices import CaseStatus, Channel, MaterialOrigin, MaterialStatus, StageStatus
from tongban.cases.models import Case, CaseMaterial, CaseTask
from tongban.cases.notices import NoticeKind, notice_pdf, notices_for
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.choices import MaterialSource
from tongban.catalog.forms_schema import build_form_class, submission_to_json
from tongban.catalog.models import Material, ServiceItemVersion
from tongban.core.calendar import working_days_between
from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.core.masking import mask_name, mask_phone, mask_resident_id
from tongban.identity.choices import AccountKind, Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import has_role, portal_user
from tongban.portal.forms_casework import (
    AcceptForm,
    CaseFilterForm,
    DecideForm,
    DeliverForm,
    FeeForm,
    MaterialUploadForm,
    NotAcceptForm,
    SuspendForm,
    WindowIdentifyForm,
    WindowSearchForm,
    correction_formset,
)

CASE_ROLES = (Role.WINDOW_CLERK, Role.APPROVER, Role.SUPERVISOR, Role.ADMINISTRATOR)
HANDLER_ROLES = (Role.WINDOW_CLERK, Role.APPROVER)
PAGE_SIZE = 30
# A case due within this many working days is shown as at risk.
AT_RISK_DAYS = 2
ITEM_FILTER_LIMIT = 300
WINDOW_RESULTS = 50
# How long the clerk's identification of the applicant at the counter stays valid.
WINDOW_IDENTIFY_SECONDS = 30 * 60
WINDOW_SESSION_KEY = "casework.window_applicant"
# Identification attempts per clerk: enough for a busy counter, too few to trawl for accounts.
WINDOW_IDENTIFY_RATE = "20/m"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


# --- helpers -------------------------------------------------------------------------------------


def _urgency(due_at: datetime | None, now: datetime, status: str) -> str:
    """How close the deadline is: overdue, at risk (``AT_RISK_DAYS`` working days or fewer), or "".

    Only while the clock runs: a suspended case's deadlines move when it resumes.
    """
    if due_at is None or status != CaseStatus.IN_REVIEW:
        return ""
    if due_at < now:
        return "overdue"
    return "at_risk" if working_days_between(now, due_at) <= AT_RISK_DAYS else ""


@dataclass(frozen=True)
class Row:
    case: Case
    applicant: str
    due_at: datetime | None
    urgency: str
    stage: str = ""


def _row(case: Case, now: datetime, *, task: CaseTask | None = None) -> Row:
    due = task.due_at if task is not None else case.due_at
    return Row(
        case=case,
        applicant=mask_name(case.applicant_name),
        due_at=due,
        urgency=_urgency(due, now, case.status),
        stage=task.stage.name if task is not None else "",
    )


def queue_counts(user: User) -> dict[str, int]:
    """How many cases wait in each of the user's three queues (for the tabs and the workbench)."""
    return {
        "intake": selectors.intake_queue(user).count(),
        "tasks": selectors.task_queue(user).count(),
        "delivery": selectors.delivery_queue(user).count(),
    }


def _tabs(user: User) -> list[str]:
    tabs = []
    if has_role(user, *HANDLER_ROLES):
        tabs.append("intake")
    if has_role(user, Role.APPROVER):
        tabs.append("tasks")
    if has_role(user, *HANDLER_ROLES):
        tabs.append("delivery")
    return [*tabs, "all"]


def _case_or_404(user: User, pk: int) -> Case:
    try:
        return selectors.case_for_staff(user, case_id=pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None


def _detail_url(case: Case) -> str:
    return reverse("casework:case_detail", args=[case.pk])


# --- the case list ---------------------------------------------------------------------------------


def _filtered(user: User, form: CaseFilterForm) -> QuerySet[Case]:
    cases = selectors.cases_for_staff(user).order_by("-submitted_at", "-pk")
    if not form.is_valid():
        return cases
    data = form.cleaned_data
    if data.get("q"):
        cases = cases.filter(number__startswith=data["q"].strip().upper())
    if data.get("status"):
        cases = cases.filter(status=data["status"])
    if data.get("item"):
        cases = cases.filter(item_id=data["item"])
    return cases


def _item_choices(user: User) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    pairs = selectors.cases_for_staff(user).order_by().values_list("item_id", "version__name")
    for item_id, name in pairs[:ITEM_FILTER_LIMIT]:
        seen.setdefault(item_id, name)
    return sorted(seen.items(), key=lambda pair: pair[1])


@staff_required(*CASE_ROLES)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    """The case desk (办件工作台): the intake, review and delivery queues and a search of all cases."""
    user = portal_user(request)
    tabs = _tabs(user)
    tab = request.GET.get("tab") or tabs[0]
    if tab not in tabs:
        raise Http404
    now = timezone.now()
    counts = queue_counts(user)
    context: dict[str, Any] = {"tab": tab, "tabs": tabs, "counts": counts}
    number = request.GET.get("page")
    if tab == "tasks":
        task_page = Paginator(selectors.task_queue(user), PAGE_SIZE).get_page(number)
        context.update(page=task_page, rows=[_row(t.case, now, task=t) for t in task_page.object_list])
    else:
        if tab == "intake":
            cases = selectors.intake_queue(user)
        elif tab == "delivery":
            cases = selectors.delivery_queue(user)
        else:
            form = CaseFilterForm(request.GET, items=_item_choices(user))
            cases = _filtered(user, form)
            context["form"] = form
        page = Paginator(cases, PAGE_SIZE).get_page(number)
        context.update(page=page, rows=[_row(c, now) for c in page.object_list])
    return render(request, "portal/casework/case_list.html", context)


# --- the case page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    label: str
    value: str


def _answers(case: Case) -> list[Answer]:
    answers = []
    for field in case.version.form_schema:
        value = case.form_data.get(field["key"])
        labels = {o["value"]: o["label"] for o in field.get("options", [])}
        if isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif isinstance(value, list):
            shown = "、".join(labels.get(v, str(v)) for v in value)
        elif value is None or value == "":
            shown = "—"
        else:
            shown = labels.get(value, str(value))
        answers.append(Answer(label=field["label"], value=shown))
    return answers


@dataclass(frozen=True)
class MaterialLine:
    material: Material
    files: list[CaseMaterial]
    deferred: bool
    fetched: bool  # an e-licence or shared data the platform can fetch (免提交)
    prefilled: tuple[prefill.ProvenanceView, ...] = ()  # what was fetched, checked now

    @property
    def missing(self) -> bool:
        return not self.prefilled and not self.deferred and not self.files


def _materials(case: Case) -> list[MaterialLine]:
    rows = list(case.materials.all())
    fetched = prefill.provenance_views(case)
    lines = []
    for material in sorted(case.version.materials.all(), key=lambda m: (m.sort_order, m.pk)):
        own = [r for r in rows if r.material_id == material.pk]
        lines.append(
            MaterialLine(
                material=material,
                files=[r for r in own if r.status == MaterialStatus.PROVIDED and r.file],
                deferred=any(r.status == MaterialStatus.DEFERRED for r in own),
                fetched=material.source != MaterialSource.APPLICANT,
                prefilled=tuple(fetched.get(material.pk, [])),
            )
        )
    return lines


def _deferrable(lines: list[MaterialLine]) -> list[Material]:
    return [
        ln.material for ln in lines if ln.missing and ln.material.required and ln.material.may_follow_later
    ]


def _correction_targets(case: Case, lines: list[MaterialLine]) -> list[tuple[str, Any]]:
    fields = [(f["label"], f["label"]) for f in case.version.form_schema]
    materials = [(ln.material.name, ln.material.name) for ln in lines if not ln.prefilled]
    groups: list[tuple[str, Any]] = []
    if fields:
        groups.append((_("Application form"), fields))
    if materials:
        groups.append((_("Materials"), materials))
    return groups


def _open_task(case: Case, task_id: int) -> CaseTask:
    for stage in case.stages.all():
        for task in stage.tasks.all():
            if task.pk == task_id:
                return task
    raise Http404


def _detail_page(
    request: HttpRequest,
    user: User,
    case: Case,
    *,
    bound: dict[str, Any] | None = None,
    error: DomainError | None = None,
    revealed: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    bound = bound or {}
    acts = selectors.can_act(user, case)
    tasks = selectors.open_tasks_for(user, case)
    lines = _materials(case)
    deferrable = _deferrable(lines)
    now = timezone.now()
    active = [s for s in case.stages.all() if s.status == StageStatus.ACTIVE]
    upload_forms = {
        ln.material.pk: bound.get(f"upload_{ln.material.pk}")
        or MaterialUploadForm(prefix=f"m{ln.material.pk}")
        for ln in lines
        if (acts["intake"] and ln.missing) or (acts["upload_deferred"] and ln.deferred)
    }
    context = {
        "case": case,
        "acts": acts,
        # Deferred-material uploads are listed with the materials; they alone do not fill an actions card.
        "any_action": any(v for k, v in acts.items() if k != "upload_deferred") or bool(tasks),
        "tasks": [
            (
                t,
                bound.get(f"task_{t.pk}") or DecideForm(prefix=f"t{t.pk}"),
                _urgency(t.due_at, now, case.status),
            )
            for t in tasks
        ],
        "answers": _answers(case),
        "materials": [(ln, upload_forms.get(ln.material.pk)) for ln in lines],
        "applicant_id": revealed["id_number"] if revealed else mask_resident_id(case.applicant_id_number),
        "applicant_phone": revealed["phone"] if revealed else mask_phone(case.applicant_phone),
        "revealed": revealed is not None,
        "urgency": _urgency(case.due_at, now, case.status),
        "stage_due": active[0].due_at if active else None,
        "open_suspension": next((s for s in case.suspensions.all() if s.ended_at is None), None),
        "error": error,
        "accept_form": bound.get("accept") or AcceptForm(deferrable=deferrable),
        "deferrable": deferrable,
        "blocking": [
            ln.material
            for ln in lines
            if ln.missing and ln.material.required and not ln.material.may_follow_later
        ],
        "correction_formset": bound.get("correction")
        or correction_formset(targets=_correction_targets(case, lines)),
        "not_accept_form": bound.get("not_accept") or NotAcceptForm(),
        "suspend_form": bound.get("suspend") or SuspendForm(),
        "deliver_form": bound.get("deliver") or DeliverForm(),
        "fee_form": bound.get("fee") or FeeForm(prefix="fee"),
        "can_record_fee": _can_record_fee(user, case),
        "fees": list(case.fees.all()),
        # Filed at the window, alone or as part of a themed bundle.
        "submitted_by_clerk": case.submitted_by is not None and case.submitted_by.kind == AccountKind.STAFF,
        "notices": [(n.title, _notice_url(case, n.kind, n.round)) for n in notices_for(case)],
    }
    return render(request, "portal/casework/case_detail.html", context, status=status)


def _can_record_fee(user: User, case: Case) -> bool:
    """Only for showing the form: ``case_fee_record`` checks again."""
    fee_statuses = {CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED, CaseStatus.RESULT_READY, CaseStatus.COMPLETED}
    return (
        user.department_id == case.department_id
        and has_role(user, *HANDLER_ROLES)
        and case.status in fee_statuses
    )


def _refused(
    request: HttpRequest, user: User, case: Case, exc: DomainError, *, name: str, form: Any
) -> HttpResponse:
    """The case page again with the service's refusal on the form that asked (nothing was changed)."""
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc.message))
    if isinstance(exc, NotFound):
        raise Http404(str(exc.message))
    # An error about the form's own fields shows on the form; any other at the top of the page.
    on_form = hasattr(form, "add_domain_error") and any(field in form.fields for field in exc.fields)
    if on_form:
        form.add_domain_error(exc)
    error = None if on_form else exc
    return _detail_page(request, user, case, bound={name: form}, error=error, status=exc.status)


@staff_required(*CASE_ROLES)
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    return _detail_page(request, user, _case_or_404(user, pk))


@staff_required(*CASE_ROLES)
@require_POST
def case_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full ID number and phone, for this one response only; the read is audited."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    revealed = casework.case_contact_reveal(case_id=case.pk, by=user)
    return _detail_page(request, user, case, revealed=revealed)


@staff_required(*CASE_ROLES)
@require_GET
def material_download(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    user = portal_user(request)
    try:
        row = casework.case_material_open(case_id=pk, case_material_id=file_id, by=user)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    response = FileResponse(
        row.file.open("rb"), as_attachment=True, filename=row.original_name, content_type=row.content_type
    )
    response["Cache-Control"] = "private, no-store"
    # A streamed file; the staff guard's type speaks of plain responses only.
    return cast(HttpResponse, response)


def _notice_url(case: Case, kind: str, round: int | None) -> str:
    if round is None:
        return reverse("casework:notice", kwargs={"pk": case.pk, "kind": kind})
    return reverse("casework:notice_round", kwargs={"pk": case.pk, "kind": kind, "round": round})


@staff_required(*CASE_ROLES)
@require_GET
def notice_download(request: HttpRequest, pk: int, kind: str, round: int | None = None) -> HttpResponse:
    """A written notice of the case as a PDF, opened in the browser to print it for the applicant."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    if kind not in NoticeKind.values:
        raise Http404
    try:
        title, pdf = notice_pdf(case, NoticeKind(kind), round=round)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    response = FileResponse(
        io.BytesIO(pdf), filename=f"{title}-{case.number}.pdf", content_type="application/pdf"
    )
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)


@staff_required(*HANDLER_ROLES)
@require_POST
def case_accept(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    form = AcceptForm(request.POST, deferrable=_deferrable(_materials(case)))
    if not form.is_valid():
        return _detail_page(request, user, case, bound={"accept": form}, status=400)
    try:
        services.case_accept(
            case=case,
            by=user,
            deferred_material_ids=form.cleaned_data["deferred"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        return _refused(request, user, case, exc, name="accept", form=form)
    messages.success(
        request,
        _("Application %(number)s accepted. Print the notice of acceptance for the applicant.")
        % {"number": case.number},
    )
    return redirect(_detail_url(case))


@staff_required(*HANDLER_ROLES)
@require_POST
def case_correction(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    formset = correction_formset(request.POST, targets=_correction_targets(case, _materials(case)))
    if not formset.is_valid():
        return _detail_page(request, user, case, bound={"correction": formset}, status=400)
    try:
        services.case_return_for_correction(case=case, items=formset.items(), by=user)
    except DomainError as exc:
        return _refused(request, user, case, exc, name="correction", form=formset)
    messages.success(request, _("The one-time notice of corrections was sent to the applicant."))
    return redirect(_detail_url(case))


@staff_required(*HANDLER_ROLES)
@require_POST
def case_not_accept(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    form = NotAcceptForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, user, case, bound={"not_accept": form}, status=400)
    try:
        services.case_not_accept(case=case, reason=form.cleaned_data["reason"], by=user)
    except DomainError as exc:
        return _refused(request, user, case, exc, name="not_accept", form=form)
    messages.success(request, _("Application %(number)s was not accepted.") % {"number": case.number})
    return redirect(_detail_url(case))


@staff_required(Role.APPROVER)
@require_POST
def task_decide(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    task = _open_task(case, task_id)
    name = f"task_{task.pk}"
    form = DecideForm(request.POST, prefix=f"t{task.pk}")
    if not form.is_valid():
        return _detail_page(request, user, case, bound={name: form}, status=400)
    try:
        services.task_decide(
            task=task, outcome=form.cleaned_data["outcome"], opinion=form.cleaned_data["opinion"], by=user
        )
    except DomainError as exc:
        return _refused(request, user, case, exc, name=name, form=form)
    messages.success(request, _("Your department's opinion was recorded."))
    return redirect(_detail_url(case))


@staff_required(Role.APPROVER)
@require_POST
def case_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, user, case, bound={"suspend": form}, status=400)
    try:
        services.case_suspend(
            case=case, kind=form.cleaned_data["kind"], reason=form.cleaned_data["reason"], by=user
        )
    except DomainError as exc:
        return _refused(request, user, case, exc, name="suspend", form=form)
    messages.success(request, _("The clock is stopped for the special procedure."))
    return redirect(_detail_url(case))


@staff_required(*HANDLER_ROLES)
@require_POST
def case_fee(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    form = FeeForm(request.POST, prefix="fee")
    if not form.is_valid():
        return _detail_page(request, user, case, bound={"fee": form}, status=400)
    try:
        services.case_fee_record(
            case=case, amount=form.cleaned_data["amount"], basis=form.cleaned_data["basis"], by=user
        )
    except DomainError as exc:
        return _refused(request, user, case, exc, name="fee", form=form)
    messages.success(request, _("The fee is recorded."))
    return redirect(_detail_url(case))


@staff_required(Role.APPROVER)
@require_POST
def case_resume(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    try:
        services.case_resume(case=case, by=user)
    except DomainError as exc:
        return _refused(request, user, case, exc, name="resume", form=None)
    messages.success(request, _("The clock runs again; the deadlines moved by the days suspended."))
    return redirect(_detail_url(case))


@staff_required(*HANDLER_ROLES)
@require_POST
def case_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    case = _case_or_404(user, pk)
    form = DeliverForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, user, case, bound={"deliver": form}, status=400)
    try:
        services.case_deliver(
            case=case, method=form.cleaned_data["method"], note=form.cleaned_data["note"], by=user
        )
    except DomainError as exc:
        return _refused(request, user, case, exc, name="deliver", form=form)
    messages.success(request, _("Result delivered; case %(number)s is completed.") % {"number": case.number})
    return redirect(_detail_url(case))


@staff_required(*HANDLER_ROLES)
@require_POST
def material_upload(request: HttpRequest, pk: int, material_id: int) -> HttpResponse:
    """A scan added by staff: a material deferred at acceptance, or one missing before acceptance."""
    user = portal_user(request)
    case = _case_or_404(user, pk)
    name = f"upload_{material_id}"
    form = MaterialUploadForm(request.POST, request.FILES, prefix=f"m{material_id}")
    if not form.is_valid():
        return _detail_page(request, user, case, bound={name: form}, status=400)
    try:
        services.case_material_upload(
            case=case,
            material_id=material_id,
            upload=form.cleaned_data["file"],
            by=user,
            origin=MaterialOrigin.WINDOW_SCAN,
        )
    except DomainError as exc:
        return _refused(request, user, case, exc, name=name, form=form)
    messages.success(request, _("The scanned material was added to the case."))
    return redirect(_detail_url(case))


# --- the one-window intake -----------------------------------------------------------------------


def _window_version(user: User, item_id: int) -> ServiceItemVersion:
    """The published item, if its department is one this clerk may take in; else 404."""
    try:
        version = catalog_selectors.published_version(item_id=item_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    if not casework.window_departments(user).filter(pk=version.item.department_id).exists():
        raise Http404
    return version


def window_bundles(user: User, q: str, department: int | None) -> list[Bundle]:
    """Published bundles matching ``q`` whose every item this clerk's window takes in."""
    allowed = set(casework.window_departments(user).values_list("pk", flat=True))
    found = []
    for bundle in bundle_selectors.search_bundles(q):
        departments = {entry.item.department_id for entry in bundle.entries.all()}
        if departments <= allowed and department in (None, *departments):
            found.append(bundle)
    return found


@staff_required(Role.WINDOW_CLERK)
@require_GET
def window_search(request: HttpRequest) -> HttpResponse:
    """Step 1: find the item, by name or by department, among the departments of the clerk's window;
    a search by name also lists the themed bundles (一件事) the window can take in whole."""
    user = portal_user(request)
    departments = casework.window_departments(user)
    allowed = dict(departments.values_list("pk", "name"))
    with_items = set(catalog_selectors.published_items().values_list("department_id", flat=True))
    choices = [(pk, name) for pk, name in allowed.items() if pk in with_items]
    form = WindowSearchForm(request.GET or None, departments=choices)
    items: list[Any] | None = None
    bundles: list[Bundle] = []
    if form.is_bound and form.is_valid():
        q, department = form.cleaned_data["q"].strip(), form.cleaned_data["department"]
        if q:
            found = catalog_selectors.search_published(q, limit=WINDOW_RESULTS * 4)
            items = [i for i in found if i.department_id in allowed and department in (None, i.department_id)]
            bundles = window_bundles(user, q, department)
        elif department:
            items = list(catalog_selectors.published_items(department_id=department))
        items = items[:WINDOW_RESULTS] if items is not None else None
    context = {"form": form, "items": items, "bundles": bundles, "limit": WINDOW_RESULTS}
    return render(request, "portal/casework/window_search.html", context)


def identify_at_window(request: HttpRequest, user: User, form: WindowIdentifyForm) -> tuple[User | None, int]:
    """The account of the applicant at the counter from the posted form, or None and the status to
    answer with (the form then carries the reason). Attempts are rate-limited per clerk."""
    if not form.is_valid():
        return None, 400
    if is_ratelimited(
        request, group="casework.window_identify", key="user", rate=WINDOW_IDENTIFY_RATE, increment=True
    ):
        form.add_error(None, _("Too many identification attempts; please wait a minute."))
        return None, 429
    try:
        applicant = casework.window_identify(
            id_number=form.cleaned_data["id_number"], name=form.cleaned_data["name"], by=user
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return None, 400
    return applicant, 200


def remember_applicant(request: HttpRequest, purpose: str, applicant: User) -> None:
    """Keep the identified applicant for one purpose (``item:<id>``, ``bundle:<code>``) only."""
    entry = {"purpose": purpose, "applicant": applicant.pk, "at": int(time.time())}
    request.session[WINDOW_SESSION_KEY] = entry


def window_applicant(request: HttpRequest, purpose: str) -> User | None:
    """The applicant identified for this purpose, while the identification is fresh."""
    entry = request.session.get(WINDOW_SESSION_KEY) or {}
    fresh = int(time.time()) - int(entry.get("at", 0)) <= WINDOW_IDENTIFY_SECONDS
    if entry.get("purpose") != purpose or not fresh:
        return None
    return casework.identified_applicant(applicant_id=int(entry.get("applicant", 0)))


def forget_applicant(request: HttpRequest) -> None:
    """Once filed, the next application starts with a new identification."""
    request.session.pop(WINDOW_SESSION_KEY, None)


def _item_purpose(item_id: int) -> str:
    return f"item:{item_id}"


@staff_required(Role.WINDOW_CLERK)
@require_http_methods(["GET", "POST"])
def window_identify(request: HttpRequest, item_id: int) -> HttpResponse:
    """Step 2: the applicant at the counter, by the ID number and the name on the card."""
    user = portal_user(request)
    version = _window_version(user, item_id)
    form = WindowIdentifyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        applicant, status = identify_at_window(request, user, form)
        if applicant is not None:
            remember_applicant(request, _item_purpose(version.item_id), applicant)
            return redirect("casework:window_apply", item_id=version.item_id)
    context = {"version": version, "form": form}
    return render(request, "portal/casework/window_identify.html", context, status=status)


def _applicant_materials(version: ServiceItemVersion) -> list[Material]:
    """Every material can be scanned at the window: those the platform fetches too, in case it
    cannot (the applicant holds no such licence, or does not consent)."""
    return list(version.materials.all())


def _window_form(
    version: ServiceItemVersion, applicant: User, data: Any = None, files: Any = None
) -> forms.Form:
    """The item's application form, followed by one scan field per material the applicant brings."""
    form_class = build_form_class(version.form_schema, name="WindowApplicationForm")
    initial = {"applicant_name": applicant.name, "contact_phone": applicant.phone}
    form = form_class(data, files, initial={k: v for k, v in initial.items() if k in form_class.base_fields})
    for material in _applicant_materials(version):
        form.fields[f"material_{material.pk}"] = forms.FileField(
            label=material.name,
            required=False,
            help_text=_("Required") if material.required else _("Optional"),
        )
    if any(m.source != MaterialSource.APPLICANT for m in version.materials.all()):
        form.fields["prefill_consent"] = forms.BooleanField(
            label=_("The applicant consents, in person, to fetching the materials listed as 免提交"),
            required=False,
            initial=True,
        )
    form.fields["key"] = forms.CharField(widget=forms.HiddenInput, initial=secrets.token_urlsafe(24))
    return form


@staff_required(Role.WINDOW_CLERK)
@require_http_methods(["GET", "POST"])
def window_apply(request: HttpRequest, item_id: int) -> HttpResponse:
    """Step 3: the application form and the scans; submitted for the applicant on the window channel."""
    user = portal_user(request)
    version = _window_version(user, item_id)
    applicant = window_applicant(request, _item_purpose(version.item_id))
    if applicant is None:
        messages.info(request, _("Identify the applicant first."))
        return redirect("casework:window_identify", item_id=version.item_id)
    form = _window_form(version, applicant, request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and _KEY.match(form.cleaned_data["key"]):
            schema_keys = {f["key"] for f in version.form_schema}
            answers = submission_to_json({k: v for k, v in form.cleaned_data.items() if k in schema_keys})
            files = {
                m.pk: form.cleaned_data[f"material_{m.pk}"]
                for m in _applicant_materials(version)
                if form.cleaned_data.get(f"material_{m.pk}")
            }
            try:
                case = services.case_apply(
                    item=version.item,
                    applicant=applicant,
                    form_data=answers,
                    files=files,
                    by=user,
                    idempotency_key=f"window-{form.cleaned_data['key']}",
                    channel=Channel.WINDOW,
                    prefill_consent=bool(form.cleaned_data.get("prefill_consent")),
                )
            except DomainError as exc:
                # The clerk's own right was checked above: a refusal here is about the application
                # (an item not for this kind of applicant, a bad file), so it belongs on the form.
                form.add_error(None, str(exc.message))
                for field, errors in exc.fields.items():
                    if field in form.fields:
                        for message in errors:
                            form.add_error(field, str(message))
                status = exc.status
            else:
                forget_applicant(request)
                messages.success(
                    request,
                    _("Application %(number)s filed. Check it and accept it now.") % {"number": case.number},
                )
                return redirect(_detail_url(case))
    context = {
        "version": version,
        "form": form,
        "applicant": applicant,
        "applicant_id": mask_resident_id(applicant.resident_id or applicant.credit_code),
        "material_fields": [form[f"material_{m.pk}"] for m in _applicant_materials(version)],
        "answer_fields": [form[f["key"]] for f in version.form_schema],
        "offers": prefill.offers(version, applicant, version.item.department),
        "consent_field": form["prefill_consent"] if "prefill_consent" in form.fields else None,
        "prefill_purpose": prefill.purpose_of(version),
    }
    return render(request, "portal/casework/window_apply.html", context, status=status)
