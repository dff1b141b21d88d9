"""API routes of the cases app, mounted under /api/v1/ by tongban.api (ADR 11).

Applicants (citizens, enterprises, an enterprise's agents) apply and follow their own cases; staff
work their queues and move cases along; anyone may look up a case's progress with its number and
the last four characters of the applicant's ID number or phone. Every write goes through
``cases.services`` (checked, atomic, audited, notified); every read through ``cases.selectors``,
scoped to the caller, so another user's case is a 404 like a case that does not exist.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any, Literal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited
from ninja import Field, Header, Query, Router, Schema, Status

from tongban.cases import selectors, services
from tongban.cases.choices import CaseStatus, DeliveryMethod, SuspensionKind, TaskOutcome
from tongban.cases.models import Case, CaseEvent, CaseMaterial, CaseTask
from tongban.catalog.models import ServiceItem
from tongban.core.errors import (
    Conflict,
    Locked,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.core.masking import mask_phone, mask_resident_id
from tongban.core.schemas import ErrorOut
from tongban.identity import permissions as identity_permissions
from tongban.identity import selectors as identity_selectors
from tongban.identity.auth import session_or_token
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import User
from tongban.identity.selectors import enterprises_represented_by

router = Router(tags=["cases"])

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# The anonymous progress lookup answers this many requests per client address (django-ratelimit's
# rate syntax); the progress page shares the group, so the page and the API draw on one allowance.
PROGRESS_RATE_GROUP = "cases.progress"
_MATERIAL_FIELD = re.compile(r"^material_(\d{1,10})$")
_STAFF_ROLES = (Role.WINDOW_CLERK, Role.APPROVER, Role.SUPERVISOR, Role.ADMINISTRATOR)

APPLICANT_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
STAFF_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


# --- schemas ---------------------------------------------------------------------------------


class EventOut(Schema):
    kind: str
    label: str
    at: datetime
    department: str | None = None
    note: str = ""


class MaterialOut(Schema):
    id: int
    material_id: int
    name: str
    status: str
    origin: str = Field(description="applicant, window_scan, or e_licence / shared_data (fetched, 免提交)")
    file_name: str
    content_type: str
    size: int
    uploaded_at: datetime
    licence_identifier: str = Field("", description="For a fetched licence: its GB/T 36904 identifier")
    call_id: str = Field("", description="For fetched shared data: the exchange call that fetched it")


class ExemptionRowOut(Schema):
    item_id: int | None
    item_name: str
    cases: int
    materials: int = Field(description="Materials given (once per case and material)")
    fetched: int = Field(description="Of those, fetched instead of submitted (免提交)")
    share: float = Field(description="fetched / materials")
    visits_saved: int = Field(description="Providing departments per case the applicant need not visit")


class ExemptionOut(Schema):
    date_from: date | None
    date_to: date | None
    overall: ExemptionRowOut
    items: list[ExemptionRowOut]


class CorrectionOut(Schema):
    round: int
    items: list[dict[str, str]]
    issued_at: datetime
    resolved_at: datetime | None = None


class CaseSummaryOut(Schema):
    id: int
    number: str | None
    item_id: int
    item_name: str
    department: str
    status: str
    status_label: str
    channel: str
    created_at: datetime
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None


class CaseOut(CaseSummaryOut):
    """One case as its applicant sees it: answers, files, one-time notices and the timeline."""

    form_data: dict[str, Any]
    accepted_at: datetime | None = None
    decision: str = ""
    decision_label: str = ""
    decision_opinion: str = ""
    decided_at: datetime | None = None
    not_accepted_reason: str = ""
    delivery_method: str = ""
    delivery_note: str = ""
    materials: list[MaterialOut]
    corrections: list[CorrectionOut]
    events: list[EventOut]


class CasePageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[CaseSummaryOut]


class TaskOut(Schema):
    id: int
    stage_index: int
    stage: str
    department: str
    status: str
    status_label: str
    due_at: datetime | None = None
    opinion: str = ""
    decided_at: datetime | None = None


class StageOut(Schema):
    index: int
    name: str
    days: int
    status: str
    status_label: str
    due_at: datetime | None = None
    tasks: list[TaskOut]


class ApplicantOut(Schema):
    name: str
    id_number_masked: str
    phone_masked: str


class ActionsOut(Schema):
    intake: bool
    deliver: bool
    suspend: bool
    resume: bool
    upload_deferred: bool
    decide_task_ids: list[int]


class StaffCaseOut(CaseOut):
    """A case as a handler sees it: also the applicant (masked), the stages and what the caller may do."""

    applicant: ApplicantOut
    overdue: bool
    stages: list[StageOut]
    actions: ActionsOut


class QueueRowOut(Schema):
    case_id: int
    number: str | None
    item_name: str
    department: str
    status: str
    status_label: str
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    overdue: bool
    task_id: int | None = None
    stage: str | None = None


class QueuePageOut(Schema):
    queue: str
    count: int
    page: int
    page_size: int
    items: list[QueueRowOut]


class ProgressOut(Schema):
    number: str
    item_name: str
    department: str
    status: str
    status_label: str
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    events: list[EventOut]


class AcceptIn(Schema):
    deferred_material_ids: list[int] = []
    note: str = ""


class CorrectionItemIn(Schema):
    target: str
    instruction: str


class ReturnIn(Schema):
    items: list[CorrectionItemIn]


class ReasonIn(Schema):
    reason: str


class OpinionIn(Schema):
    outcome: TaskOutcome
    opinion: str = ""


class DeliverIn(Schema):
    method: DeliveryMethod
    note: str = ""


class SuspendIn(Schema):
    kind: SuspensionKind
    reason: str


# --- building the answers --------------------------------------------------------------------


def _events(events: list[CaseEvent], *, notes: bool) -> list[EventOut]:
    return [
        EventOut(
            kind=e.kind,
            label=e.get_kind_display(),
            at=e.at,
            department=e.department.name if e.department else None,
            note=e.note if notes else "",
        )
        for e in events
    ]


def _summary_fields(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "number": case.number,
        "item_id": case.item_id,
        "item_name": case.version.name,
        "department": case.department.name,
        "status": case.status,
        "status_label": case.get_status_display(),
        "channel": case.channel,
        "created_at": case.created_at,
        "submitted_at": case.submitted_at,
        "due_at": case.due_at,
        "completed_at": case.completed_at,
    }


def _summary(case: Case) -> CaseSummaryOut:
    return CaseSummaryOut(**_summary_fields(case))


def _material(row: CaseMaterial) -> MaterialOut:
    return MaterialOut(
        id=row.pk,
        material_id=row.material_id,
        name=row.material.name,
        status=row.status,
        origin=row.origin,
        file_name=row.original_name,
        content_type=row.content_type,
        size=row.size,
        uploaded_at=row.uploaded_at,
        licence_identifier=str(row.provenance.get("identifier", "")),
        call_id=str(row.provenance.get("call_id", "")),
    )


def _detail_fields(case: Case) -> dict[str, Any]:
    """Everything of a case its applicant may see; the relations must be prefetched."""
    return {
        **_summary_fields(case),
        "form_data": case.form_data,
        "accepted_at": case.accepted_at,
        "decision": case.decision,
        "decision_label": case.get_decision_display() if case.decision else "",
        "decision_opinion": case.decision_opinion,
        "decided_at": case.decided_at,
        "not_accepted_reason": case.not_accepted_reason,
        "delivery_method": case.delivery_method,
        "delivery_note": case.delivery_note,
        "materials": [_material(m) for m in case.materials.all()],
        "corrections": [
            CorrectionOut(round=c.round, items=c.items, issued_at=c.issued_at, resolved_at=c.resolved_at)
            for c in case.corrections.all()
        ],
        "events": _events(list(case.events.all()), notes=True),
    }


def _case_out(case: Case) -> CaseOut:
    return CaseOut(**_detail_fields(case))


def _overdue(case: Case, now: datetime) -> bool:
    return case.status in (CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED) and bool(
        case.due_at and case.due_at < now
    )


def _masked_id(case: Case) -> str:
    # A credit code identifies an organisation and is public; a resident ID is personal.
    if case.applicant.kind == AccountKind.ENTERPRISE:
        return case.applicant_id_number
    return mask_resident_id(case.applicant_id_number)


def _staff_case_out(case: Case, user: User) -> StaffCaseOut:
    can = selectors.can_act(user, case)
    stages = [
        StageOut(
            index=stage.index,
            name=stage.name,
            days=stage.days,
            status=stage.status,
            status_label=stage.get_status_display(),
            due_at=stage.due_at,
            tasks=[
                TaskOut(
                    id=t.pk,
                    stage_index=stage.index,
                    stage=stage.name,
                    department=t.department.name,
                    status=t.status,
                    status_label=t.get_status_display(),
                    due_at=t.due_at,
                    opinion=t.opinion,
                    decided_at=t.decided_at,
                )
                for t in stage.tasks.all()
            ],
        )
        for stage in case.stages.all()
    ]
    return StaffCaseOut(
        **_detail_fields(case),
        applicant=ApplicantOut(
            name=case.applicant_name,
            id_number_masked=_masked_id(case),
            phone_masked=mask_phone(case.applicant_phone),
        ),
        overdue=_overdue(case, timezone.now()),
        stages=stages,
        actions=ActionsOut(**can, decide_task_ids=[t.pk for t in selectors.open_tasks_for(user, case)]),
    )


def _page(queryset: QuerySet[Any], page: int, page_size: int) -> tuple[int, list[Any]]:
    count = queryset.count()
    start = (page - 1) * page_size
    return count, list(queryset[start : start + page_size])


# --- who is asking ---------------------------------------------------------------------------


def _staff(request: HttpRequest) -> User:
    user = identity_selectors.api_person(request)
    identity_permissions.ensure_has_role(user, *_STAFF_ROLES)
    return user


def _staff_case(user: User, case_id: int) -> Case:
    """The case if the staff member may see it (for acting on it; the action itself is audited)."""
    case = selectors.cases_for_staff(user).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("No such case, or it is not yours to see."), code="case_not_found")
    return case


def _staff_detail(user: User, case_id: int) -> StaffCaseOut:
    """The case as it is now, after an action, without recording another read in the audit trail."""
    case = (
        selectors.cases_for_staff(user)
        .filter(pk=case_id)
        .select_related("applicant")
        .prefetch_related(
            "materials__material",
            "corrections",
            "stages__tasks__department",
            Prefetch("events", queryset=CaseEvent.objects.select_related("department").order_by("at", "pk")),
        )
        .first()
    )
    if case is None:  # e.g. an approver's refusal of acceptance moved it out of their queue: still theirs
        raise NotFound(_("No such case, or it is not yours to see."), code="case_not_found")
    return _staff_case_out(case, user)


# --- applicants ------------------------------------------------------------------------------


def _service_item(raw: str) -> ServiceItem:
    item = (
        ServiceItem.objects.select_related("department").filter(pk=int(raw)).first()
        if raw.strip().isdigit() and len(raw.strip()) < 10
        else None
    )
    if item is None:
        message = _("Say which service item you apply for.")
        raise ValidationFailed(message, code="item_invalid", fields={"item": [message]})
    return item


def _form_answers(raw: str) -> dict[str, Any]:
    try:
        answers = json.loads(raw or "{}")
    except ValueError:
        answers = None
    if not isinstance(answers, dict):
        message = _("The form answers must be a JSON object.")
        raise ValidationFailed(message, code="form_invalid", fields={"form": [message]})
    return answers


def _material_files(request: HttpRequest) -> dict[int, UploadedFile]:
    files: dict[int, UploadedFile] = {}
    for key in request.FILES:
        match = _MATERIAL_FIELD.match(key)
        uploads = request.FILES.getlist(key)
        if match is None or len(uploads) != 1:
            message = _("Send one file per material, in a field named material_<id>.")
            raise ValidationFailed(message, code="material_unknown", fields={key: [message]})
        files[int(match.group(1))] = uploads[0]
    return files


def _applicant_for(user: User, credit_code: str) -> User:
    """The account applied for: the caller, or an enterprise the caller is an authorised agent of."""
    credit_code = credit_code.strip().upper()
    if not credit_code or credit_code == (user.credit_code or ""):
        return user
    enterprise = enterprises_represented_by(user).filter(credit_code=credit_code).first()
    if enterprise is None:
        raise PermissionDenied(_("You may not apply on behalf of this account."), code="not_authorised_agent")
    return enterprise


_APPLY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["item"],
                    "properties": {
                        "item": {"type": "integer", "description": "The service item applied for."},
                        "form": {
                            "type": "string",
                            "description": "The answers as a JSON object keyed by the form's field keys.",
                        },
                        "applicant": {
                            "type": "string",
                            "description": "An agent applying for an enterprise: its credit code.",
                        },
                        "prefill_consent": {
                            "type": "boolean",
                            "description": "The applicant consents to fetching every licence and shared-data "
                            "material the platform can (免提交); those need no file.",
                        },
                    },
                    "additionalProperties": {
                        "type": "string",
                        "format": "binary",
                        "description": "material_<id>: the file (PDF, JPEG or PNG) of that material.",
                    },
                }
            }
        },
    }
}


@router.post(
    "/cases",
    response={200: CaseSummaryOut, 201: CaseSummaryOut, **APPLICANT_ERRORS, 422: ErrorOut},
    auth=session_or_token,
    summary="Apply for a service item (form answers and material files in one multipart request)",
    openapi_extra=_APPLY_BODY,
)
def case_apply(
    request: HttpRequest, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
) -> Status[CaseSummaryOut]:
    """201 with the new case; 200 with the case an earlier request with the same ``Idempotency-Key``
    created (so a retried upload never files twice). The body is read here rather than declared as
    parameters: the material fields are named after the item's materials (see the request body)."""
    user = identity_selectors.api_person(request)
    started = timezone.now()
    service_item = _service_item(request.POST.get("item", ""))
    case = services.case_apply(
        item=service_item,
        applicant=_applicant_for(user, request.POST.get("applicant", "")),
        form_data=_form_answers(request.POST.get("form", "")),
        files=_material_files(request),
        by=user,
        idempotency_key=(idempotency_key or "").strip()[:100] or None,
        prefill_consent=request.POST.get("prefill_consent", "").lower() in ("1", "true", "yes"),
    )
    # The case's summary (its number above all): the service's own case object, with its version
    # and department, answers it without another query; GET /cases/{number} gives the whole case.
    return Status(201 if case.created_at >= started else 200, _summary(case))


