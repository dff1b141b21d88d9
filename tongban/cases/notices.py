"""Which written notices a case has, and each one as a PDF (``documents.render_notice``).

A case gets a 受理通知书 once accepted, a 不予受理通知书 when not accepted, one 一次性告知书 per
round of corrections, and, once decided, a 办结通知书 (granted) or a 不予许可通知书 (refused).
The notices are made from the case as it is now, on request: the case holds every fact they state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.cases import documents
from tongban.cases.choices import CaseStatus, Decision, EventKind, MaterialStatus
from tongban.cases.models import Case, CaseCorrection
from tongban.core.calendar import local_date
from tongban.core.errors import NotFound
from tongban.core.masking import mask_resident_id
from tongban.identity.choices import AccountKind


class NoticeKind(models.TextChoices):
    ACCEPTANCE = "acceptance", _("Notice of acceptance")
    NOT_ACCEPTED = "not-accepted", _("Notice of non-acceptance")
    CORRECTION = "correction", _("One-time notice of corrections")
    DECISION = "decision", _("Notice of decision")


@dataclass(frozen=True)
class NoticeLink:
    kind: NoticeKind
    round: int | None
    title: str


def _decision_title(case: Case) -> str:
    if case.decision == Decision.REFUSED:
        return str(_("Notice of refusal of the licence"))
    return str(_("Notice of completion"))


def _correction_title(correction: CaseCorrection) -> str:
    return str(_("One-time notice of corrections (round %(n)s)") % {"n": correction.round})


def notices_for(case: Case) -> list[NoticeLink]:
    """The notices the case has now, in the order they were issued."""
    links = [NoticeLink(NoticeKind.CORRECTION, c.round, _correction_title(c)) for c in case.corrections.all()]
    if case.status == CaseStatus.NOT_ACCEPTED:
        links.append(NoticeLink(NoticeKind.NOT_ACCEPTED, None, str(NoticeKind.NOT_ACCEPTED.label)))
    if case.accepted_at is not None:
        links.append(NoticeLink(NoticeKind.ACCEPTANCE, None, str(NoticeKind.ACCEPTANCE.label)))
    if case.decided_at is not None and case.decision:
        links.append(NoticeLink(NoticeKind.DECISION, None, _decision_title(case)))
    return links


def progress_url(case: Case) -> str:
    """Where the notice's QR code leads: the public progress lookup with the number filled in."""
    return f"{settings.PUBLIC_URL}/progress/?number={case.number}"


def notice_pdf(case: Case, kind: NoticeKind, *, round: int | None = None) -> tuple[str, bytes]:
    """The notice's title and its PDF; ``NotFound`` (``notice_not_found``) when the case has no such notice.

    The caller has checked that the user may see the case.
    """
    link = next((n for n in notices_for(case) if n.kind == kind and n.round == round), None)
    if link is None:
        raise NotFound(_("This case has no such notice."), code="notice_not_found")
    return link.title, documents.render_notice(_notice(case, link))


def _masked_id(case: Case) -> str:
    """A citizen's ID number masked; an enterprise's credit code is public and stays whole."""
    if case.applicant.kind == AccountKind.ENTERPRISE:
        return case.applicant_id_number
    return mask_resident_id(case.applicant_id_number)


def _deferred_names(case: Case) -> tuple[str, ...]:
    """Materials accepted to follow later (容缺): still outstanding, or provided since."""
    outstanding = [m.material.name for m in case.materials.all() if m.status == MaterialStatus.DEFERRED]
    provided = [e.note for e in case.events.all() if e.kind == EventKind.MATERIAL_ADDED and e.note]
    return tuple(dict.fromkeys([*outstanding, *provided]))


def _notice(case: Case, link: NoticeLink) -> documents.Notice:
    facts: dict[str, Any] = {
        "case_number": case.number or "",
        "item_name": case.version.name,
        "department_name": case.department.name,
        "applicant_name": case.applicant_name,
        "applicant_id_masked": _masked_id(case),
        "progress_url": progress_url(case),
    }
    if link.kind == NoticeKind.ACCEPTANCE:
        return documents.Notice(
            kind="acceptance",
            issued_at=case.accepted_at or case.updated_at,
            deadline=local_date(case.due_at) if case.due_at else None,
            deferred_materials=_deferred_names(case),
            **facts,
        )
    if link.kind == NoticeKind.NOT_ACCEPTED:
        return documents.Notice(
            kind="refusal",
            issued_at=case.completed_at or case.updated_at,
            reasons=case.not_accepted_reason,
            **facts,
        )
    if link.kind == NoticeKind.CORRECTION:
        correction = next(c for c in case.corrections.all() if c.round == link.round)
        return documents.Notice(
            kind="correction",
            issued_at=correction.issued_at,
            corrections=tuple((c["target"], c["instruction"]) for c in correction.items),
            **facts,
        )
    decided_at = case.decided_at or case.updated_at
    if case.decision == Decision.REFUSED:
        return documents.Notice(kind="denial", issued_at=decided_at, reasons=case.decision_opinion, **facts)
    return documents.Notice(kind="decision", issued_at=decided_at, reasons=case.decision_opinion, **facts)
