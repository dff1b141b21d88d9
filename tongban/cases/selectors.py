"""Reads of cases, each scoped to what the caller may see (ADR 11)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import CharField, Count, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy as _

from tongban.cases import permissions
from tongban.cases.choices import PREFILLED_ORIGINS, CaseStatus, TaskStatus
from tongban.cases.models import Case, CaseEvent, CaseMaterial, CaseTask
from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import ServiceItemVersion
from tongban.core import audit
from tongban.core.errors import NotFound
from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import has_role

_NOT_FOUND = _("No such case, or it is not yours to see.")


def _detail() -> QuerySet[Case]:
    return Case.objects.select_related("item", "version", "department", "applicant").prefetch_related(
        "materials__material",
        "stages__tasks__department",
        Prefetch("events", queryset=CaseEvent.objects.select_related("department").order_by("at", "pk")),
        "corrections",
        "suspensions",
        "version__materials",
    )


def cases_of_applicant(user: User, *, status: str | None = None) -> QuerySet[Case]:
    """Everything a citizen or enterprise account has applied for (drafts included), newest first."""
    cases = Case.objects.filter(permissions.applicant_scope(user)).select_related("version", "department")
    if status:
        cases = cases.filter(status=status)
    return cases.order_by("-created_at", "-pk")


def case_for_applicant(user: User, *, case_id: int) -> Case:
    case = _detail().filter(permissions.applicant_scope(user), pk=case_id).first()
    if case is None:
        raise NotFound(_NOT_FOUND, code="case_not_found")
    return case


def case_for_applicant_by_number(user: User, *, number: str) -> Case:
    case = _detail().filter(permissions.applicant_scope(user), number=number).first()
    if case is None:
        raise NotFound(_NOT_FOUND, code="case_not_found")
    return case


def cases_for_staff(user: User) -> QuerySet[Case]:
    return (
        Case.objects.filter(permissions.staff_case_scope(user))
        .exclude(status=CaseStatus.DRAFT)
        .select_related("version", "department")
        .distinct()
    )


def case_for_staff(user: User, *, case_id: int) -> Case:
    """One case with everything a handler needs. Opening it is a sensitive read and is audited."""
    visible = cases_for_staff(user).filter(pk=case_id).values("pk")
    case = _detail().filter(pk__in=visible).first()
    if case is None:
        raise NotFound(_NOT_FOUND, code="case_not_found")
    audit.record(action="case.viewed", actor=user, subject=case)
    return case


def intake_queue(user: User) -> QuerySet[Case]:
    """Submitted applications awaiting pre-review that this clerk or approver may accept, oldest first."""
    return (
        Case.objects.filter(status=CaseStatus.SUBMITTED, department__in=_intake_departments(user))
        .select_related("version", "department")
        .order_by("submitted_at", "pk")
    )


def _intake_departments(user: User) -> QuerySet[Department]:
    return Department.objects.filter(permissions.intake_departments_q(user))


def task_queue(user: User) -> QuerySet[CaseTask]:
    """Open review tasks of the user's department, the most urgent first."""
    if user.department_id is None or not has_role(user, Role.APPROVER):
        return CaseTask.objects.none()
    return (
        CaseTask.objects.filter(department_id=user.department_id, status=TaskStatus.OPEN)
        .select_related("case__version", "case__department", "stage")
        .order_by("due_at", "pk")
    )


def delivery_queue(user: User) -> QuerySet[Case]:
    """Approved results waiting to be handed over at this window (统一出件)."""
    return (
        Case.objects.filter(status=CaseStatus.RESULT_READY, department__in=_intake_departments(user))
        .select_related("version", "department")
        .order_by("decided_at", "pk")
    )


def can_act(user: User, case: Case) -> dict[str, bool]:
    """Which actions the staff member may take on the case now (for showing the right buttons)."""
    intake = permissions.can_intake(user, case.department)
    manage = permissions.can_manage_case(user, case)
    return {
        "intake": intake and case.status == CaseStatus.SUBMITTED,
        "deliver": intake and case.status == CaseStatus.RESULT_READY,
        "suspend": manage and case.status == CaseStatus.IN_REVIEW,
        "resume": manage and case.status == CaseStatus.SUSPENDED,
        "upload_deferred": intake and case.status in (CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED),
    }


def open_tasks_for(user: User, case: Case) -> list[CaseTask]:
    return [
        t
        for stage in case.stages.all()
        for t in stage.tasks.all()
        if t.status == TaskStatus.OPEN and permissions.can_decide_task(user, t)
    ]