@router.get(
    "/cases",
    response={200: CasePageOut, 401: ErrorOut, 422: ErrorOut},
    auth=session_or_token,
    summary="My cases, newest first (drafts included)",
)
def my_cases(
    request: HttpRequest,
    status: CaseStatus | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
) -> CasePageOut:
    user = identity_selectors.api_person(request)
    count, cases = _page(selectors.cases_of_applicant(user, status=status), page, page_size)
    return CasePageOut(count=count, page=page, page_size=page_size, items=[_summary(c) for c in cases])


@router.get(
    "/cases/{number}",
    response={200: CaseOut, 401: ErrorOut, 404: ErrorOut},
    auth=session_or_token,
    summary="One of my cases by its number, with its timeline",
)
def my_case(request: HttpRequest, number: str) -> CaseOut:
    user = identity_selectors.api_person(request)
    return _case_out(selectors.case_for_applicant_by_number(user, number=number.strip().upper()))


@router.get(
    "/progress",
    response={200: ProgressOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="Public progress lookup: case number and the last four characters of the ID number or phone",
)
def progress(request: HttpRequest, number: str, last4: str) -> ProgressOut:
    """A wrong number and wrong digits give the same 404; lookups are limited per client address."""
    rate = getattr(settings, "TONGBAN_PROGRESS_RATE", "20/m")
    if is_ratelimited(request, group=PROGRESS_RATE_GROUP, key="ip", rate=rate, increment=True):
        raise Locked(_("Too many lookups; please wait a minute and try again."), code="rate_limited")
    found = selectors.progress_lookup(number=number, last4=last4)
    if found is None:
        raise NotFound(_("No case matches this number and these digits."), code="case_not_found")
    return ProgressOut(
        number=found.number,
        item_name=found.item_name,
        department=found.department_name,
        status=found.status,
        status_label=found.status_label,
        submitted_at=found.submitted_at,  # type: ignore[arg-type]
        due_at=found.due_at,  # type: ignore[arg-type]
        events=_events(found.events, notes=False),
    )


# --- staff -----------------------------------------------------------------------------------


QueueName = Literal["intake", "tasks", "delivery", "all"]


def _queue_row(case: Case, now: datetime, task: CaseTask | None = None) -> QueueRowOut:
    return QueueRowOut(
        case_id=case.pk,
        number=case.number,
        item_name=case.version.name,
        department=case.department.name,
        status=case.status,
        status_label=case.get_status_display(),
        submitted_at=case.submitted_at,
        due_at=task.due_at if task is not None else case.due_at,
        overdue=bool(task.due_at and task.due_at < now) if task is not None else _overdue(case, now),
        task_id=task.pk if task is not None else None,
        stage=task.stage.name if task is not None else None,
    )


@router.get(
    "/staff/cases",
    response={200: QueuePageOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    auth=session_or_token,
    summary="A work queue: intake (to pre-review), tasks (my department's open reviews), delivery, or all",
)
def staff_cases(
    request: HttpRequest,
    queue: QueueName = "all",
    page: int = Query(1, ge=1),
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
) -> QueuePageOut:
    user = _staff(request)
    now = timezone.now()
    if queue == "tasks":
        count, tasks = _page(selectors.task_queue(user), page, page_size)
        rows = [_queue_row(t.case, now, t) for t in tasks]
    else:
        cases = {
            "intake": selectors.intake_queue,
            "delivery": selectors.delivery_queue,
        }.get(queue, lambda u: selectors.cases_for_staff(u).order_by("-submitted_at", "-pk"))(user)
        count, found = _page(cases, page, page_size)
        rows = [_queue_row(c, now) for c in found]
    return QueuePageOut(queue=queue, count=count, page=page, page_size=page_size, items=rows)


def _exemption_row(row: selectors.ExemptionRow) -> ExemptionRowOut:
    return ExemptionRowOut(
        item_id=row.item_id,
        item_name=row.item_name,
        cases=row.cases,
        materials=row.materials,
        fetched=row.fetched,
        share=row.share,
        visits_saved=row.visits_saved,
    )


@router.get(
    "/staff/stats/materials-exempt",
    response={200: ExemptionOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    auth=session_or_token,
    summary="Materials satisfied without submission (免提交): the share and the visits saved, per item",
)
def exemption_stats(
    request: HttpRequest,
    item_id: int | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> ExemptionOut:
    """Over the cases the caller may see, submitted in the period (both ends included)."""
    user = _staff(request)
    if date_from and date_to and date_from > date_to:
        message = _("The period ends before it starts.")
        raise ValidationFailed(message, code="period_invalid", fields={"date_to": [message]})
    overall, items = selectors.exemption_stats(
        user, item_id=item_id, department_id=department_id, date_from=date_from, date_to=date_to
    )
    return ExemptionOut(
        date_from=date_from,
        date_to=date_to,
        overall=_exemption_row(overall),
        items=[_exemption_row(r) for r in items],
    )


@router.get(
    "/staff/cases/{int:case_id}",
    response={200: StaffCaseOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=session_or_token,
    summary="One case with its stages and the actions open to me (the read is audited)",
)
def staff_case(request: HttpRequest, case_id: int) -> StaffCaseOut:
    user = _staff(request)
    return _staff_case_out(selectors.case_for_staff(user, case_id=case_id), user)


@router.post(
    "/staff/cases/{int:case_id}/accept",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Accept (受理); required materials still missing may follow later (容缺) where the item allows",
)
def staff_accept(request: HttpRequest, case_id: int, payload: AcceptIn) -> StaffCaseOut:
    user = _staff(request)
    case = _staff_case(user, case_id)
    services.case_accept(
        case=case, by=user, deferred_material_ids=payload.deferred_material_ids, note=payload.note
    )
    return _staff_detail(user, case_id)


@router.post(
    "/staff/cases/{int:case_id}/return",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Return for corrections with a one-time notice (一次性告知) listing everything at once",
)
def staff_return(request: HttpRequest, case_id: int, payload: ReturnIn) -> StaffCaseOut:
    user = _staff(request)
    services.case_return_for_correction(
        case=_staff_case(user, case_id), items=[i.model_dump() for i in payload.items], by=user
    )
    return _staff_detail(user, case_id)


@router.post(
    "/staff/cases/{int:case_id}/not-accept",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Refuse to accept (不予受理), with the reasons",
)
def staff_not_accept(request: HttpRequest, case_id: int, payload: ReasonIn) -> StaffCaseOut:
    user = _staff(request)
    services.case_not_accept(case=_staff_case(user, case_id), reason=payload.reason, by=user)
    return _staff_detail(user, case_id)


@router.post(
    "/staff/tasks/{int:task_id}/opinion",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="My department's opinion on its review task; the last approval of the last stage decides",
)
def staff_task_opinion(request: HttpRequest, task_id: int, payload: OpinionIn) -> StaffCaseOut:
    """Another department's task is refused with 403 (``not_your_department``)."""
    user = _staff(request)
    task = CaseTask.objects.filter(pk=task_id).first()
    if task is None:
        raise NotFound(_("No such review task."), code="task_not_found")
    services.task_decide(task=task, outcome=payload.outcome, opinion=payload.opinion, by=user)
    return _staff_detail(user, task.case_id)


@router.post(
    "/staff/cases/{int:case_id}/decide",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Decide: my department's open task of the case's last stage (准予 or 不予许可)",
)
def staff_decide(request: HttpRequest, case_id: int, payload: OpinionIn) -> StaffCaseOut:
    user = _staff(request)
    case = (
        selectors.cases_for_staff(user)
        .filter(pk=case_id)
        .prefetch_related("stages__tasks__department")
        .first()
    )
    if case is None:
        raise NotFound(_("No such case, or it is not yours to see."), code="case_not_found")
    stages = list(case.stages.all())
    tasks = [t for t in selectors.open_tasks_for(user, case) if stages and t.stage_id == stages[-1].pk]
    if not tasks:
        raise Conflict(
            _("No decision is waiting for you: your department has no open task in the last stage."),
            code="no_decision_pending",
        )
    services.task_decide(task=tasks[0], outcome=payload.outcome, opinion=payload.opinion, by=user)
    return _staff_detail(user, case_id)


@router.post(
    "/staff/cases/{int:case_id}/deliver",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Deliver the result (统一出件): pickup, post (tracking number in the note) or online",
)
def staff_deliver(request: HttpRequest, case_id: int, payload: DeliverIn) -> StaffCaseOut:
    user = _staff(request)
    services.case_deliver(case=_staff_case(user, case_id), method=payload.method, note=payload.note, by=user)
    return _staff_detail(user, case_id)


@router.post(
    "/staff/cases/{int:case_id}/suspend",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Stop the clock for a special procedure (特别程序)",
)
def staff_suspend(request: HttpRequest, case_id: int, payload: SuspendIn) -> StaffCaseOut:
    user = _staff(request)
    services.case_suspend(case=_staff_case(user, case_id), kind=payload.kind, reason=payload.reason, by=user)
    return _staff_detail(user, case_id)


@router.post(
    "/staff/cases/{int:case_id}/resume",
    response={200: StaffCaseOut, **STAFF_ERRORS},
    auth=session_or_token,
    summary="Restart the clock after a special procedure",
)
def staff_resume(request: HttpRequest, case_id: int) -> StaffCaseOut:
    user = _staff(request)
    services.case_resume(case=_staff_case(user, case_id), by=user)
    return _staff_detail(user, case_id)
