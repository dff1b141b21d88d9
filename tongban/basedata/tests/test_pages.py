"""The pages under /staff/basedata/: what each role sees, uploads as background jobs, and refusals."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tongban.basedata import services
from tongban.basedata.choices import JobStatus, QualityTaskStatus
from tongban.basedata.models import DataQualityTask, ImportJob, Person, ReconciliationRun
from tongban.basedata.tests.conftest import POPULATION_HEADER, csv_bytes, person_row, upload
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory

pytestmark = pytest.mark.usefixtures("divisions")


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def population_file(rows: int = 4, *, bad: bool = True) -> bytes:
    lines = [person_row(seq) for seq in range(1, rows + 1)]
    if bad:
        wrong = person_row(50)
        wrong[3] = "1999-01-01"
        lines.append(wrong)
    return csv_bytes(POPULATION_HEADER, lines)


@pytest.fixture
def job(police: Department, officer: User) -> ImportJob:
    created = services.import_job_create(
        dataset="population", upload=upload(population_file()), department=police, by=officer, enqueue=False
    )
    return services.import_job_run(job_id=created.pk)


@pytest.fixture
def run(job: ImportJob, civil_affairs: Department, civil_officer: User) -> ReconciliationRun:
    rows = [[person_row(1)[0], "离婚"], [person_row(2)[0], "20"], ["34150219860312001", "20"]]
    created = services.reconciliation_create(
        dataset="population",
        fields=["marital_status"],
        upload=upload(csv_bytes(["公民身份号码", "婚姻状况"], rows)),
        department=civil_affairs,
        by=civil_officer,
        enqueue=False,
    )
    return services.reconciliation_run(run_id=created.pk)


@pytest.fixture
def task(run: ReconciliationRun) -> DataQualityTask:
    return run.tasks.get()


def test_the_overview_counts_and_lists(job: ImportJob, officer: User) -> None:
    response = logged_in(officer).get(reverse("basedata:overview"))
    assert response.status_code == 200
    counts = {c.dataset: c.records for c in response.context["counts"]}
    assert counts["population"] == 4
    assert [j.pk for j in response.context["jobs"]] == [job.pk]


def test_only_data_staff_reach_the_pages(approver: User, citizen: Any) -> None:
    assert logged_in(approver).get(reverse("basedata:overview")).status_code == 403
    assert logged_in(citizen).get(reverse("basedata:overview")).status_code == 403
    anonymous = Client().get(reverse("basedata:overview"))
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]


def test_upload_queues_a_background_job_and_the_page_follows_it(
    police: Department, officer: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = logged_in(officer)
    form = client.get(reverse("basedata:import_new"))
    assert form.status_code == 200
    assert form.context["form"].fields["department"].initial == police.pk
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("basedata:import_new"),
            {
                "dataset": "population",
                "department": police.pk,
                "file": SimpleUploadedFile("人口.csv", population_file(), content_type="text/csv"),
            },
        )
    assert len(callbacks) == 1  # the job was handed to the queue once the upload committed
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("basedata:import_detail", args=[job.pk])
    assert (job.status, job.original_name, job.inserted, job.error_count) == (
        JobStatus.SUCCEEDED,
        "人口.csv",
        4,
        1,
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "birth_date_mismatch" in page.content.decode()
    progress = client.get(reverse("basedata:import_progress", args=[job.pk])).json()
    assert progress["status"] == "succeeded"
    assert progress["percent"] == 100
    assert progress["finished"]
    assert (progress["processed_rows"], progress["inserted"], progress["error_count"]) == (5, 4, 1)


def test_a_running_job_page_polls_its_progress(police: Department, officer: User) -> None:
    job = services.import_job_create(
        dataset="population", upload=upload(population_file()), department=police, by=officer, enqueue=False
    )
    page = logged_in(officer).get(reverse("basedata:import_detail", args=[job.pk])).content.decode()
    assert 'data-progress-url="' + reverse("basedata:import_progress", args=[job.pk]) in page
    assert "basedata/job_progress.js" in page
    progress = logged_in(officer).get(reverse("basedata:import_progress", args=[job.pk]))
    assert progress.json()["status"] == "queued"
    assert progress["Cache-Control"] == "private, no-store"


def test_a_bad_upload_is_refused_with_its_reason(police: Department, officer: User) -> None:
    response = logged_in(officer).post(
        reverse("basedata:import_new"),
        {
            "dataset": "population",
            "department": police.pk,
            "file": SimpleUploadedFile("x.csv", csv_bytes(["姓名"], [["张伟"]])),
        },
    )
    assert response.status_code == 400
    assert "公民身份号码" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_officer_cannot_upload_for_another_department(civil_affairs: Department, officer: User) -> None:
    response = logged_in(officer).post(
        reverse("basedata:import_new"),
        {
            "dataset": "population",
            "department": civil_affairs.pk,
            "file": SimpleUploadedFile("x.csv", population_file()),
        },
    )
    assert response.status_code == 400  # not among the form's choices
    assert not ImportJob.objects.exists()


def test_the_error_report_is_downloaded_masked_and_audited(job: ImportJob, officer: User) -> None:
    response = logged_in(officer).get(reverse("basedata:import_errors", args=[job.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert body.startswith("行号,列,原因代码,说明,值")
    assert "birth_date_mismatch" in body
    assert "出生日期与公民身份号码中的不一致" in body
    assert AuditEvent.objects.filter(action="basedata.report_download", subject_id=str(job.pk)).exists()


@pytest.mark.parametrize("name", ["import_detail", "import_progress", "import_errors"])
def test_another_departments_job_is_not_found(
    job: ImportJob, civil_officer: User, county_admin: User, name: str
) -> None:
    for user in (civil_officer, county_admin):
        assert logged_in(user).get(reverse(f"basedata:{name}", args=[job.pk])).status_code == 404
    assert logged_in(civil_officer).post(reverse("basedata:import_abandon", args=[job.pk])).status_code == 404


def test_the_city_administrator_sees_every_job(job: ImportJob, city_admin: User) -> None:
    client = logged_in(city_admin)
    assert client.get(reverse("basedata:import_detail", args=[job.pk])).status_code == 200
    assert [j.pk for j in client.get(reverse("basedata:import_list")).context["page"]] == [job.pk]


def test_job_lists_are_scoped(job: ImportJob, officer: User, civil_officer: User) -> None:
    assert [j.pk for j in logged_in(officer).get(reverse("basedata:import_list")).context["page"]] == [job.pk]
    assert list(logged_in(civil_officer).get(reverse("basedata:import_list")).context["page"]) == []


def test_templates(officer: User) -> None:
    client = logged_in(officer)
    csv_template = client.get(reverse("basedata:template", args=["population", "csv"]))
    assert csv_template.status_code == 200
    assert csv_template.content.decode("utf-8-sig").strip().split(",")[:3] == ["公民身份号码", "姓名", "性别"]
    xlsx = client.get(reverse("basedata:template", args=["legal_entity", "xlsx"]))
    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert [c.value for c in workbook["数据"][1]][:2] == ["统一社会信用代码", "名称"]
    assert workbook["数据"]["A2"].number_format == "@"
    assert {"数据", "填写说明", "代码表"} <= set(workbook.sheetnames)
    assert client.get("/staff/basedata/templates/nothing.csv").status_code == 404
    assert client.get(reverse("basedata:template", args=["population", "pdf"])).status_code == 404


def test_a_template_imports_as_is(police: Department, officer: User) -> None:
    """A template filled in (here: one row appended) is a valid import file."""
    from tongban.basedata.datasets import spec_for
    from tongban.basedata.files import template_xlsx

    workbook = load_workbook(io.BytesIO(template_xlsx(spec_for("population"), title="人口")))
    sheet = workbook["数据"]
    for column, value in enumerate(person_row(7), start=1):
        sheet.cell(row=2, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = services.import_job_create(
        dataset="population",
        upload=upload(buffer.getvalue(), "人口.xlsx"),
        department=police,
        by=officer,
        enqueue=False,
    )
    job = services.import_job_run(job_id=job.pk)
    assert (job.status, job.inserted, job.error_count) == (JobStatus.SUCCEEDED, 1, 0)


def test_look_up_masks_unless_the_department_maintains_the_record(
    job: ImportJob, officer: User, civil_officer: User
) -> None:
    rid = person_row(1)[0]
    url = reverse("basedata:lookup") + f"?dataset=population&key={rid}"
    own = logged_in(officer).get(url)
    assert own.status_code == 200
    assert not own.context["record"].masked
    assert "皖西大道1号" in own.content.decode()
    other = logged_in(civil_officer).get(url)
    assert other.status_code == 200
    assert other.context["record"].masked
    page = other.content.decode()
    assert "皖西大道1号" not in page
    assert "张*" in page
    events = AuditEvent.objects.filter(action="basedata.record_view").order_by("seq")
    assert [e.data["masked"] for e in events] == [False, True]
    assert rid not in str([e.data for e in events])  # the trail keeps the key masked
    missing = logged_in(officer).get(
        reverse("basedata:lookup") + "?dataset=population&key=341502198603120000"
    )
    assert missing.status_code == 404
    assert AuditEvent.objects.filter(action="basedata.record_view", outcome="failure").count() == 1


def test_reconciliation_upload_and_pages(
    job: ImportJob,
    civil_affairs: Department,
    civil_officer: User,
    officer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = logged_in(civil_officer)
    assert client.get(reverse("basedata:reconciliation_new")).status_code == 200
    rows = [[person_row(1)[0], "离婚"], [person_row(2)[0], "已婚"]]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("basedata:reconciliation_new"),
            {
                "dataset": "population",
                "fields_compared": ["population.marital_status"],
                "department": civil_affairs.pk,
                "file": SimpleUploadedFile("婚姻.csv", csv_bytes(["公民身份号码", "婚姻状况"], rows)),
            },
        )
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302
    assert (run.status, run.matched, run.mismatched, run.tasks_created) == (JobStatus.SUCCEEDED, 1, 1, 1)
    assert client.get(reverse("basedata:reconciliation_detail", args=[run.pk])).status_code == 200
    assert client.get(reverse("basedata:reconciliation_progress", args=[run.pk])).json()["mismatched"] == 1
    # The police, who must work the task, see the run it came from but not the other source's report.
    police_view = logged_in(officer).get(reverse("basedata:reconciliation_detail", args=[run.pk]))
    assert police_view.status_code == 200
    assert not police_view.context["own"]


def test_reconciliation_fields_must_belong_to_the_dataset(
    civil_affairs: Department, civil_officer: User
) -> None:
    response = logged_in(civil_officer).post(
        reverse("basedata:reconciliation_new"),
        {
            "dataset": "population",
            "fields_compared": ["legal_entity.status"],
            "department": civil_affairs.pk,
            "file": SimpleUploadedFile("x.csv", csv_bytes(["公民身份号码", "登记状态"], [["1", "2"]])),
        },
    )
    assert response.status_code == 400
    assert not ReconciliationRun.objects.exists()


@pytest.mark.parametrize(
    "name", ["reconciliation_detail", "reconciliation_progress", "reconciliation_errors"]
)
def test_another_departments_run_is_not_found(
    run: ReconciliationRun, county_officer: User, approver: User, name: str
) -> None:
    assert logged_in(county_officer).get(reverse(f"basedata:{name}", args=[run.pk])).status_code == 404
    assert logged_in(approver).get(reverse(f"basedata:{name}", args=[run.pk])).status_code == 403


def test_the_run_report_stays_with_the_runs_department(
    run: ReconciliationRun, officer: User, civil_officer: User
) -> None:
    assert run.error_report
    assert logged_in(officer).get(reverse("basedata:reconciliation_errors", args=[run.pk])).status_code == 404
    assert (
        logged_in(civil_officer).get(reverse("basedata:reconciliation_errors", args=[run.pk])).status_code
        == 200
    )


def test_the_task_queue_and_resolving_a_task(
    task: DataQualityTask, officer: User, civil_officer: User
) -> None:
    client = logged_in(officer)
    queue = client.get(reverse("basedata:task_list"))
    assert [t.pk for t in queue.context["page"]] == [task.pk]
    raised = logged_in(civil_officer).get(reverse("basedata:task_list") + "?view=raised")
    assert [t.pk for t in raised.context["page"]] == [task.pk]
    assert list(logged_in(civil_officer).get(reverse("basedata:task_list")).context["page"]) == []
    detail = client.get(reverse("basedata:task_detail", args=[task.pk]))
    assert detail.status_code == 200
    assert detail.context["may_resolve"]
    assert "40 离婚" in detail.content.decode()
    assert (
        not logged_in(civil_officer)
        .get(reverse("basedata:task_detail", args=[task.pk]))
        .context["may_resolve"]
    )
    refused = client.post(
        reverse("basedata:task_resolve", args=[task.pk]), {"outcome": "dismissed", "note": ""}
    )
    assert refused.status_code == 400
    done = client.post(
        reverse("basedata:task_resolve", args=[task.pk]), {"outcome": "base_corrected", "note": ""}
    )
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.status == QualityTaskStatus.BASE_CORRECTED
    assert Person.objects.get(pk=task.record_key).marital_status == "40"
    again = client.post(
        reverse("basedata:task_resolve", args=[task.pk]), {"outcome": "dismissed", "note": "x"}
    )
    assert again.status_code == 409
    assert list(client.get(reverse("basedata:task_list")).context["page"]) == []  # the open ones by default
    for query in ("?status=", "?status=base_corrected"):
        listed = client.get(reverse("basedata:task_list") + query).context["page"]
        assert [t.pk for t in listed] == [task.pk]


def test_another_departments_task_is_refused(
    task: DataQualityTask, civil_officer: User, county_officer: User
) -> None:
    assert logged_in(county_officer).get(reverse("basedata:task_detail", args=[task.pk])).status_code == 404
    assert (
        logged_in(county_officer)
        .post(reverse("basedata:task_resolve", args=[task.pk]), {"outcome": "dismissed", "note": "x"})
        .status_code
        == 404
    )
    # The department that raised it sees it, but may not close it.
    response = logged_in(civil_officer).post(
        reverse("basedata:task_resolve", args=[task.pk]), {"outcome": "dismissed", "note": "x"}
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == QualityTaskStatus.OPEN


def test_divisions_and_indicators(officer: User) -> None:
    client = logged_in(officer)
    top = client.get(reverse("basedata:divisions"))
    assert [d.code for d in top.context["children"]] == ["340000"]
    luan = client.get(reverse("basedata:divisions") + "?code=341500")
    assert {d.name for d in luan.context["children"]} >= {
        "金安区",
        "裕安区",
        "叶集区",
        "霍邱县",
        "舒城县",
        "金寨县",
        "霍山县",
    }
    assert client.get(reverse("basedata:divisions") + "?code=999999").status_code == 404
    assert client.get(reverse("basedata:indicators")).status_code == 200


def test_abandoning_a_stalled_job(police: Department, officer: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    job = services.import_job_create(
        dataset="population", upload=upload(population_file()), department=police, by=officer, enqueue=False
    )
    client = logged_in(officer)
    assert client.post(reverse("basedata:import_abandon", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # not stalled: refused with a message
    long_ago = timezone.now() - timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    assert client.get(reverse("basedata:import_detail", args=[job.pk])).context["stalled"]
    client.post(reverse("basedata:import_abandon", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_english_interface(officer: User) -> None:
    client = logged_in(officer)
    page = client.get(reverse("basedata:overview"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Base databases" in page.content.decode()
    chinese = client.get(reverse("basedata:overview"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "基础数据库" in chinese.content.decode()


def test_a_citizen_is_not_a_data_officer() -> None:
    citizen = CitizenFactory()
    assert logged_in(citizen).get(reverse("basedata:task_list")).status_code == 403
