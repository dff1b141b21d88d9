"""Rollup tables of the dashboards (docs/adr/0020-dashboards-and-rollups.md).

The dashboards never read the raw case, review or licence-use tables on a page view: they read
these per-day rows, which ``tongban.dashboards.rollups`` keeps up incrementally. Each row is a sum
over the raw rows of one group, so any period, department and item filter is a sum of rows.
References are plain ids without foreign-key constraints (as the exchange's ``CallStatDay``): a
rollup row never blocks a change of the rows it counts.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WorkingDay(models.Model):
    """Every date with the number of working days up to and including it (core.calendar).

    ``ordinal(b) - ordinal(a)`` is ``calendar.working_days_between(a, b)``, so the rollup counts
    durations in working days in SQL with two joins.
    """

    day = models.DateField(pgettext_lazy("dashboards", "day"), primary_key=True)
    ordinal = models.IntegerField(_("working days up to this day"))
    is_working = models.BooleanField(_("working day"))

    class Meta:
        ordering = ["day"]
        verbose_name = _("working-day index")
        verbose_name_plural = _("working-day index")

    def __str__(self) -> str:
        return f"{self.day}: {self.ordinal}"


class CaseFact(models.Model):
    """One submitted case's contribution to ``CaseDay``: the narrow copy an incremental refresh
    replaces for the cases that changed, and sums per group through its own index."""

    case_id = models.BigIntegerField(_("case"), primary_key=True)
    day = models.DateField(pgettext_lazy("dashboards", "day"))
    department_id = models.BigIntegerField(_("department"))
    item_id = models.BigIntegerField(_("service item"))
    channel = models.CharField(_("channel"), max_length=16)
    submitted = models.SmallIntegerField(_("submitted"), default=0)
    online = models.SmallIntegerField(_("submitted online"), default=0)
    accepted = models.SmallIntegerField(_("accepted"), default=0)
    not_accepted = models.SmallIntegerField(_("not accepted"), default=0)
    withdrawn = models.SmallIntegerField(_("withdrawn"), default=0)
    refused = models.SmallIntegerField(_("refused"), default=0)
    completed = models.SmallIntegerField(_("completed"), default=0)
    decided = models.SmallIntegerField(_("decided after acceptance"), default=0)
    on_time = models.SmallIntegerField(_("decided on time"), default=0)
    finished = models.SmallIntegerField(_("finished"), default=0)
    one_visit = models.SmallIntegerField(_("at most one visit"), default=0)
    duration_days = models.IntegerField(_("working days taken"), default=0)
    promised_days = models.IntegerField(_("working days promised"), default=0)
    materials = models.IntegerField(_("materials"), default=0)
    prefilled = models.IntegerField(_("materials without submission"), default=0)
    visits_saved = models.IntegerField(_("visits saved"), default=0)

    class Meta:
        verbose_name = _("case figures")
        verbose_name_plural = _("case figures")
        indexes = [models.Index(fields=["department_id", "day"], name="dashboards_casefact_dept")]

    def __str__(self) -> str:
        return f"case {self.case_id}"


class CaseDay(models.Model):
    """Cases submitted on one day (Asia/Shanghai) for one item of one department, by channel."""

    day = models.DateField(pgettext_lazy("dashboards", "day"))
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("department"),
    )
    item = models.ForeignKey(
        "catalog.ServiceItem",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("service item"),
    )
    channel = models.CharField(_("channel"), max_length=16)
    submitted = models.PositiveIntegerField(_("submitted"), default=0)
    online = models.PositiveIntegerField(_("submitted online"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    not_accepted = models.PositiveIntegerField(_("not accepted"), default=0)
    withdrawn = models.PositiveIntegerField(_("withdrawn"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    completed = models.PositiveIntegerField(_("completed"), default=0)
    decided = models.PositiveIntegerField(_("decided after acceptance"), default=0)
    on_time = models.PositiveIntegerField(_("decided on time"), default=0)
    finished = models.PositiveIntegerField(_("finished"), default=0)
    one_visit = models.PositiveIntegerField(_("at most one visit"), default=0)
    duration_days = models.PositiveIntegerField(_("working days taken"), default=0)
    promised_days = models.PositiveIntegerField(_("working days promised"), default=0)
    materials = models.PositiveIntegerField(_("materials"), default=0)
    prefilled = models.PositiveIntegerField(_("materials without submission"), default=0)
    visits_saved = models.PositiveIntegerField(_("visits saved"), default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("daily case figures")
        verbose_name_plural = _("daily case figures")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "department", "item", "channel"], name="dashboards_caseday_unique"
            )
        ]
        indexes = [models.Index(fields=["department", "day"], name="dashboards_caseday_dept")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id}/{self.item_id}/{self.channel}: {self.submitted}"


class ReviewDay(models.Model):
    """Valid reviews given on one day about one department, by channel, and their rectifications."""

    day = models.DateField(pgettext_lazy("dashboards", "day"))
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("department"),
    )
    item = models.ForeignKey(
        "catalog.ServiceItem",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("service item"),
    )
    channel = models.CharField(_("channel"), max_length=16)
    reviews = models.PositiveIntegerField(_("reviews"), default=0)
    satisfied = models.PositiveIntegerField(_("satisfied (4 or 5)"), default=0)
    bad = models.PositiveIntegerField(_("bad (1 or 2)"), default=0)
    level_sum = models.PositiveIntegerField(_("sum of levels"), default=0)
    rectified = models.PositiveIntegerField(_("bad reviews rectified"), default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("daily review figures")
        verbose_name_plural = _("daily review figures")
        indexes = [models.Index(fields=["department", "day"], name="dashboards_reviewday_dept")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id}: {self.reviews}"


class LicenceUseDay(models.Model):
    """Uses of electronic licences on one day by one department (null: the holder's own), by kind."""

    day = models.DateField(pgettext_lazy("dashboards", "day"))
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("department"),
    )
    kind = models.CharField(_("use"), max_length=20)
    uses = models.PositiveIntegerField(_("uses"), default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("daily licence uses")
        verbose_name_plural = _("daily licence uses")
        indexes = [models.Index(fields=["department", "day"], name="dashboards_licenceday_dept")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id} {self.kind}: {self.uses}"


class RefreshState(models.Model):
    """How far one rollup has read its source: the watermark of the next incremental refresh."""

    name = models.CharField(_("rollup"), max_length=32, primary_key=True)
    last_changed_at = models.DateTimeField(_("last change read"), null=True, blank=True)
    last_id = models.BigIntegerField(_("last id read"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    full_at = models.DateTimeField(_("last full rebuild"), null=True, blank=True)
    groups = models.PositiveIntegerField(_("groups recomputed last time"), default=0)
    duration_ms = models.FloatField(_("duration of the last refresh (ms)"), default=0)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup states")

    def __str__(self) -> str:
        return self.name
