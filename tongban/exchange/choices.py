"""Enumerations of the data-sharing exchange.

Labels carry the message context "exchange": short words such as "Granted" or "Verify" mean
something else in other apps' catalogues, and Django merges every app's catalogue into one.
"""

from django.db import models
from django.utils.translation import pgettext_lazy


class GrantStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("exchange", "Awaiting the provider")
    ACTIVE = "active", pgettext_lazy("exchange", "Granted")
    REFUSED = "refused", pgettext_lazy("exchange", "Refused")
    SUSPENDED = "suspended", pgettext_lazy("exchange", "Suspended")
    REVOKED = "revoked", pgettext_lazy("exchange", "Revoked")
    EXPIRED = "expired", pgettext_lazy("exchange", "Expired")


class SourceKind(models.TextChoices):
    """Where the exchange reads a resource's records."""

    BASEDATA = "basedata", pgettext_lazy("exchange", "The platform's base database")
    UPSTREAM = "upstream", pgettext_lazy("exchange", "A department system over HTTP")
    LICENCES = "licences", pgettext_lazy("exchange", "The electronic licence library")


class Operation(models.TextChoices):
    QUERY = "query", pgettext_lazy("exchange", "Query")
    VERIFY = "verify", pgettext_lazy("exchange", "Verify")
    BATCH = "batch", pgettext_lazy("exchange", "Batch query")


class Outcome(models.TextChoices):
    """How a call ended; every refusal is recorded with its error code as well."""

    OK = "ok", pgettext_lazy("exchange", "Answered")
    NOT_FOUND = "not_found", pgettext_lazy("exchange", "No such record")
    REFUSED = "refused", pgettext_lazy("exchange", "Refused")
    ERROR = "error", pgettext_lazy("exchange", "Failed")
