from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    """How far a case has gone past (or towards) its time limit; the order is the severity."""

    NORMAL = 0, _("Normal")
    WARNING = 1, _("Warning")
    YELLOW = 2, _("Yellow card")
    RED = 3, _("Red card")


# The CSS class of a row or badge at each level (the board paints red cards red).
LEVEL_CSS = {Level.NORMAL: "normal", Level.WARNING: "warning", Level.YELLOW: "yellow", Level.RED: "red"}
LEVEL_SLUGS = {"normal": Level.NORMAL, "warning": Level.WARNING, "yellow": Level.YELLOW, "red": Level.RED}


class Trigger(models.TextChoices):
    CASE_OVERDUE = "case_overdue", _("Case time limit")
    STAGE_OVERDUE = "stage_overdue", _("Stage time limit")
    UNACCEPTED = "unaccepted", _("Left unaccepted")
    REFUSAL_UNREASONED = "refusal_unreasoned", _("Refusal without reasons")
    FEE_OFF_CATALOGUE = "fee_off_catalogue", _("Fee not in the catalogue")
    NOT_ONLINE = "not_online", _("Not handled online although it should be")


# Clock triggers follow the case: their alerts rise with the time overdue and close by themselves
# when the case moves on. Fact triggers are findings: raised at a fixed level, closed by a supervisor.
CLOCK_TRIGGERS = (Trigger.CASE_OVERDUE, Trigger.STAGE_OVERDUE, Trigger.UNACCEPTED)
FACT_TRIGGERS = (Trigger.REFUSAL_UNREASONED, Trigger.FEE_OFF_CATALOGUE, Trigger.NOT_ONLINE)
FACT_LEVELS = {
    Trigger.REFUSAL_UNREASONED: Level.RED,
    Trigger.FEE_OFF_CATALOGUE: Level.RED,
    Trigger.NOT_ONLINE: Level.YELLOW,
}


class CloseReason(models.TextChoices):
    CLEARED = "cleared", _("Cleared: the case moved on")
    HANDLED = "handled", _("Handled by a supervisor")


class SweepOrigin(models.TextChoices):
    SCHEDULE = "schedule", _("Scheduled")
    MANUAL = "manual", _("Started by hand")
    DEMO = "demo", _("Demo data")
