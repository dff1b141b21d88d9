"""Themed bundles (一件事一次办): several items of several departments applied for as one.

A ``Bundle`` lists service items in order (``BundleItem``). The applicant answers one merged form
and uploads one deduplicated set of materials (``merging``); ``services.bundle_apply`` then files one
case per item through the case engine, all in one transaction. ``BundleApplication`` is that one
application, ``BundleCase`` links it to the cases it fanned out into; each case keeps its own
progress, and the application's overall status is derived from them (``selectors``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.bundles.choices import BundleStatus
from tongban.catalog.choices import ServiceObject
from tongban.core.models import TimeStampedModel


class Bundle(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    service_object = models.CharField(
        _("service object"), max_length=16, choices=ServiceObject.choices, default=ServiceObject.PERSON
    )
    theme = models.ForeignKey(
        "catalog.Theme",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundles",
        verbose_name=_("theme"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=BundleStatus.choices, default=BundleStatus.DRAFT, db_index=True
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
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
        ordering = ["sort_order", "code"]
        verbose_name = _("themed bundle")
        verbose_name_plural = _("themed bundles")

    def __str__(self) -> str:
        return self.name

    @property
    def audit_label(self) -> str:
        return f"bundle {self.code}"


class BundleItem(models.Model):
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(
        "catalog.ServiceItem", on_delete=models.PROTECT, related_name="+", verbose_name=_("service item")
    )
    order = models.PositiveSmallIntegerField(_("order"))

    class Meta:
        ordering = ["bundle", "order"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "item"], name="bundles_item_once"),
            models.UniqueConstraint(fields=["bundle", "order"], name="bundles_item_order"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id}/{self.order}"


class BundleApplication(models.Model):
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, related_name="applications", verbose_name=_("themed bundle")
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="bundle_applications",
        verbose_name=_("applicant"),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
        help_text=_("The enterprise's agent, when not the applicant."),
    )
    form_data = models.JSONField(_("merged form"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("bundle application")
        verbose_name_plural = _("bundle applications")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="bundles_idempotency_per_applicant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id}/{self.pk}"

    @property
    def audit_label(self) -> str:
        return f"bundle application {self.pk}"


class BundleCase(models.Model):
    application = models.ForeignKey(BundleApplication, on_delete=models.CASCADE, related_name="bundle_cases")
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(_("order"))

    class Meta:
        ordering = ["application", "order"]
        constraints = [
            models.UniqueConstraint(fields=["application", "order"], name="bundles_case_order"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.order}"
