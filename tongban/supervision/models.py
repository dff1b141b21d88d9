"""Electronic supervision (电子监察, issue 6): the policy, the alerts the sweep keeps, and the notes.

The level of every open case and stage is computed from its deadline whenever it is read
(``supervision.levels``); the periodic sweep (``supervision.sweep``) writes what it found into
``Alert`` rows, one open row per (case, trigger, stage), so a level change, an escalation and a
supervisor's note have something to hang on. ``AlertChange`` is each alert's history of levels.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.supervision.choices import CloseReason, Level, SweepOrigin, Trigger


class SupervisionPolicy(models.Model):
    """The thresholds, in working days; one row (pk 1), edited by an administrator."""

    warning_days = models.PositiveSmallIntegerField(
        _("warning when at most this many working days remain"),
        default=2,
        validators=[MaxValueValidator(30)],
    )
    red_days = models.PositiveSmallIntegerField(
        _("red card when overdue by at least this many working days"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    unaccepted_days = models.PositiveSmallIntegerField(
        _("working days an application may wait for acceptance"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("supervision policy")
        verbose_name_plural = _("supervision policies")
        constraints = [
            models.CheckConstraint(name="supervision_policy_singleton", condition=Q(pk=1)),
            models.CheckConstraint(
                name="supervision_policy_ranges",
                condition=Q(warning_days__lte=30, red_days__gte=1, red_days__lte=60)
                & Q(unaccepted_days__gte=1, unaccepted_days__lte=30),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.warning_days}/{self.red_days}/{self.unaccepted_days}"

    @property
    def audit_label(self) -> str:
        return "supervision policy"


class Sweep(models.Model):
    """One run of the sweep, with what it changed (the board says when the last one ran)."""

    origin = models.CharField(_("origin"), max_length=16, choices=SweepOrigin.choices)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    opened = models.PositiveIntegerField(_("alerts opened"), default=0)
    changed = models.PositiveIntegerField(_("alerts whose level changed"), default=0)
    closed = models.PositiveIntegerField(_("alerts closed"), default=0)
    notified = models.PositiveIntegerField(_("digest messages sent"), default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("supervision sweep")
        verbose_name_plural = _("supervision sweeps")

    def __str__(self) -> str:
        return f"sweep {self.pk} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def audit_label(self) -> str:
        return f"supervision sweep {self.pk}"


class Alert(models.Model):
    """One finding about a case (or one of its stages), from the sweep that opened it to its close."""

    # Indexes and constraints are few on purpose: the sweep writes these rows by the hundred
    # thousand, and PostgreSQL checks every foreign-key constraint row by row at commit. The case
    # is a real constraint (its index is the (case, trigger) one); the stage and the sweep are
    # references the sweep itself keeps right (ADR 18).
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+", db_index=False)
    stage = models.ForeignKey(
        "cases.CaseStage",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # The stage's id or 0: the open-alert key needs a non-null column on every database.
    stage_key = models.BigIntegerField(default=0)
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    level = models.SmallIntegerField(_("level"), choices=Level.choices)
    opened_at = models.DateTimeField(_("opened at"))
    raised_at = models.DateTimeField(_("last raised at"))
    changed_at = models.DateTimeField(_("last changed at"))
    changed_by = models.ForeignKey(
        Sweep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_reason = models.CharField(
        _("closed because"), max_length=16, choices=CloseReason.choices, blank=True
    )
    notified_level = models.SmallIntegerField(
        _("level last escalated"), choices=Level.choices, default=Level.NORMAL
    )

    class Meta:
        ordering = ["-level", "opened_at", "pk"]
        verbose_name = _("supervision alert")
        verbose_name_plural = _("supervision alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "trigger", "stage_key"],
                condition=Q(closed_at__isnull=True),
                name="supervision_one_open_alert",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "trigger"], name="supervision_alert_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.trigger} {self.level}"

    @property
    def audit_label(self) -> str:
        return f"supervision alert {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AlertChange(models.Model):
    """The alert's level from ``at`` on (the first row is its opening)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="changes")
    level = models.SmallIntegerField(_("level"), choices=Level.choices)
    at = models.DateTimeField(_("time"))
    sweep = models.ForeignKey(
        Sweep,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["alert", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.level}"


class AlertNote(models.Model):
    """A supervisor's handling note on an alert (督办意见); adding one is audited."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(_("note"))
    closes = models.BooleanField(_("closes the alert"), default=False)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        ordering = ["alert", "written_at", "pk"]
        verbose_name = _("handling note")
        verbose_name_plural = _("handling notes")

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.text[:30]}"

    @property
    def audit_label(self) -> str:
        return f"supervision note {self.pk}"
