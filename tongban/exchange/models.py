"""The data-sharing exchange (数据共享交换): grants, sources, upstream systems and the call record.

A consumer department applies for a catalogued resource (``AccessGrant``); its systems then call
the exchange API, which reads the resource from its ``ResourceSource`` (a base database or a
registered ``UpstreamSystem``) and returns only the granted items. Every call, answered or
refused, leaves one ``CallRecord``, written before the answer leaves the server.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.core.models import TimeStampedModel
from tongban.exchange.choices import GrantStatus, Operation, Outcome, SourceKind

OPEN_GRANT_STATUSES = (GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.SUSPENDED)


class AccessGrant(TimeStampedModel):
    """A consumer department's right to some items of a resource, for a purpose, for a period."""

    consumer = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consumer department"),
    )
    resource = models.ForeignKey(
        "resources.DataResource", on_delete=models.PROTECT, related_name="+", verbose_name=_("resource")
    )
    items = models.JSONField(_("data items"), default=list, help_text=_("Keys of the granted data items."))
    purpose = models.TextField(_("purpose"))
    service_items = models.ManyToManyField(
        "catalog.ServiceItem", blank=True, related_name="+", verbose_name=_("for service items")
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    rate_per_minute = models.PositiveIntegerField(_("calls per minute"), default=600)
    status = models.CharField(
        _("status"), max_length=16, choices=GrantStatus.choices, default=GrantStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(pgettext_lazy("exchange", "decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        constraints = [
            # One open application or grant per consumer and resource: the exchange reads one row.
            models.UniqueConstraint(
                fields=["consumer", "resource"],
                condition=Q(status__in=OPEN_GRANT_STATUSES),
                name="exchange_one_open_grant",
            ),
            models.CheckConstraint(
                name="exchange_grant_period", condition=Q(valid_until__gte=models.F("valid_from"))
            ),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk} ({self.status})"

    @property
    def audit_label(self) -> str:
        return f"access grant {self.pk}"


class UpstreamSystem(TimeStampedModel):
    """A department's own system that serves a resource over HTTP behind the exchange."""

    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    name = models.CharField(_("name"), max_length=100)
    base_url = models.URLField(_("base URL"))
    api_key = models.CharField(
        _("API key"), max_length=200, blank=True, help_text=_("Sent as a bearer token; never shown again.")
    )
    timeout_seconds = models.FloatField(_("timeout (seconds)"), default=2.0)
    retries = models.PositiveSmallIntegerField(_("retries"), default=1)
    failure_threshold = models.PositiveSmallIntegerField(_("failures before the circuit opens"), default=5)
    reset_seconds = models.PositiveIntegerField(_("seconds before trying an open circuit again"), default=30)
    is_active = models.BooleanField(pgettext_lazy("exchange", "active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("upstream system")
        verbose_name_plural = _("upstream systems")

    def __str__(self) -> str:
        return self.name

    @property
    def audit_label(self) -> str:
        return f"upstream system {self.pk}"


class ResourceSource(TimeStampedModel):
    """Where the exchange reads a resource: a base database (by dataset), an upstream system, or the
    electronic licence library (a licence by holder and type, ``licences``)."""

    resource = models.OneToOneField(
        "resources.DataResource", on_delete=models.CASCADE, related_name="+", verbose_name=_("resource")
    )
    kind = models.CharField(pgettext_lazy("exchange", "source"), max_length=16, choices=SourceKind.choices)
    dataset = models.CharField(
        _("base dataset"), max_length=16, blank=True, help_text=_("population or legal_entity.")
    )
    upstream = models.ForeignKey(
        UpstreamSystem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sources",
        verbose_name=_("upstream system"),
    )
    path = models.CharField(
        _("upstream path"),
        max_length=200,
        blank=True,
        help_text=_("Appended to the base URL; {key} is replaced."),
    )

    class Meta:
        verbose_name = _("resource source")
        verbose_name_plural = _("resource sources")

    def __str__(self) -> str:
        return f"{self.resource_id} from {self.kind}"


class CallRecord(models.Model):
    """One exchange call, in the spirit of X-Road's operational monitoring record.

    Inserted in its own transaction before the answer is sent, so no answered call lacks its record.
    On PostgreSQL the table is partitioned by month of ``requested_at`` (migration 0002, command
    ``exchange_partitions``); the references are plain ids without database constraints, so an insert
    takes no lock on the departments or resources it names.
    """

    call_id = models.UUIDField(_("call id"), primary_key=True)
    requested_at = models.DateTimeField(_("requested at"))
    responded_at = models.DateTimeField(_("answered at"))
    latency_ms = models.FloatField(_("latency (ms)"))
    operation = models.CharField(_("operation"), max_length=16, choices=Operation.choices)
    consumer_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("consumer department"),
    )
    client_id = models.CharField(_("calling system"), max_length=100, blank=True)
    on_behalf_of = models.CharField(_("on behalf of"), max_length=64, blank=True)
    case_number = models.CharField(_("case number"), max_length=64, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    resource = models.ForeignKey(
        "resources.DataResource",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("resource"),
    )
    resource_code = models.CharField(_("resource code"), max_length=32, blank=True)
    provider_department_id = models.BigIntegerField(_("provider department"), null=True)
    grant_id = models.BigIntegerField(_("grant"), null=True)
    key_hash = models.CharField(_("key (keyed hash)"), max_length=64, blank=True)
    key_count = models.PositiveIntegerField(_("keys asked"), default=0)
    key_hashes = models.JSONField(_("keys of a batch (keyed hashes)"), default=list, blank=True)
    items = models.JSONField(_("items returned"), default=list)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"))
    request_bytes = models.PositiveIntegerField(_("request size"), default=0)
    response_bytes = models.PositiveIntegerField(_("response size"), default=0)
    upstream_ms = models.FloatField(_("upstream latency (ms)"), null=True)
    request_id = models.CharField(pgettext_lazy("exchange", "request id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("exchange call")
        verbose_name_plural = _("exchange calls")
        # Kept to what the pages read (a consumer's calls, a provider's calls, a time range): every
        # index is one more write per call. On PostgreSQL the time index is a BRIN (migration 0002).
        indexes = [
            models.Index(fields=["consumer_department", "requested_at"], name="exchange_call_consumer"),
            models.Index(fields=["provider_department_id", "requested_at"], name="exchange_call_provider"),
            models.Index(fields=["requested_at"], name="exchange_call_time"),
        ]

    def __str__(self) -> str:
        return f"call {self.call_id}"


class CallStatDay(models.Model):
    """Calls per resource, consumer and day: kept up by a rollup job for the statistics pages."""

    day = models.DateField(pgettext_lazy("exchange", "day"))
    resource = models.ForeignKey(
        "resources.DataResource",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("resource"),
    )
    consumer_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("consumer department"),
    )
    calls = models.PositiveIntegerField(_("calls"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    total_latency_ms = models.FloatField(_("total latency (ms)"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("daily call statistics")
        verbose_name_plural = _("daily call statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "resource", "consumer_department"], name="exchange_stat_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.resource_id} {self.consumer_department_id}: {self.calls}"
