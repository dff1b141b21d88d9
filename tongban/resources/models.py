"""The data resource catalogue (政务信息资源目录) and its two companion lists (三清单).

Each department registers the data it holds as a ``DataResource`` with the GB/T 21063 core
metadata and its data items; the catalogue office reviews and publishes it. The demand list
(``ResourceDemand``) says which department needs which data for which service item; the
responsibility list (``ResourceResponsibility``) says who collects, maintains and answers for it.
Written only by ``resources.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.core.models import TimeStampedModel
from tongban.resources.choices import (
    OPEN_CORRECTION_STATUSES,
    CorrectionStatus,
    DataType,
    DemandStatus,
    Duty,
    OpenType,
    ResourceCategory,
    ResourceFormat,
    ResourceStatus,
    SharingType,
    UpdateCycle,
)


class DataResource(TimeStampedModel):
    """One catalogued data resource with the GB/T 21063.3 core metadata.

    ``code`` is the resource code: the classification (前段码: 类 1 digit, 项 2, 目 3, 细目 0-3) and
    a six-digit sequence number (后段码), as ``101001001/000001``. Not shared ⇒ not open.
    """

    code = models.CharField(_("resource code"), max_length=32, unique=True)
    category = models.CharField(_("category (类)"), max_length=1, choices=ResourceCategory.choices)
    item_code = models.CharField(_("item (项)"), max_length=2)
    heading_code = models.CharField(_("heading (目)"), max_length=3)
    subheading_code = models.CharField(_("sub-heading (细目)"), max_length=3, blank=True)
    name = models.CharField(_("name"), max_length=200)
    provider = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="data_resources",
        verbose_name=_("provider"),
    )
    provider_code = models.CharField(
        _("provider code"), max_length=18, help_text=_("The provider's unified social credit code.")
    )
    summary = models.TextField(_("summary"))
    format = models.CharField(_("format"), max_length=16, choices=ResourceFormat.choices)
    sharing_type = models.CharField(_("sharing type"), max_length=16, choices=SharingType.choices)
    sharing_conditions = models.TextField(
        _("sharing conditions"), blank=True, help_text=_("Required when shared on conditions.")
    )
    not_shared_basis = models.TextField(
        _("basis for not sharing"), blank=True, help_text=_("The law or rule; required when not shared.")
    )
    sharing_modes = models.JSONField(_("sharing modes"), default=list, blank=True)
    open_type = models.CharField(_("open type"), max_length=16, choices=OpenType.choices)
    open_conditions = models.TextField(_("opening conditions"), blank=True)
    update_cycle = models.CharField(_("update cycle"), max_length=16, choices=UpdateCycle.choices)
    published_on = models.DateField(_("publish date"), null=True, blank=True)
    related = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="+", verbose_name=_("related resources")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ResourceStatus.choices, default=ResourceStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted for review at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    retired_at = models.DateTimeField(pgettext_lazy("resources", "retired at"), null=True, blank=True)
    retire_reason = models.TextField(_("reason for retiring"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("data resource")
        verbose_name_plural = _("data resources")
        indexes = [models.Index(fields=["status", "provider"], name="resources_status_provider")]
        constraints = [
            models.CheckConstraint(
                name="resources_not_shared_not_open",
                condition=~Q(sharing_type=SharingType.NOT_SHARED) | Q(open_type=OpenType.NOT_OPEN),
            ),
            models.CheckConstraint(
                name="resources_conditional_has_conditions",
                condition=~Q(sharing_type=SharingType.CONDITIONAL) | ~Q(sharing_conditions=""),
            ),
            models.CheckConstraint(
                name="resources_not_shared_has_basis",
                condition=~Q(sharing_type=SharingType.NOT_SHARED) | ~Q(not_shared_basis=""),
            ),
            models.CheckConstraint(
                name="resources_published_has_date",
                condition=Q(status__in=[ResourceStatus.DRAFT, ResourceStatus.IN_REVIEW])
                | Q(published_on__isnull=False),
            ),
            # One live resource of a name per provider; a retired one frees its name.
            models.UniqueConstraint(
                fields=["provider", "name"],
                condition=~Q(status=ResourceStatus.RETIRED),
                name="resources_name_unique_per_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def audit_label(self) -> str:
        return f"data resource {self.code}"

    @property
    def classification(self) -> str:
        """前段码: 类 + 项 + 目 + 细目."""
        return f"{self.category}{self.item_code}{self.heading_code}{self.subheading_code}"


class ResourceCodeCounter(models.Model):
    """The last 后段码 handed out under one classification (前段码); see ``services._next_code``."""

    classification = models.CharField(_("classification"), max_length=9, unique=True)
    last = models.PositiveIntegerField(_("last sequence number"), default=0)

    class Meta:
        verbose_name = _("resource code counter")
        verbose_name_plural = _("resource code counters")

    def __str__(self) -> str:
        return f"{self.classification}/{self.last:06d}"


class DataItem(models.Model):
    """信息项: one field of a resource. ``key`` is what the exchange API names it; one item is the key."""

    resource = models.ForeignKey(DataResource, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(_("key"), max_length=64, help_text=_("The field's name in the exchange API."))
    name = models.CharField(_("name"), max_length=100)
    data_type = models.CharField(_("data type"), max_length=16, choices=DataType.choices)
    length = models.PositiveIntegerField(_("length"), null=True, blank=True)
    sensitive = models.BooleanField(_("sensitive"), default=False)
    is_key = models.BooleanField(_("look-up key"), default=False)
    description = models.CharField(_("description"), max_length=255, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["resource", "sort_order", "pk"]
        verbose_name = _("data item")
        verbose_name_plural = _("data items")
        constraints = [
            models.UniqueConstraint(fields=["resource", "key"], name="resources_item_key_unique"),
            models.UniqueConstraint(
                fields=["resource"], condition=Q(is_key=True), name="resources_one_key_item"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id}.{self.key}"


class ResourceCorrection(TimeStampedModel):
    """目录变更: a proposed correction of a published resource, reviewed before it replaces the live one.

    The published resource keeps serving unchanged while its correction is edited and reviewed;
    ``services.correction_apply`` copies ``data`` and ``items`` onto it. Published data items may be
    added and described anew, never removed or retyped (the exchange's grants name them).
    """

    resource = models.ForeignKey(
        DataResource, on_delete=models.CASCADE, related_name="corrections", verbose_name=_("resource")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CorrectionStatus.choices, default=CorrectionStatus.DRAFT
    )
    reason = models.TextField(_("reason for the correction"))
    data = models.JSONField(_("proposed metadata"), default=dict)
    items = models.JSONField(_("proposed data items"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted for review at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("resource correction")
        verbose_name_plural = _("resource corrections")
        constraints = [
            models.UniqueConstraint(
                fields=["resource"],
                condition=Q(status__in=OPEN_CORRECTION_STATUSES),
                name="resources_one_open_correction",
            )
        ]

    def __str__(self) -> str:
        return f"correction {self.pk} of {self.resource_id}"

    @property
    def audit_label(self) -> str:
        return f"correction {self.pk} of data resource {self.resource_id}"


class ResourceDemand(TimeStampedModel):
    """需求清单: a department needs a resource (or data not yet catalogued) for its service items."""

    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("department in need"),
    )
    resource = models.ForeignKey(
        DataResource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demands",
        verbose_name=_("resource"),
    )
    description = models.CharField(
        _("data needed"), max_length=255, blank=True, help_text=_("When the data is not catalogued yet.")
    )
    items = models.JSONField(_("data items needed"), default=list, blank=True)
    service_items = models.ManyToManyField(
        "catalog.ServiceItem", blank=True, related_name="+", verbose_name=_("for service items")
    )
    purpose = models.TextField(_("purpose"))
    status = models.CharField(
        _("status"), max_length=16, choices=DemandStatus.choices, default=DemandStatus.OPEN
    )
    answer = models.TextField(_("answer"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(pgettext_lazy("resources", "answered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("data demand")
        verbose_name_plural = _("demand list")
        constraints = [
            models.CheckConstraint(
                name="resources_demand_names_its_data",
                condition=Q(resource__isnull=False) | ~Q(description=""),
            ),
        ]

    def __str__(self) -> str:
        return f"demand {self.pk}"

    @property
    def audit_label(self) -> str:
        return f"data demand {self.pk}"


class ResourceResponsibility(TimeStampedModel):
    """责任清单: who collects, maintains, answers for or serves a resource, and how to reach them."""

    resource = models.ForeignKey(DataResource, on_delete=models.CASCADE, related_name="responsibilities")
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    duty = models.CharField(_("duty"), max_length=16, choices=Duty.choices)
    contact_name = models.CharField(_("contact"), max_length=50)
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["resource", "duty", "pk"]
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibility list")
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "department", "duty"], name="resources_responsibility_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.duty} {self.department_id}"
