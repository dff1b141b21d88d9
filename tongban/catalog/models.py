"""The service-item catalogue: stable items, their immutable published versions and materials.

A ``ServiceItem`` is the identity of a service as one department implements it (basic code,
implementation code). Everything the public reads about it lives in a ``ServiceItemVersion``:
a draft is edited, published once and never changed again, because cases keep the version they
were applied under. Changing a published item means drafting a new version (``services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tongban.catalog.choices import (
    ItemLevel,
    ItemType,
    MaterialForm,
    MaterialSource,
    OnlineDepth,
    ResultType,
    ServiceObject,
    ThemeKind,
    VersionStatus,
    Visits,
)
from tongban.core.models import TimeStampedModel


class Theme(models.Model):
    """A life event (出生, 退休…) or an enterprise stage (开办, 注销…) that items are grouped under."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40)
    kind = models.CharField(_("kind"), max_length=20, choices=ThemeKind.choices)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["kind", "sort_order", "code"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return self.name


class ServiceItem(TimeStampedModel):
    """One service as implemented by one department (实施清单 entry)."""

    basic_code = models.CharField(
        _("basic code"), max_length=32, help_text=_("The same at every level for the same service.")
    )
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="service_items",
        verbose_name=_("implementing department"),
    )
    implementation_code = models.CharField(
        _("implementation code"),
        max_length=50,
        unique=True,
        help_text=_("The implementing department's credit code followed by the item digits."),
    )
    current_version = models.OneToOneField(
        "ServiceItemVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current published version"),
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        ordering = ["implementation_code"]
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        constraints = [
            models.UniqueConstraint(fields=["department", "basic_code"], name="catalog_item_basic_per_dept"),
        ]

    def __str__(self) -> str:
        return self.implementation_code

    @property
    def audit_label(self) -> str:
        return f"service item {self.implementation_code}"

    @property
    def is_published(self) -> bool:
        return self.current_version_id is not None


class ServiceItemVersion(TimeStampedModel):
    """Everything the national schema says about an item, as of one version."""

    item = models.ForeignKey(
        ServiceItem, on_delete=models.PROTECT, related_name="versions", verbose_name=_("service item")
    )
    number = models.PositiveIntegerField(_("version number"))
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    name = models.CharField(_("name"), max_length=200)
    item_type = models.CharField(_("item type"), max_length=32, choices=ItemType.choices)
    level = models.CharField(_("level"), max_length=16, choices=ItemLevel.choices)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    conditions = models.TextField(_("acceptance conditions"), blank=True)
    statutory_days = models.PositiveSmallIntegerField(
        _("statutory time limit (working days)"), null=True, blank=True
    )
    promised_days = models.PositiveSmallIntegerField(
        _("promised time limit (working days)"), null=True, blank=True
    )
    fee_charged = models.BooleanField(_("fee charged"), default=False)
    fee_amount = models.CharField(_("fee amount"), max_length=200, blank=True)
    fee_basis = models.TextField(_("fee basis"), blank=True)
    visits = models.PositiveSmallIntegerField(_("visits needed"), choices=Visits.choices, default=Visits.ONE)
    online_depth = models.PositiveSmallIntegerField(
        _("online depth"), choices=OnlineDepth.choices, default=OnlineDepth.INFORMATION
    )
    channels = models.JSONField(_("channels"), default=list, blank=True)
    window_address = models.CharField(_("window address"), max_length=255, blank=True)
    window_hours = models.CharField(_("window hours"), max_length=255, blank=True)
    consultation_phone = models.CharField(_("consultation phone"), max_length=50, blank=True)
    complaint_phone = models.CharField(_("complaint phone"), max_length=50, blank=True)
    result_type = models.CharField(
        _("result type"), max_length=16, choices=ResultType.choices, default=ResultType.OTHER
    )
    result_name = models.CharField(_("result name"), max_length=200, blank=True)
    service_object = models.CharField(
        _("service object"), max_length=16, choices=ServiceObject.choices, default=ServiceObject.PERSON
    )
    themes = models.ManyToManyField(Theme, blank=True, related_name="versions", verbose_name=_("themes"))
    form_schema = models.JSONField(
        _("application form"),
        default=list,
        blank=True,
        help_text=_("The fields of the application form, checked by catalog.forms_schema."),
    )
    process = models.JSONField(
        _("process definition"),
        default=list,
        blank=True,
        help_text=_("The ordered stages and their departments, checked by catalog.processes."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        ordering = ["item", "-number"]
        verbose_name = _("service item version")
        verbose_name_plural = _("service item versions")
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="catalog_version_number_unique"),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status=VersionStatus.PUBLISHED),
                name="catalog_one_published_version",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status=VersionStatus.DRAFT),
                name="catalog_one_draft_version",
            ),
            models.CheckConstraint(
                name="catalog_time_limits_positive",
                condition=(Q(statutory_days__isnull=True) | Q(statutory_days__gt=0))
                & (Q(promised_days__isnull=True) | Q(promised_days__gt=0)),
            ),
            models.CheckConstraint(
                name="catalog_promised_within_statutory",
                condition=Q(promised_days__isnull=True)
                | Q(statutory_days__isnull=True)
                | Q(promised_days__lte=F("statutory_days")),
            ),
            models.CheckConstraint(
                name="catalog_published_has_time_limits",
                condition=Q(status=VersionStatus.DRAFT)
                | Q(statutory_days__isnull=False, promised_days__isnull=False, published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    @property
    def audit_label(self) -> str:
        return f"service item version {self.item_id}/v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class Material(models.Model):
    """A material the applicant provides (or the platform fetches) for one version of an item."""

    version = models.ForeignKey(
        ServiceItemVersion, on_delete=models.CASCADE, related_name="materials", verbose_name=_("version")
    )
    name = models.CharField(_("name"), max_length=200)
    required = models.BooleanField(_("required"), default=True)
    form = models.CharField(
        _("form"), max_length=16, choices=MaterialForm.choices, default=MaterialForm.ORIGINAL
    )
    copies = models.PositiveSmallIntegerField(_("copies"), default=1)
    acceptance_standard = models.TextField(_("acceptance standard"), blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=MaterialSource.choices, default=MaterialSource.APPLICANT
    )
    source_code = models.CharField(
        _("source code"),
        max_length=100,
        blank=True,
        help_text=_("The e-licence type, the shared data resource or the earlier step it comes from."),
    )
    blank_form = models.FileField(_("blank form"), upload_to="catalog/forms/", blank=True)
    sample = models.FileField(_("filled-in sample"), upload_to="catalog/samples/", blank=True)
    may_follow_later = models.BooleanField(
        _("may follow later"), default=False, help_text=_("Acceptance with deficiencies (容缺受理).")
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["version", "sort_order", "pk"]
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        constraints = [
            models.CheckConstraint(
                name="catalog_material_source_code",
                condition=Q(source=MaterialSource.APPLICANT) | ~Q(source_code=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_label(self) -> str:
        return f"material {self.name}"