@dataclass(frozen=True)
class ProgressView:
    """What an anonymous progress lookup shows: the status and the timeline, nothing personal."""

    number: str
    item_name: str
    department_name: str
    status: str
    status_label: str
    submitted_at: object
    due_at: object
    events: list[CaseEvent]


def progress_lookup(*, number: str, last4: str) -> ProgressView | None:
    """The case with this number whose applicant's ID number or phone ends in ``last4``, else None.

    A wrong number and wrong digits give the same answer, so the lookup reveals nothing about which
    numbers exist; the caller rate-limits it.
    """
    number = (number or "").strip().upper()
    last4 = (last4 or "").strip().upper()
    if not number or len(last4) != 4:
        return None
    case = (
        Case.objects.select_related("version", "department")
        .filter(number=number)
        .exclude(status=CaseStatus.DRAFT)
        .first()
    )
    if case is None:
        return None
    id_ok = hmac.compare_digest(case.applicant_id_number[-4:].upper(), last4)
    phone_ok = bool(case.applicant_phone) and hmac.compare_digest(case.applicant_phone[-4:], last4)
    if not (id_ok or phone_ok):
        return None
    events = list(case.events.select_related("department").order_by("at", "pk"))
    return ProgressView(
        number=case.number or "",
        item_name=case.version.name,
        department_name=case.department.name,
        status=case.status,
        status_label=case.get_status_display(),
        submitted_at=case.submitted_at,
        due_at=case.due_at,
        events=events,
    )


# --- materials satisfied without submission (免提交), issue 5 item 8 -------------------------


@dataclass(frozen=True)
class ExemptionRow:
    """For one service item (or all): materials given, those fetched instead, and visits saved."""

    item_id: int | None
    item_name: str
    cases: int
    materials: int
    fetched: int
    visits_saved: int

    @property
    def share(self) -> float:
        return round(self.fetched / self.materials, 4) if self.materials else 0.0


def _pair(first: str, second: str) -> Concat:
    """One text value per (first, second) pair, to count distinct pairs on every database."""
    return Concat(Cast(first, CharField()), Value(":"), Cast(second, CharField()), output_field=CharField())


def exemption_stats(
    user: User,
    *,
    item_id: int | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[ExemptionRow, list[ExemptionRow]]:
    """The share of materials satisfied without submission, overall and per item, over the cases the
    user may see that were submitted in the period (drafts do not count).

    A material is counted once per case however many files it had. A visit saved is one providing
    department per case whose material was fetched: without it the applicant would have gone there
    for a certificate (the 一次都不跑 measure of the seeds)."""
    cases = cases_for_staff(user)
    if item_id is not None:
        cases = cases.filter(item_id=item_id)
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if date_from is not None:
        cases = cases.filter(submitted_at__date__gte=date_from)
    if date_to is not None:
        cases = cases.filter(submitted_at__date__lte=date_to)
    rows = CaseMaterial.objects.filter(case__in=cases.values("pk"))
    per_item: dict[int, dict[str, Any]] = {}
    for row in rows.values("case__item_id").annotate(
        materials=Count(_pair("case_id", "material_id"), distinct=True),
        fetched=Count(
            _pair("case_id", "material_id"),
            filter=Q(origin__in=PREFILLED_ORIGINS),
            distinct=True,
        ),
        visits=Count(
            _pair("case_id", "provider"),
            filter=Q(origin__in=PREFILLED_ORIGINS) & ~Q(provider=""),
            distinct=True,
        ),
        cases=Count("case_id", distinct=True),
    ):
        per_item[row["case__item_id"]] = dict(row)
    names = dict(
        ServiceItemVersion.objects.filter(item_id__in=per_item, status=VersionStatus.PUBLISHED).values_list(
            "item_id", "name"
        )
    )
    items = [
        ExemptionRow(
            item_id=pk,
            item_name=names.get(pk, str(pk)),
            cases=v["cases"],
            materials=v["materials"],
            fetched=v["fetched"],
            visits_saved=v["visits"],
        )
        for pk, v in per_item.items()
    ]
    items.sort(key=lambda r: (-r.share, -r.fetched, r.item_name))
    total = ExemptionRow(
        item_id=None,
        item_name="",
        cases=sum(r.cases for r in items),
        materials=sum(r.materials for r in items),
        fetched=sum(r.fetched for r in items),
        visits_saved=sum(r.visits_saved for r in items),
    )
    return total, items
