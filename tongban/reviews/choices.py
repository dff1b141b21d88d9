from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Level(models.IntegerChoices):
    """The five levels of 好差评; a level of 2 or less is a bad rating (差评)."""

    VERY_SATISFIED = 5, pgettext_lazy("review level", "Very satisfied")
    SATISFIED = 4, pgettext_lazy("review level", "Satisfied")
    FAIRLY_SATISFIED = 3, pgettext_lazy("review level", "Fairly satisfied")
    DISSATISFIED = 2, pgettext_lazy("review level", "Dissatisfied")
    VERY_DISSATISFIED = 1, pgettext_lazy("review level", "Very dissatisfied")


BAD_LEVEL_MAX = 2  # level <= 2: a bad rating, which opens a rectification
GOOD_LEVEL_MIN = 4  # level >= 4: counts as satisfied in the satisfaction rate


class ReviewChannel(models.TextChoices):
    ONLINE = "online", pgettext_lazy("review channel", "Online")
    ONSITE = "onsite", _("On site")


class ReviewStatus(models.TextChoices):
    VALID = "valid", pgettext_lazy("review status", "Valid")
    ANNULLED = "annulled", _("Annulled on appeal")
    SUPERSEDED = "superseded", _("Superseded by a re-rating")


class RectificationStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("rectification status", "Open")
    CLOSED = "closed", _("Rectified")
    CANCELLED = "cancelled", _("Cancelled (rating annulled)")


class CallbackMethod(models.TextChoices):
    PHONE = "phone", _("Telephone")
    VISIT = "visit", _("In person")
    SMS = "sms", _("Text message")
    OTHER = "other", _("Other")


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting a supervisor")
    UPHELD = "upheld", _("Upheld: rating annulled")
    REJECTED = "rejected", _("Rejected: rating stands")


class AppealGround(models.TextChoices):
    MISTAKEN = "mistaken", _("Mistaken rating (wrong department or item)")
    MALICIOUS = "malicious", _("Malicious rating")


# The indicators of each channel (GB/T 39735 and 国办发〔2019〕51号), scored 1..5 each.
ONLINE_INDICATORS: tuple[tuple[str, Any], ...] = (
    ("overall", _("Overall")),
    ("efficiency", _("Efficiency")),
    ("guide_accuracy", _("Accuracy of the service guide")),
    ("convenience", _("Convenience")),
    ("usability", _("Ease of use of the website")),
)
ONSITE_INDICATORS: tuple[tuple[str, Any], ...] = (
    ("overall", _("Overall")),
    ("efficiency", _("Efficiency")),
    ("service_level", _("Level of service")),
    ("attitude", _("Attitude")),
)


def indicators_of(channel: str) -> tuple[tuple[str, Any], ...]:
    return ONLINE_INDICATORS if channel == ReviewChannel.ONLINE else ONSITE_INDICATORS
