"""The management commands, the division table and the demo loader."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tongban.basedata import demo, divisions, services
from tongban.basedata.choices import DivisionLevel, JobStatus, QualityTaskStatus
from tongban.basedata.models import (
    DataQualityTask,
    Division,
    ImportJob,
    IndicatorSeries,
    LegalEntity,
    Person,
    ReconciliationRun,
    StandardAddress,
)
from tongban.basedata.tests.conftest import POPULATION_HEADER, csv_bytes, person_row
from tongban.identity import demo as identity_demo
from tongban.identity.models import Department, User


def test_the_anhui_tree_from_python_stdnum() -> None:
    rows = {r.code: r for r in divisions.current_divisions()}
    anhui = [r for r in rows.values() if r.code.startswith("34")]
    prefectures = [r for r in anhui if r.level == DivisionLevel.PREFECTURE]
    assert rows["340000"].name == "安徽省"
    assert len(prefectures) == 16
    assert rows["341500"].name == "六安市"
    assert rows["341500"].parent_code == "340000"
    assert len([r for r in anhui if r.level == DivisionLevel.COUNTY]) == 104
    assert rows["341504"].name == "叶集区"
    assert rows["341504"].parent_code == "341500"
    assert "341400" not in rows  # 巢湖市 (prefecture) was abolished in 2011
    assert rows["341502001"].name == "中市街道"
    assert rows["341502001"].parent_code == "341502"
    assert {"342421", "341400", "341502"} <= divisions.region_codes()  # every code ever issued


@pytest.mark.django_db
def test_the_division_loader_is_idempotent() -> None:
    first = services.divisions_load()
    assert first.created == len(divisions.current_divisions())
    assert first.updated == 0
    Division.objects.filter(code="341502").update(name="金安")
    out = io.StringIO()
    call_command("basedata_load_divisions", stdout=out)
    assert "0 created, 1 updated" in out.getvalue()
    assert Division.objects.get(code="341502").name == "金安区"
    assert services.divisions_load().changed is False


@pytest.mark.django_db
@pytest.mark.usefixtures("divisions")
def test_the_import_command(police: Department, officer: User, tmp_path: Path) -> None:
    rows = [person_row(seq) for seq in range(1, 6)]
    wrong = person_row(9, division="341599")
    source = tmp_path / "people.csv"
    source.write_bytes(csv_bytes(POPULATION_HEADER, [*rows, wrong]))
    report = tmp_path / "report.csv"
    out, err = io.StringIO(), io.StringIO()
    arguments = ["--dataset", "population", "--department", "luan-gaj", "--as", officer.username]
    arguments += ["--report", str(report), "--chunk-rows", "2"]
    call_command("basedata_import", str(source), *arguments, stdout=out, stderr=err)
    assert "6 rows, 5 added, 0 changed, 0 unchanged, 1 refused" in out.getvalue()
    assert "rows" in err.getvalue()  # the progress bar
    assert "division_unknown" in report.read_text(encoding="utf-8-sig")
    job = ImportJob.objects.get()
    assert (job.created_by, job.source_department) == (officer, police)
    again = io.StringIO()
    call_command(
        "basedata_import",
        str(source),
        "--dataset",
        "population",
        "--department",
        "luan-gaj",
        "--no-progress",
        stdout=again,
    )
    assert "0 added, 0 changed, 5 unchanged, 1 refused" in again.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("divisions")
def test_the_import_command_refuses(
    police: Department, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    source = tmp_path / "people.csv"
    source.write_bytes(csv_bytes(["姓名"], [["张伟"]]))
    with pytest.raises(CommandError, match="missing_columns"):
        call_command("basedata_import", str(source), "--dataset", "population", "--department", "luan-gaj")
    with pytest.raises(CommandError, match="No department"):
        call_command("basedata_import", str(source), "--dataset", "population", "--department", "nowhere")
    with pytest.raises(CommandError, match="not a file"):
        call_command(
            "basedata_import",
            str(tmp_path / "none.csv"),
            "--dataset",
            "population",
            "--department",
            "luan-gaj",
        )
    source.write_bytes(csv_bytes(POPULATION_HEADER, [person_row(1)]))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command(
            "basedata_import",
            str(source),
            "--dataset",
            "population",
            "--department",
            "luan-gaj",
            "--background",
            stdout=out,
        )
    assert "queued" in out.getvalue()
    assert len(callbacks) == 1
    assert ImportJob.objects.get().status == JobStatus.SUCCEEDED  # the test settings run jobs inline
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_the_demo_loader_is_idempotent_and_has_the_demo_accounts() -> None:
    identity_demo.seed_demo()
    first = demo.load(people=300)
    assert first.people_created == 300
    assert first.entities_created == 201
    assert first.job_created
    assert first.run_created
    for citizen in identity_demo.CITIZENS:
        person = Person.objects.get(pk=citizen.resident_id)
        assert person.name == citizen.name
        assert person.birth_date == citizen.birth
        assert person.gender == ("1" if citizen.male else "2")
        assert person.source_department is not None
        assert person.source_department.code == "luan-gaj"
    for enterprise in identity_demo.ENTERPRISES:
        entity = LegalEntity.objects.get(pk=enterprise.credit_code)
        assert entity.name == enterprise.name
        assert entity.legal_representative_id == identity_demo.CITIZENS[2].resident_id
    job = ImportJob.objects.get()
    assert (job.status, job.inserted, job.updated, job.error_count) == (JobStatus.SUCCEEDED, 2, 1, 4)
    run = ReconciliationRun.objects.get()
    assert run.status == JobStatus.SUCCEEDED
    assert run.mismatched == 4
    assert run.missing == 2
    assert (
        DataQualityTask.objects.filter(
            status=QualityTaskStatus.OPEN, assigned_department__code="luan-gaj"
        ).count()
        == 4
    )
    assert StandardAddress.objects.count() > 100
    assert set(IndicatorSeries.objects.values_list("code", flat=True)) == {
        "GDP",
        "RETAIL",
        "FAI_GROWTH",
        "POP_YEAR_END",
    }
    snapshot = sorted(
        Person.objects.values_list("resident_id", "name", "household_address", "marital_status")
    )
    again = demo.load(people=300)
    assert not again.changed
    assert (
        sorted(Person.objects.values_list("resident_id", "name", "household_address", "marital_status"))
        == snapshot
    )
    more = demo.load(people=400)
    assert more.people_created == 100  # the first 300 are the same people


def test_the_demo_population_is_valid_and_deterministic() -> None:
    from tongban.basedata import validators

    regions = divisions.region_codes()
    dates = validators.date_table()
    people = list(demo.population(2000))
    assert people == list(demo.population(2000))
    assert len({p.resident_id for p in people}) == 2000
    for person in people:
        assert validators.resident_id(person.resident_id, regions, dates) == person.resident_id
        assert (int(person.resident_id[16]) % 2 == 1) == person.male
        assert person.resident_id[6:14] == person.birth.strftime("%Y%m%d")
    assert [p.name for p in people[:3]] == [c.name for c in identity_demo.CITIZENS]
    assert any(p.resident_id.startswith("3424") for p in people)  # IDs issued before 2000 in 六安地区


@pytest.mark.django_db
def test_seed_demo_takes_the_number_of_people() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", "--people", "50", stdout=out, stderr=err)
    assert "50 people" in out.getvalue()
    assert Person.objects.count() == 50 + 2  # and the demo import's two newborns
    with pytest.raises(CommandError):
        call_command("seed_demo", "--people", "-1", stdout=io.StringIO())
