"""The supervision API, mounted under /api/v1/ by tongban.api (ADR 18).

Staff with a board role list the supervised cases of their jurisdiction with their levels, computed
at the moment of the request; supervisors add handling notes to warnings. Filters are plain strings
so that an impossible value is answered with ``filter_invalid`` and the parameter it concerns,
never a 500; another jurisdiction's warning is a 404 (``alert_not_found``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from tongban.core.schemas import ErrorOut
from tongban.identity import permissions as identity_permissions
from tongban.identity import selectors as identity_selectors
from tongban.identity.auth import session_or_token
from tongban.identity.models import User
from tongban.supervision import permissions, selectors, services
from tongban.supervision.choices import LEVEL_CSS, Level, Trigger

router = Router(tags=["supervision"])

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


class SupervisedCaseOut(Schema):
    id: int
    number: str | None
    item_id: int
    item_name: str
    department_id: int
    department: str
    status: str
    due_at: datetime | None = None
    submitted_at: datetime | None = None
    level: str = Field(description="warning, yellow or red (computed at the time of the request)")
    level_label: str
    case_level: int = Field(description="0-3: the case's own time limit")
    stage_level: int = Field(description="0-3: the worst of its active stages")
    acceptance_level: int = Field(description="0-3: waiting for acceptance")
    fact_triggers: list[str] = Field(
        description="Open findings: refusal_unreasoned, fee_off_catalogue, not_online"
    )


class SupervisedPageOut(Schema):
    computed_at: datetime
    page: int
    page_size: int
    has_next: bool
    items: list[SupervisedCaseOut]


class NoteIn(Schema):
    text: str = Field(max_length=4000)
    close: bool = Field(
        False, description="Close a fact finding as handled (not allowed on time-limit warnings)"
    )


class NoteOut(Schema):
    id: int
    alert_id: int
    case_id: int
    text: str
    closes: bool
    written_at: datetime
    alert_open: bool


def _staff(request: HttpRequest, *roles: str) -> User:
    user = identity_selectors.api_person(request)
    identity_permissions.ensure_has_role(user, *roles)
    return user


@router.get(
    "/supervision/cases",
    response={200: SupervisedPageOut, **ERRORS},
    auth=session_or_token,
    summary="Supervised cases at warning or above in my jurisdiction, levels computed now",
)
def supervised_cases(
    request: HttpRequest,
    department: str = "",
    item: str = "",
    level: str = Query("", description="warning, yellow or red"),
    trigger: str = Query("", description=", ".join(Trigger.values)),
    number: str = "",
    page: int = Query(1, ge=1, le=10_000),
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
) -> SupervisedPageOut:
    user = _staff(request, *permissions.BOARD_ROLES)
    filters = selectors.parse_filters(
        user, {"department": department, "item": item, "level": level, "trigger": trigger, "number": number}
    )
    now = timezone.now()
    start = (page - 1) * page_size
    found = list(selectors.supervised_cases(user, filters, now=now)[start : start + page_size + 1])
    rows = found[:page_size]
    facts = selectors.open_fact_triggers([c.pk for c in rows])
    items = [
        SupervisedCaseOut(
            id=c.pk,
            number=c.number,
            item_id=c.item_id,
            item_name=c.version.name,
            department_id=c.department_id,
            department=c.department.name,
            status=c.status,
            due_at=c.due_at,
            submitted_at=c.submitted_at,
            level=LEVEL_CSS[Level(c.level)],
            level_label=str(Level(c.level).label),
            case_level=c.level_case,
            stage_level=c.level_stage,
            acceptance_level=c.level_accept,
            fact_triggers=facts.get(c.pk, []),
        )
        for c in rows
    ]
    return SupervisedPageOut(
        computed_at=now, page=page, page_size=page_size, has_next=len(found) > page_size, items=items
    )


@router.post(
    "/supervision/alerts/{alert_id}/notes",
    response={201: NoteOut, **ERRORS},
    auth=session_or_token,
    summary="Add a supervisor's handling note to a warning (audited); optionally close a fact finding",
)
def note_add(request: HttpRequest, alert_id: int, payload: NoteIn) -> Status[NoteOut]:
    user = _staff(request, *permissions.NOTE_ROLES)
    note = services.alert_note_add(alert_id=alert_id, text=payload.text, close=payload.close, by=user)
    return Status(
        201,
        NoteOut(
            id=note.pk,
            alert_id=note.alert_id,
            case_id=note.alert.case_id,
            text=note.text,
            closes=note.closes,
            written_at=note.written_at,
            alert_open=note.alert.closed_at is None,
        ),
    )
