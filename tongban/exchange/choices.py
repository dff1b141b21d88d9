"""Enumerations of the data-sharing exchange."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class GrantStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting the provider")
    ACTIVE = "active", _("Granted")
    REFUSED = "refused", _("Refused")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class SourceKind(models.TextChoices):
    """Where the exchange reads a resource's records."""

    BASEDATA = "basedata", _("The platform's base database")
    UPSTREAM = "upstream", _("A department system over HTTP")


class Operation(models.TextChoices):
    QUERY = "query", _("Query")
    VERIFY = "verify", _("Verify")
    BATCH = "batch", _("Batch query")


class Outcome(models.TextChoices):
    """How a call ended; every refusal is recorded with its error code as well."""

    OK = "ok", _("Answered")
    NOT_FOUND = "not_found", _("No such record")
    REFUSED = "refused", _("Refused")
    ERROR = "error", _("Failed")
