"""Cases: one application for one service item, from draft to delivery (ADR 11).

A ``Case`` keeps the ``ServiceItemVersion`` it was applied under: the form it was validated against,
the materials it had to bring and the process it goes through never change under it. After
acceptance the version's process is copied into ``CaseStage`` rows, each split into one
``CaseTask`` per department (parallel branches, 并联审批). ``CaseEvent`` is the public timeline
the applicant and the progress lookup see; the audit trail (core) is the complete record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.cases.choices import (
    CaseStatus,
    Channel,
    Decision,
    DeliveryMethod,
    EventKind,
    MaterialOrigin,
    MaterialStatus,
    StageStatus,
    SuspensionKind,
    TaskStatus,
)


class Case(models.Model):
    number = models.CharField(
        _("case number"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Implementation code, date (yyyymmdd) and a 4-digit serial; given at submission."),
    )
    item = models.ForeignKey(
        "catalog.ServiceItem", on_delete=models.PROTECT, related_name="cases", verbose_name=_("service item")
    )
    version = models.ForeignKey(
        "catalog.ServiceItemVersion",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("item version"),
    )
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("responsible department"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases", verbose_name=_("applicant")
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("submitted by"),
        help_text=_("The enterprise's agent or the window clerk, when not the applicant."),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.ONLINE)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.DRAFT, db_index=True
    )
    form_data = models.JSONField(_("application form"), default=dict, blank=True)
    # A snapshot of who applied, as of the application (the account may change later).
    applicant_name = models.CharField(_("applicant name"), max_length=200)
    applicant_id_number = models.CharField(
        _("applicant ID number"), max_length=18, help_text=_("Resident ID or unified social credit code.")
    )
    applicant_phone = models.CharField(_("applicant phone"), max_length=20, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("accepted by"),
    )
    due_at = models.DateTimeField(
        _("promised completion"),
        null=True,
        blank=True,
        help_text=_("Acceptance plus the promised working days, plus any suspension."),
    )
    correction_rounds = models.PositiveSmallIntegerField(_("correction rounds"), default=0)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    decision_opinion = models.TextField(_("decision opinion"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    not_accepted_reason = models.TextField(_("reason for not accepting"), blank=True)
    delivery_method = models.CharField(
        _("delivery method"), max_length=16, choices=DeliveryMethod.choices, blank=True
    )
    delivery_note = models.CharField(
        _("delivery note"),
        max_length=200,
        blank=True,
        help_text=_("Postal tracking number, or who collected."),
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    withdrawn_reason = models.TextField(_("reason for withdrawal"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="cases_idempotency_per_applicant",
            ),
            models.CheckConstraint(
                name="cases_number_after_draft",
                condition=Q(status=CaseStatus.DRAFT) | Q(number__isnull=False, submitted_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="cases_applicant_recent"),
            models.Index(fields=["department", "status"], name="cases_department_status"),
            # The dashboards' incremental refresh finds the cases changed since its watermark.
            models.Index(fields=["updated_at"], name="cases_updated_at"),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    @property
    def audit_label(self) -> str:
        return f"case {self.number or f'draft {self.pk}'}"


class CaseCounter(models.Model):
    """The last serial given for an item on one day; the row lock makes numbers unique."""

    item = models.ForeignKey("catalog.ServiceItem", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "day"], name="cases_counter_item_day")]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.day}: {self.last}"


def _upload_to(instance: CaseMaterial, filename: str) -> str:
    # The stored name is ours: the applicant's file name is kept in ``original_name`` only.
    return f"cases/{instance.case_id}/{instance.sha256[:16]}{instance.extension}"


class CaseMaterial(models.Model):
    """One file given for one material of the case's version, or a material deferred (容缺)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey("catalog.Material", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=MaterialStatus.choices, default=MaterialStatus.PROVIDED
    )
    origin = models.CharField(
        _("origin"), max_length=16, choices=MaterialOrigin.choices, default=MaterialOrigin.APPLICANT
    )
    file = models.FileField(_("file"), upload_to=_upload_to, blank=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    extension = models.CharField(max_length=8, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # For a material fetched instead of uploaded (免提交): where it came from and how it was checked —
    # the licence identifier, its signature check and the holder's authorisation, or the exchange
    # call id and the record it returned (cases.prefill).
    provenance = models.JSONField(_("provenance"), default=dict, blank=True)
    provider = models.CharField(
        _("providing department"),
        max_length=50,
        blank=True,
        help_text=_("The code of the department that holds the fetched material (a visit saved)."),
    )

    class Meta:
        ordering = ["material__sort_order", "material_id", "pk"]
        verbose_name = _("case material")
        verbose_name_plural = _("case materials")

    def __str__(self) -> str:
        return self.original_name or str(self.material_id)

    @property
    def audit_label(self) -> str:
        return f"case material {self.pk}"


class CaseConsent(models.Model):
    """The applicant's consent to fetch materials for this case (one purpose, the fields shown)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=200)
    materials = models.JSONField(
        _("materials consented to"),
        default=list,
        help_text=_('[{"material": id, "source": "e_licence|shared_data", "title": "...", "fields": [...]}]'),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField(_("given at"), auto_now_add=True)

    class Meta:
        ordering = ["case", "given_at", "pk"]
        verbose_name = _("consent to fetch materials")
        verbose_name_plural = _("consents to fetch materials")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.purpose}"


class CaseCorrection(models.Model):
    """A one-time notice (一次性告知): everything the applicant must correct, listed at once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="corrections")
    round = models.PositiveSmallIntegerField(_("round"))
    items = models.JSONField(_("items"), help_text=_('[{"target": "...", "instruction": "..."}]'))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["case", "round"]
        constraints = [models.UniqueConstraint(fields=["case", "round"], name="cases_correction_round")]

    def __str__(self) -> str:
        return f"{self.case_id} round {self.round}"


class CaseStage(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="stages")
    index = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    days = models.PositiveSmallIntegerField(_("time limit (working days)"))
    status = models.CharField(
        _("status"), max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["case", "index"]
        constraints = [models.UniqueConstraint(fields=["case", "index"], name="cases_stage_order")]

    def __str__(self) -> str:
        return self.name


class CaseTask(models.Model):
    """One department's branch of a stage: its opinion (approve or refuse, with reasons)."""

    stage = models.ForeignKey(CaseStage, on_delete=models.CASCADE, related_name="tasks")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="case_tasks",
        verbose_name=_("department"),
    )
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    opinion = models.TextField(_("opinion"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["department", "status"], name="cases_task_queue")]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.stage_id}/{self.department_id}"

    @property
    def audit_label(self) -> str:
        return f"case task {self.pk}"


