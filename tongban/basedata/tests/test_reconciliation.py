"""比对核准: another source compared with the population base, the tasks it opens, and how they close."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from tongban.basedata import services
from tongban.basedata.choices import JobStatus, QualityTaskStatus, TaskOutcome
from tongban.basedata.models import DataQualityTask, Person, ReconciliationRun
from tongban.basedata.tests.conftest import POPULATION_HEADER, csv_bytes, person_row, resident_id, upload
from tongban.core.calendar import deadline_after
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User

pytestmark = pytest.mark.usefixtures("divisions")


@pytest.fixture
def base(police: Department, county_police: Department, officer: User) -> list[list[str]]:
    """Ten people from the city police, two of them registered by the county police."""
    rows = [person_row(seq, marital="已婚" if seq % 3 else "未婚") for seq in range(1, 11)]
    job = services.import_job_create(
        dataset="population",
        upload=upload(csv_bytes(POPULATION_HEADER, rows)),
        department=police,
        by=officer,
        enqueue=False,
    )
    services.import_job_run(job_id=job.pk)
    Person.objects.filter(pk__in=[rows[8][0], rows[9][0]]).update(source_department=county_police)
    return rows


def reconcile(
    rows: list[list[str]],
    department: Department,
    by: User,
    fields: list[str],
    header: list[str] | None = None,
) -> ReconciliationRun:
    header = header or ["公民身份号码", "婚姻状况"]
    run = services.reconciliation_create(
        dataset="population",
        fields=fields,
        upload=upload(csv_bytes(header, rows)),
        department=department,
        by=by,
        enqueue=False,
    )
    return services.reconciliation_run(run_id=run.pk, chunk_rows=4)


def marriage_records(base: list[list[str]]) -> list[list[str]]:
    """民政局's view: rows 1-3 agree (written as codes or labels), row 4 was divorced, row 6 married,
    row 10 (the county's) remarried, one person the base lacks, one malformed ID, one blank value."""
    records = [
        [base[0][0], "20"],
        [base[1][0], "已婚"],
        [base[2][0], "10"],
        [base[3][0], "离婚"],
        [base[5][0], "初婚"],
        [base[9][0], "再婚"],
        [resident_id(seq=77), "已婚"],
        ["34150219860312001", "已婚"],
        [base[6][0], ""],
    ]
    return records


def test_differences_become_tasks_for_the_responsible_department(
    base: list[list[str]],
    civil_affairs: Department,
    civil_officer: User,
    police: Department,
    county_police: Department,
) -> None:
    run = reconcile(marriage_records(base), civil_affairs, civil_officer, ["marital_status"])
    assert run.status == JobStatus.SUCCEEDED, run.message
    # row 6 (unmarried in the base) is 初婚 at civil affairs: a difference; row 10 再婚 vs 已婚: same class.
    assert (run.compared, run.matched, run.mismatched, run.missing, run.error_count) == (8, 5, 2, 1, 1)
    tasks = {t.record_key: t for t in DataQualityTask.objects.filter(run=run)}
    assert set(tasks) == {base[3][0], base[5][0]}
    divorced = tasks[base[3][0]]
    assert (divorced.field, divorced.base_value, divorced.source_value) == ("marital_status", "20", "40")
    assert divorced.assigned_department == police
    assert divorced.due_on == deadline_after(timezone.now(), settings.TONGBAN_DATA_QUALITY_DAYS).date()
    assert run.tasks_created == 2
    assert AuditEvent.objects.filter(action="basedata.reconcile_finish", subject_id=str(run.pk)).exists()


def test_the_county_record_goes_to_the_county_police(
    base: list[list[str]], civil_affairs: Department, civil_officer: User, county_police: Department
) -> None:
    run = reconcile(
        [[base[8][0], "离婚"], [base[9][0], "丧偶"]], civil_affairs, civil_officer, ["marital_status"]
    )
    assert {t.assigned_department for t in run.tasks.all()} == {county_police}


def test_a_second_run_opens_no_duplicate_tasks(
    base: list[list[str]], civil_affairs: Department, civil_officer: User
) -> None:
    first = reconcile(marriage_records(base), civil_affairs, civil_officer, ["marital_status"])
    second = reconcile(marriage_records(base), civil_affairs, civil_officer, ["marital_status"])
    assert (first.tasks_created, second.tasks_created) == (2, 0)
    assert second.mismatched == 2
    assert "2" in second.message
    assert DataQualityTask.objects.filter(status=QualityTaskStatus.OPEN).count() == 2


def test_several_fields_at_once(
    base: list[list[str]], civil_affairs: Department, civil_officer: User
) -> None:
    header = ["身份证号码", "姓名", "户籍地址", "出生日期"]
    rows = [
        [base[0][0], "张 伟", base[0][5], base[0][3]],  # a space in the name is no difference
        [base[1][0], "张炜", "安徽省六安市裕安区鼓楼街道人民路2号", ""],
    ]
    run = reconcile(rows, civil_affairs, civil_officer, ["name", "household_address", "birth_date"], header)
    assert (run.matched, run.mismatched) == (1, 1)
    assert sorted(run.tasks.values_list("field", flat=True)) == ["household_address", "name"]


def test_a_file_without_the_chosen_columns_is_refused(
    base: list[list[str]], civil_affairs: Department, civil_officer: User
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.reconciliation_create(
            dataset="population",
            fields=["marital_status", "name"],
            upload=upload(csv_bytes(["公民身份号码", "婚姻状况"], [[base[0][0], "20"]])),
            department=civil_affairs,
            by=civil_officer,
        )
    assert refused.value.code == "missing_columns"
    with pytest.raises(ValidationFailed) as wrong_field:
        services.reconciliation_create(
            dataset="population",
            fields=["credit_code"],
            upload=upload(csv_bytes(["公民身份号码"], [[base[0][0]]])),
            department=civil_affairs,
            by=civil_officer,
        )
    assert wrong_field.value.code == "fields_invalid"
    assert not ReconciliationRun.objects.exists()


def test_only_the_departments_own_officers_reconcile(
    base: list[list[str]], civil_affairs: Department, officer: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.reconciliation_create(
            dataset="population",
            fields=["marital_status"],
            upload=upload(csv_bytes(["公民身份号码", "婚姻状况"], [[base[0][0], "20"]])),
            department=civil_affairs,
            by=officer,
        )


@pytest.fixture
def tasks(
    base: list[list[str]], civil_affairs: Department, civil_officer: User
) -> dict[str, DataQualityTask]:
    run = reconcile(marriage_records(base), civil_affairs, civil_officer, ["marital_status"])
    return {t.record_key: t for t in run.tasks.all()}


def test_base_corrected_writes_the_other_value(
    base: list[list[str]], tasks: dict[str, DataQualityTask], officer: User
) -> None:
    task = tasks[base[3][0]]
    before = Person.objects.get(pk=task.record_key).updated_at
    closed = services.quality_task_resolve(task=task, outcome=TaskOutcome.BASE_CORRECTED, note="", by=officer)
    assert closed.status == QualityTaskStatus.BASE_CORRECTED
    assert (closed.resolved_by, closed.resolution) == (officer, "")
    person = Person.objects.get(pk=task.record_key)
    assert person.marital_status == "40"
    assert person.updated_at > before
    correction = AuditEvent.objects.get(action="basedata.record_correct")
    assert correction.data["from"] == "20"
    assert correction.data["to"] == "40"
    assert AuditEvent.objects.filter(action="basedata.task_resolve", subject_id=str(task.pk)).exists()
    with pytest.raises(Conflict):
        services.quality_task_resolve(task=task, outcome=TaskOutcome.DISMISSED, note="again", by=officer)


@pytest.mark.parametrize("outcome", [TaskOutcome.SOURCE_WRONG, TaskOutcome.DISMISSED])
def test_the_other_outcomes_need_a_note_and_leave_the_base(
    base: list[list[str]], tasks: dict[str, DataQualityTask], officer: User, outcome: str
) -> None:
    task = tasks[base[5][0]]
    with pytest.raises(ValidationFailed) as no_note:
        services.quality_task_resolve(task=task, outcome=outcome, note="  ", by=officer)
    assert no_note.value.code == "note_required"
    closed = services.quality_task_resolve(
        task=task, outcome=outcome, note="已核对户籍档案，基础库正确。", by=officer
    )
    assert closed.status == outcome
    assert Person.objects.get(pk=task.record_key).marital_status == "10"


def test_others_may_not_resolve(
    base: list[list[str]],
    tasks: dict[str, DataQualityTask],
    civil_officer: User,
    county_officer: User,
    approver: User,
    city_admin: User,
) -> None:
    task = tasks[base[3][0]]
    for user in (civil_officer, county_officer, approver):
        with pytest.raises(PermissionDenied):
            services.quality_task_resolve(task=task, outcome=TaskOutcome.DISMISSED, note="不是我的", by=user)
    with pytest.raises(ValidationFailed):
        services.quality_task_resolve(task=task, outcome="shrug", note="", by=city_admin)
    task.refresh_from_db()
    assert task.status == QualityTaskStatus.OPEN
    services.quality_task_resolve(
        task=task, outcome=TaskOutcome.DISMISSED, note="市管理员处理", by=city_admin
    )


def test_correcting_a_record_that_is_gone(
    base: list[list[str]], tasks: dict[str, DataQualityTask], officer: User
) -> None:
    task = tasks[base[3][0]]
    Person.objects.filter(pk=task.record_key).delete()
    with pytest.raises(NotFound):
        services.quality_task_resolve(task=task, outcome=TaskOutcome.BASE_CORRECTED, note="", by=officer)
    task.refresh_from_db()
    assert task.status == QualityTaskStatus.OPEN


def test_legal_entities_are_reconciled_too(
    police: Department, officer: User, civil_affairs: Department, civil_officer: User
) -> None:
    from tongban.identity.tests.factories import make_credit_code

    code = make_credit_code("341502")
    header = ["统一社会信用代码", "名称", "法定代表人", "住所", "行政区划代码", "成立日期", "登记状态"]
    job = services.import_job_create(
        dataset="legal_entity",
        upload=upload(
            csv_bytes(
                header, [[code, "六安市测试有限公司", "王建国", "金安区1号", "341502", "2015-06-30", "存续"]]
            )
        ),
        department=police,
        by=officer,
        enqueue=False,
    )
    services.import_job_run(job_id=job.pk)
    run = services.reconciliation_create(
        dataset="legal_entity",
        fields=["status"],
        upload=upload(csv_bytes(["统一社会信用代码", "登记状态"], [[code, "注销"]])),
        department=civil_affairs,
        by=civil_officer,
        enqueue=False,
    )
    run = services.reconciliation_run(run_id=run.pk)
    task: Any = run.tasks.get()
    assert (task.base_value, task.source_value, task.base_label, task.source_label) == (
        "active",
        "deregistered",
        "active 存续",
        "deregistered 注销",
    )
