"""Excel workbooks of the dashboards (openpyxl): every table of the page, and the cases behind a figure."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font

from tongban.cases.models import Case
from tongban.core.masking import mask_name, mask_resident_id

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CASE_ROWS = 50_000

# key -> column title, shared by the page's tables and the workbook
CASE_COLUMNS: tuple[tuple[str, Promise], ...] = (
    ("submitted", pgettext_lazy("dashboards", "Submitted")),
    ("online_rate", gettext_lazy("Online handling rate")),
    ("one_visit_rate", gettext_lazy("At-most-one-visit rate")),
    ("on_time_rate", gettext_lazy("On-time rate")),
    ("late", gettext_lazy("Decided late")),
    ("avg_duration_days", gettext_lazy("Average working days taken")),
    ("avg_promised_days", gettext_lazy("Average working days promised")),
    ("prefilled_rate", gettext_lazy("Materials without submission")),
)
REVIEW_COLUMNS: tuple[tuple[str, Promise], ...] = (
    ("reviews", gettext_lazy("Reviews")),
    ("satisfaction_rate", gettext_lazy("Satisfaction rate")),
    ("bad_reviews", gettext_lazy("Bad reviews")),
    ("rectification_rate", gettext_lazy("Bad reviews rectified")),
)
MONTH_COLUMNS = (
    *CASE_COLUMNS,
    *REVIEW_COLUMNS,
    ("exchange_calls", pgettext_lazy("dashboards", "Exchange calls")),
    ("licence_uses", gettext_lazy("Licence uses")),
)
DEPARTMENT_COLUMNS = (*CASE_COLUMNS, *REVIEW_COLUMNS)
ITEM_COLUMNS = CASE_COLUMNS
KPI_ROWS: tuple[tuple[str, Promise], ...] = (
    ("submitted", gettext_lazy("Cases submitted")),
    ("online", gettext_lazy("Submitted online")),
    ("online_rate", gettext_lazy("Online handling rate")),
    ("accepted", gettext_lazy("Accepted")),
    ("not_accepted", gettext_lazy("Not accepted")),
    ("withdrawn", gettext_lazy("Withdrawn")),
    ("refused", gettext_lazy("Refused")),
    ("completed", pgettext_lazy("dashboards", "Completed")),
    ("decided", gettext_lazy("Decided after acceptance")),
    ("on_time", gettext_lazy("Decided on time")),
    ("late", gettext_lazy("Decided late")),
    ("on_time_rate", gettext_lazy("On-time rate")),
    ("finished", pgettext_lazy("dashboards", "Finished")),
    ("one_visit", gettext_lazy("At most one visit")),
    ("one_visit_rate", gettext_lazy("At-most-one-visit rate")),
    ("avg_duration_days", gettext_lazy("Average working days taken")),
    ("avg_promised_days", gettext_lazy("Average working days promised")),
    ("duration_ratio", gettext_lazy("Days taken against days promised")),
    ("materials", gettext_lazy("Materials required")),
    ("prefilled", gettext_lazy("Materials without submission")),
    ("prefilled_rate", gettext_lazy("Share of materials without submission")),
    ("visits_saved", gettext_lazy("Visits saved")),
    ("exchange_calls", pgettext_lazy("dashboards", "Exchange calls")),
    ("exchange_answered", gettext_lazy("Exchange calls answered")),
    ("licence_uses", gettext_lazy("Licence uses")),
    ("reviews", gettext_lazy("Reviews")),
    ("satisfaction_rate", gettext_lazy("Satisfaction rate")),
    ("avg_level", gettext_lazy("Average level (1–5)")),
    ("bad_reviews", gettext_lazy("Bad reviews")),
    ("rectified", gettext_lazy("Bad reviews rectified (count)")),
    ("rectification_rate", gettext_lazy("Bad reviews rectified")),
)
TABLES = ("kpis", "months", "departments", "items", "days")
DAY_COLUMNS: tuple[tuple[str, Promise], ...] = (
    ("submitted", pgettext_lazy("dashboards", "Submitted")),
    ("online", gettext_lazy("Submitted online")),
    ("completed", pgettext_lazy("dashboards", "Completed")),
    ("late", gettext_lazy("Decided late")),
    ("exchange_calls", pgettext_lazy("dashboards", "Exchange calls")),
    ("licence_uses", gettext_lazy("Licence uses")),
    ("reviews", gettext_lazy("Reviews")),
    ("bad_reviews", gettext_lazy("Bad reviews")),
)


def _sheet(workbook: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    sheet = workbook.create_sheet(title[:31])
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(["" if v is None else v for v in row])
    sheet.freeze_panes = "A2"


def _table(rows: list[dict[str, Any]], key: str, columns: Sequence[tuple[str, Promise]]) -> list[list[Any]]:
    return [[row[key], *(row.get(c) for c, _ in columns)] for row in rows]


def _bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def dashboard_xlsx(
    figures: dict[str, Any], filters_text: Sequence[tuple[str, str]], table: str | None
) -> bytes:
    """The page's tables, one sheet each (or only ``table``); the first sheet says what was filtered."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    wanted = [table] if table else list(TABLES)
    _sheet(
        workbook,
        pgettext("dashboards", "Filters"),
        [pgettext("dashboards", "Filter"), pgettext("dashboards", "Value")],
        filters_text,
    )
    kpis = figures["kpis"]
    if "kpis" in wanted:
        _sheet(
            workbook,
            pgettext("dashboards", "Indicators"),
            [_("Indicator"), pgettext("dashboards", "Value")],
            [[str(t), kpis.get(k)] for k, t in KPI_ROWS],
        )
    if "months" in wanted:
        _sheet(
            workbook,
            _("By month"),
            [_("Month"), *(str(t) for _k, t in MONTH_COLUMNS)],
            _table(figures["months"], "month", MONTH_COLUMNS),
        )
    if "departments" in wanted:
        _sheet(
            workbook,
            _("By department"),
            [_("Department"), *(str(t) for _k, t in DEPARTMENT_COLUMNS)],
            _table(figures["departments"], "name", DEPARTMENT_COLUMNS),
        )
    if "items" in wanted:
        _sheet(
            workbook,
            _("By service item"),
            [_("Service item"), *(str(t) for _k, t in ITEM_COLUMNS)],
            _table(figures["items"], "name", ITEM_COLUMNS),
        )
    if "days" in wanted:
        _sheet(
            workbook,
            _("By day"),
            [_("Day"), *(str(t) for _k, t in DAY_COLUMNS)],
            _table(figures["days"], "day", DAY_COLUMNS),
        )
    return _bytes(workbook)


def case_row(case: Case) -> list[Any]:
    """One case as the drill-down list shows it: personal data masked."""

    def when(value: Any) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    return [
        case.number or "",
        case.version.name,
        case.department.name,
        case.get_channel_display(),
        mask_name(case.applicant_name),
        mask_resident_id(case.applicant_id_number),
        case.get_status_display(),
        when(case.submitted_at),
        when(case.due_at),
        when(case.completed_at),
    ]


def case_header() -> list[str]:
    return [
        _("Case number"),
        _("Service item"),
        _("Department"),
        _("Channel"),
        _("Applicant"),
        _("ID number or credit code"),
        _("Status"),
        _("Submitted at"),
        _("Due"),
        _("Finished at"),
    ]


def cases_xlsx(title: str, filters_text: Sequence[tuple[str, str]], cases: Iterable[Case]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(
        workbook,
        pgettext("dashboards", "Filters"),
        [pgettext("dashboards", "Filter"), pgettext("dashboards", "Value")],
        filters_text,
    )
    _sheet(workbook, title, case_header(), (case_row(c) for c in cases))
    return _bytes(workbook)
