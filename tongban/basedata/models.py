"""The base databases (基础数据库): population, legal entities, divisions and addresses, indicators.

Records are keyed by their national identifier (resident ID, unified social credit code, GB/T 2260
code), which is also the key of the exchange's queries. They are written only by the import jobs
and the data-quality workflow in this app's services, never edited ad hoc; every write is audited
per job or task, not per row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.basedata import codes
from tongban.basedata.choices import (
    Dataset,
    DivisionLevel,
    EntityStatus,
    EntityType,
    FileFormat,
    Gender,
    IndicatorFrequency,
    JobStatus,
    LifeStatus,
    MaritalStatus,
    QualityTaskStatus,
)
from tongban.core.masking import mask_name, mask_resident_id


class Division(models.Model):
    """An administrative division: GB/T 2260 (6 digits) or the statistical township (9) and village (12)."""

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("administrative division")
        verbose_name_plural = _("administrative divisions")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Person(models.Model):
    """One row of the population base (人口基础信息库), keyed by the 18-digit resident ID."""

    resident_id = models.CharField(_("resident ID number"), max_length=18, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("date of birth"))
    ethnicity = models.CharField(
        _("ethnicity"), max_length=2, help_text=_("GB/T 3304 code, e.g. 01 for Han.")
    )
    household_address = models.CharField(_("household registration address"), max_length=255)
    division_code = models.CharField(_("division code"), max_length=12)
    marital_status = models.CharField(_("marital status"), max_length=2, choices=MaritalStatus.choices)
    life_status = models.CharField(
        _("alive or deceased"), max_length=16, choices=LifeStatus.choices, default=LifeStatus.ALIVE
    )
    # Written only by the merge of an import (the job's department) and never by hand, so the database
    # keeps no constraint or index on it: on a base of millions both cost more than the rest of a load
    # (docs/adr/0015). Departments are never deleted, only deactivated.
    source_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source department"),
        db_index=False,
        db_constraint=False,
    )
    source_updated_at = models.DateTimeField(_("updated at the source"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated here"))

    class Meta:
        ordering = ["resident_id"]
        verbose_name = _("person")
        verbose_name_plural = _("population")
        # One index serves equality and prefix (a county's people: LIKE '341502%') on PostgreSQL.
        indexes = [
            models.Index(
                fields=["division_code"], name="basedata_person_division", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{mask_name(self.name)} {mask_resident_id(self.resident_id)}"


class LegalEntity(models.Model):
    """One row of the legal-entity base (法人单位基础信息库), keyed by the unified social credit code."""

    credit_code = models.CharField(_("unified social credit code"), max_length=18, primary_key=True)
    name = models.CharField(_("name"), max_length=200)
    entity_type = models.CharField(_("type"), max_length=32, choices=EntityType.choices)
    legal_representative_id = models.CharField(_("legal representative's resident ID"), max_length=18)
    legal_representative_name = models.CharField(_("legal representative"), max_length=100)
    registered_capital = models.DecimalField(
        _("registered capital (10,000 yuan)"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    address = models.CharField(_("address"), max_length=255)
    division_code = models.CharField(_("division code"), max_length=12)
    established_on = models.DateField(_("established on"))
    status = models.CharField(_("status"), max_length=16, choices=EntityStatus.choices)
    business_scope = models.TextField(_("business scope"), blank=True)
    registration_authority = models.CharField(_("registration authority"), max_length=200)
    source_department = models.ForeignKey(  # as Person.source_department: written by the merge only
        "identity.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source department"),
        db_index=False,
        db_constraint=False,
    )
    source_updated_at = models.DateTimeField(_("updated at the source"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated here"))

    class Meta:
        ordering = ["credit_code"]
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        indexes = [
            models.Index(
                fields=["division_code"], name="basedata_entity_division", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.credit_code} {self.name}"


class StandardAddress(models.Model):
    """A standard address (标准地址): one door plate in a division, with its parts."""

    code = models.CharField(_("address code"), max_length=32, primary_key=True)
    division_code = models.CharField(_("division code"), max_length=12, db_index=True)
    road = models.CharField(_("road or street"), max_length=100)
    house_number = models.CharField(_("door number"), max_length=50)
    building = models.CharField(_("building, unit and room"), max_length=100, blank=True)
    full_address = models.CharField(_("full address"), max_length=255)
    postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=10, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=10, decimal_places=6, null=True, blank=True)
    updated_at = models.DateTimeField(_("updated here"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("standard address")
        verbose_name_plural = _("standard addresses")

    def __str__(self) -> str:
        return self.full_address


class IndicatorSeries(models.Model):
    """A macro-economic indicator (宏观经济指标), e.g. GDP or retail sales, kept by one department."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    unit = models.CharField(_("unit"), max_length=32)
    frequency = models.CharField(_("frequency"), max_length=16, choices=IndicatorFrequency.choices)
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("indicator series")
        verbose_name_plural = _("indicator series")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class IndicatorValue(models.Model):
    """One figure of a series: a period (2025, 2025Q1, 2025-03) in one division."""

    series = models.ForeignKey(IndicatorSeries, on_delete=models.CASCADE, related_name="values")
    period = models.CharField(_("period"), max_length=7)
    division_code = models.CharField(_("division code"), max_length=12)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    updated_at = models.DateTimeField(_("updated here"))

    class Meta:
        ordering = ["series", "period", "division_code"]
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        constraints = [
            models.UniqueConstraint(
                fields=["series", "period", "division_code"], name="basedata_value_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.series_id} {self.period} {self.division_code}: {self.value}"


class ImportJob(models.Model):
    """One file loaded into a base database, run as a background job with its progress and report."""

    dataset = models.CharField(_("dataset"), max_length=16, choices=Dataset.choices)
    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    file = models.FileField(_("file"), upload_to="basedata/imports/")
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    source_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("source department"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    inserted = models.PositiveIntegerField(_("records added"), default=0)
    updated = models.PositiveIntegerField(_("records changed"), default=0)
    unchanged = models.PositiveIntegerField(_("records already up to date"), default=0)
    error_count = models.PositiveIntegerField(_("rows refused"), default=0)
    error_report = models.FileField(_("error report"), upload_to="basedata/reports/", blank=True)
    message = models.TextField(_("message"), blank=True)
    file_format = models.CharField(_("file format"), max_length=8, choices=FileFormat.choices, blank=True)
    encoding = models.CharField(_("text encoding"), max_length=16, blank=True)
    columns = models.JSONField(
        _("columns recognised"), default=list, blank=True, help_text=_("Field names, in file order.")
    )
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"import {self.pk} ({self.dataset}, {self.status})"

    @property
    def audit_label(self) -> str:
        return f"import job {self.pk}"


class ReconciliationRun(models.Model):
    """比对核准: one comparison of another department's records with a base database, field by field."""

    dataset = models.CharField(_("base database"), max_length=16, choices=Dataset.choices)
    fields = models.JSONField(_("fields compared"), default=list)
    source_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("department of the other source"),
    )
    file = models.FileField(_("file of the other source"), upload_to="basedata/reconciliation/")
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    compared = models.PositiveIntegerField(_("records compared"), default=0)
    matched = models.PositiveIntegerField(_("records that agree"), default=0)
    mismatched = models.PositiveIntegerField(_("records that differ"), default=0)
    missing = models.PositiveIntegerField(_("records not in the base"), default=0)
    error_count = models.PositiveIntegerField(_("rows refused"), default=0)
    message = models.TextField(_("message"), blank=True)
    file_format = models.CharField(_("file format"), max_length=8, choices=FileFormat.choices, blank=True)
    encoding = models.CharField(_("text encoding"), max_length=16, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    tasks_created = models.PositiveIntegerField(_("data-quality tasks opened"), default=0)
    error_report = models.FileField(_("error report"), upload_to="basedata/reports/", blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({self.dataset})"

    @property
    def audit_label(self) -> str:
        return f"reconciliation run {self.pk}"


class DataQualityTask(models.Model):
    """A difference found by a reconciliation, for the department responsible for the base record."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="tasks")
    dataset = models.CharField(_("base database"), max_length=16, choices=Dataset.choices)
    record_key = models.CharField(_("record"), max_length=32, help_text=_("Resident ID or credit code."))
    field = models.CharField(_("field"), max_length=64)
    base_value = models.CharField(_("value in the base"), max_length=255, blank=True)
    source_value = models.CharField(_("value in the other source"), max_length=255, blank=True)
    assigned_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("responsible department"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=QualityTaskStatus.choices, default=QualityTaskStatus.OPEN
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("data-quality task")
        verbose_name_plural = _("data-quality tasks")
        indexes = [models.Index(fields=["assigned_department", "status"], name="basedata_task_queue")]
        constraints = [
            # One open task per record and field: a second run finding the same difference adds none.
            models.UniqueConstraint(
                fields=["dataset", "record_key", "field"],
                condition=models.Q(status=QualityTaskStatus.OPEN),
                name="basedata_task_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.record_key} {self.field}"

    @property
    def audit_label(self) -> str:
        return f"data-quality task {self.pk}"

    def _label(self, value: str) -> str:
        tables: dict[str, dict[str, str]] = {
            "gender": codes.GENDER_LABELS,
            "marital_status": codes.MARITAL_LABELS,
            "life_status": codes.LIFE_LABELS,
            "ethnicity": codes.ETHNICITY_NAMES,
            "entity_type": codes.ENTITY_TYPE_LABELS,
            "status": codes.ENTITY_STATUS_LABELS,
        }
        label = tables.get(self.field, {}).get(value)
        return f"{value} {label}" if label else value

    @property
    def base_label(self) -> str:
        return self._label(self.base_value)

    @property
    def source_label(self) -> str:
        return self._label(self.source_value)

    @property
    def masked_key(self) -> str:
        return mask_resident_id(self.record_key) if self.dataset == Dataset.POPULATION else self.record_key

    @property
    def field_label(self) -> str:
        model = {Dataset.POPULATION: Person, Dataset.LEGAL_ENTITY: LegalEntity}.get(Dataset(self.dataset))
        try:
            return (
                str(getattr(model._meta.get_field(self.field), "verbose_name", self.field))
                if model
                else self.field
            )
        except LookupError:
            return self.field