class CaseSuspension(models.Model):
    """A special procedure (特别程序) during which the case's clock stops."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="suspensions")
    kind = models.CharField(_("kind"), max_length=20, choices=SuspensionKind.choices)
    reason = models.TextField(_("reason"))
    started_at = models.DateTimeField(_("started at"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    working_days = models.PositiveSmallIntegerField(_("working days suspended"), default=0)

    class Meta:
        ordering = ["case", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(ended_at__isnull=True), name="cases_one_open_suspension"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CaseEvent(models.Model):
    """One step of the case's public timeline (what the applicant and the progress lookup see)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=24, choices=EventKind.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["case", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CaseFee(models.Model):
    """A fee charged on a case, as the department recorded it (issue 6: supervised against the catalogue).

    ``in_catalogue`` is decided when the fee is recorded (``cases.services.case_fee_record``): the
    item version charges fees and, when its catalogue entry states amounts, this amount is one of them.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="fees")
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    basis = models.CharField(
        _("basis"), max_length=500, help_text=_("What the fee is for and on what basis.")
    )
    in_catalogue = models.BooleanField(_("in the catalogue"), default=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["case", "recorded_at", "pk"]
        verbose_name = _("case fee")
        verbose_name_plural = _("case fees")
        indexes = [
            models.Index(fields=["case"], condition=Q(in_catalogue=False), name="cases_fee_not_in_catalogue")
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.amount}"

    @property
    def audit_label(self) -> str:
        return f"case fee {self.pk}"
