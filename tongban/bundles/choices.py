"""Enumerations of themed bundles (一件事一次办)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BundleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class OverallStatus(models.TextChoices):
    """The state of a bundle application as a whole, derived from its cases."""

    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("All completed")
    SOME_REFUSED = "some_refused", _("Some items refused or ended")
