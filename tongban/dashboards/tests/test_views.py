"""The pages, the API and the Excel exports, through HTTP."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tongban.core.models import AuditEvent
from tongban.dashboards.tests.conftest import END, START, World
from tongban.identity.models import User

pytestmark = pytest.mark.django_db

API = "/api/v1/staff/dashboard"


def client_for(user: User, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _period(**extra: Any) -> dict[str, Any]:
    return {"start": START, "end": END, **extra}


def test_the_dashboard_page_has_cards_charts_and_tables(refreshed: World) -> None:
    page = client_for(refreshed.supervisor).get(reverse("dashboards:dashboard"), _period())
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="dashboard-data"' in html
    assert "dashboards/vendor/echarts/echarts.min.js" in html
    assert "dashboards/dashboard.js" in html
    assert "<script>" not in html.replace('<script id="dashboard-data" type="application/json">', "")
    data = json.loads(
        html.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0]
    )
    assert sum(d["submitted"] for d in data["days"]) == 8
    assert data["drill"].startswith(reverse("dashboards:cases"))
    assert "75.0%" in html  # online handling rate
    assert "办件量" in html or "受理" in html or "决策" in html  # Chinese by default


def test_the_default_period_is_the_last_year(refreshed: World) -> None:
    page = client_for(refreshed.supervisor).get(reverse("dashboards:dashboard"))
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"start": "2026-06-30", "end": "2026-06-01"}, "period_reversed"),
        ({"start": "2026-06-01", "end": "2999-12-31"}, "period_in_future"),
        ({"start": "2019-01-01", "end": "2026-06-01"}, "period_too_long"),
        ({"start": "2026-02-30"}, "period_date_invalid"),
        ({"department": "x"}, "department_invalid"),
    ],
)
def test_impossible_filters_give_a_clear_message_not_a_500(
    world: World, query: dict[str, str], code: str
) -> None:
    client = client_for(world.supervisor)
    page = client.get(reverse("dashboards:dashboard"), query)
    assert page.status_code == 400
    assert 'id="filter-error"' in page.content.decode()
    answer = client.get(API, query)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    for name in ("dashboards:dashboard_xlsx", "dashboards:cases", "dashboards:cases_xlsx"):
        assert client.get(reverse(name), query).status_code == 400


def test_period_error_messages_are_chinese(world: World) -> None:
    page = client_for(world.supervisor).get(
        reverse("dashboards:dashboard"), {"start": "2026-06-30", "end": "2026-06-01"}
    )
    assert "开始" in page.content.decode()


def test_the_api_answers_every_figure(refreshed: World) -> None:
    answer = client_for(refreshed.supervisor).get(API, _period(department=refreshed.a.pk))
    assert answer.status_code == 200
    body = answer.json()
    assert body["kpis"]["submitted"] == 7
    assert body["department"] == refreshed.a.pk
    assert {"days", "months", "departments", "items"} <= set(body)
    raw = client_for(refreshed.administrator).get(API, _period(source="raw"))
    assert raw.json()["kpis"]["submitted"] == 8
    assert client_for(refreshed.supervisor).get(API, _period(source="raw")).status_code == 403


def test_other_departments_are_refused(refreshed: World) -> None:
    approver = client_for(refreshed.approver_a)
    answer = approver.get(API, _period(department=refreshed.b.pk))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "department_not_visible"
    assert approver.get(API, _period(item=refreshed.item_b.pk)).json()["error"]["code"] == "item_not_visible"
    assert (
        approver.get(reverse("dashboards:dashboard"), _period(department=refreshed.b.pk)).status_code == 403
    )
    assert approver.get(reverse("dashboards:cases"), _period(department=refreshed.b.pk)).status_code == 403
    assert (
        approver.get(reverse("dashboards:cases_xlsx"), _period(item=refreshed.item_b.pk)).status_code == 403
    )
    own = approver.get(API, _period()).json()
    assert [d["id"] for d in own["departments"]] == [refreshed.a.pk]


def test_who_may_see_the_dashboards(refreshed: World, client: Client) -> None:
    assert client.get(reverse("dashboards:dashboard")).status_code == 302  # to the login page
    assert client.get(API).status_code == 401
    assert client_for(refreshed.clerk).get(reverse("dashboards:dashboard")).status_code == 403
    assert client_for(refreshed.clerk).get(API).status_code == 403
    assert client_for(refreshed.applicant).get(reverse("dashboards:dashboard")).status_code == 403


def _sheets(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def test_excel_export_of_every_table(refreshed: World) -> None:
    client = client_for(refreshed.supervisor)
    response = client.get(reverse("dashboards:dashboard_xlsx"), _period())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheets = _sheets(response.content)
    assert list(sheets) == ["筛选条件", "指标", "按月", "按部门", "按事项", "按日"]
    indicators = {row[0]: row[1] for row in sheets["指标"][1:]}
    assert indicators["办件量"] == 8
    assert indicators["按时办结率"] == 0.8
    departments = {row[0]: row for row in sheets["按部门"][1:]}
    assert departments["六安市公安局"][1] == 7
    assert sum(row[1] for row in sheets["按日"][1:]) == 8
    one = _sheets(client.get(reverse("dashboards:dashboard_xlsx"), _period(table="items")).content)
    assert list(one) == ["筛选条件", "按事项"]
    assert client.get(reverse("dashboards:dashboard_xlsx"), _period(table="nope")).status_code == 400


def test_drill_down_list_and_its_export_match_the_figure(refreshed: World) -> None:
    client = client_for(refreshed.supervisor)
    page = client.get(reverse("dashboards:cases"), _period(kind="late"))
    assert page.status_code == 200
    html = page.content.decode()
    late = refreshed.cases["late"]
    assert str(late.number) in html
    assert str(refreshed.cases["on_time"].number) not in html
    assert "张**" in html
    assert "张三丰" not in html
    assert str(refreshed.applicant.resident_id) not in html
    rows = _sheets(client.get(reverse("dashboards:cases_xlsx"), _period(kind="finished")).content)
    cases = rows["已办结"]
    assert len(cases) - 1 == 6
    assert all(str(refreshed.applicant.resident_id) not in str(r) for r in cases)
    assert AuditEvent.objects.filter(action="dashboards.cases_exported").exists()
    day = client.get(reverse("dashboards:cases"), _period(kind="submitted", day="2026-06-09"))
    assert str(refreshed.cases["same_day"].number) in day.content.decode()


def test_refresh_on_demand_is_for_administrators(world: World) -> None:
    assert client_for(world.supervisor).post(reverse("dashboards:refresh")).status_code == 403
    response = client_for(world.administrator).post(reverse("dashboards:refresh"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="dashboards.refreshed").exists()
    answer = client_for(world.supervisor).get(API, _period())
    assert answer.json()["kpis"]["submitted"] == 8
