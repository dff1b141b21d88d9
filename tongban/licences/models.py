"""Electronic licences (电子证照, docs/adr/0017-electronic-licences.md).

``LicenceType`` is the catalogue of licences (GB/T 36902 type code, fields, validity rule, template);
``Licence`` is one licence with its GB/T 36904 identifier and the issuing department's signature
over its canonical form (``licences.signing``); ``SigningKey`` holds each department's keys (the
newest signs, the retired ones still verify). A holder's ``LicenceAuthorisation`` lets one case or
one third party use a licence for a time; every use is a ``LicenceUse`` row the holder can read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.licences.choices import (
    AuthorisationKind,
    HolderKind,
    ImportStatus,
    KeyStatus,
    LicenceOrigin,
    LicenceStatus,
    UseKind,
    Validity,
)


class LicenceType(models.Model):
    code = models.CharField(
        _("type code"),
        max_length=21,
        unique=True,
        help_text=_("GB/T 36902: the defining agency's unified social credit code and 3 digits."),
    )
    name = models.CharField(_("name"), max_length=100)
    defining_agency = models.CharField(_("defining agency"), max_length=100, blank=True)
    issuing_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="licence_types",
        verbose_name=_("issuing department"),
        help_text=_("The department of this locality that issues it."),
    )
    holder_kind = models.CharField(_("holder"), max_length=16, choices=HolderKind.choices)
    fields = models.JSONField(
        _("data fields"),
        default=list,
        help_text=_(
            '[{"key": "...", "label": "...", "required": true, "from": "form:KEY | holder.name | ..."}]'
        ),
    )
    validity = models.CharField(_("validity rule"), max_length=16, choices=Validity.choices)
    validity_years = models.PositiveSmallIntegerField(_("years valid"), null=True, blank=True)
    template = models.JSONField(
        _("template"),
        default=dict,
        blank=True,
        help_text=_('How it is rendered: {"title": "...", "subtitle": "...", "colour": "#RRGGBB"}.'),
    )
    items = models.ManyToManyField(
        "catalog.ServiceItem",
        blank=True,
        related_name="licence_types",
        verbose_name=_("issued by these service items"),
        help_text=_("An approved case of one of these items issues a licence of this type."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("licence type")
        verbose_name_plural = _("licence types")
        constraints = [
            models.CheckConstraint(
                name="licences_type_years",
                condition=~Q(validity=Validity.YEARS) | Q(validity_years__gt=0),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_label(self) -> str:
        return f"licence type {self.code}"

    @property
    def field_keys(self) -> list[str]:
        return [str(f["key"]) for f in self.fields]


class SigningKey(models.Model):
    """One department's signing key. The private half is stored encrypted (``licences.signing``)."""

    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="signing_keys"
    )
    key_id = models.CharField(_("key id"), max_length=64, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=16, default="Ed25519")
    public_key = models.TextField(_("public key (PEM)"))
    private_key = models.BinaryField(_("private key (encrypted)"))
    status = models.CharField(_("status"), max_length=16, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the platform created it (set-up, demo)."),
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        ordering = ["department", "-created_at"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            models.UniqueConstraint(
                fields=["department"],
                condition=Q(status=KeyStatus.ACTIVE),
                name="licences_one_active_key",
            )
        ]

    def __str__(self) -> str:
        return self.key_id

    @property
    def audit_label(self) -> str:
        return f"signing key {self.key_id}"


class LicenceCounter(models.Model):
    """The last serial given for one type and issuer (the upsert's row lock keeps serials unique)."""

    type = models.ForeignKey(LicenceType, on_delete=models.CASCADE, related_name="+")
    issuer = models.ForeignKey("identity.Department", on_delete=models.CASCADE, related_name="+")
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["type", "issuer"], name="licences_counter")]

    def __str__(self) -> str:
        return f"{self.type_id}/{self.issuer_id}: {self.last}"


class LicenceImport(models.Model):
    """One bulk import of existing licences (存量证照) and its report."""

    department = models.ForeignKey("identity.Department", on_delete=models.PROTECT, related_name="+")
    type = models.ForeignKey(LicenceType, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    errors = models.JSONField(_("refused rows"), default=list, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("licence import")
        verbose_name_plural = _("licence imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def audit_label(self) -> str:
        return f"licence import {self.pk}"


class Licence(models.Model):
    identifier = models.CharField(_("licence identifier"), max_length=96, unique=True)
    type = models.ForeignKey(LicenceType, on_delete=models.PROTECT, related_name="licences")
    issuer = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="licences", verbose_name=_("issuer")
    )
    serial = models.PositiveBigIntegerField(_("serial"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    holder_kind = models.CharField(_("holder"), max_length=16, choices=HolderKind.choices)
    holder_id = models.CharField(
        _("holder ID"), max_length=18, help_text=_("Resident ID number or unified social credit code.")
    )
    holder_name = models.CharField(_("holder name"), max_length=200)
    number = models.CharField(
        _("licence number"), max_length=64, blank=True, help_text=_("The number printed on the licence.")
    )
    data = models.JSONField(_("data"), default=dict)
    issued_on = models.DateField(_("issued on"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.VALID
    )
    origin = models.CharField(_("origin"), max_length=16, choices=LicenceOrigin.choices)
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="licences")
    signature = models.CharField(_("signature"), max_length=128)
    case_id = models.BigIntegerField(_("case"), null=True, blank=True)
    case_number = models.CharField(_("case number"), max_length=64, blank=True)
    batch = models.ForeignKey(
        LicenceImport, on_delete=models.PROTECT, null=True, blank=True, related_name="licences"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.TextField(_("reason for revocation"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-issued_on", "-pk"]
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        constraints = [
            models.UniqueConstraint(fields=["type", "issuer", "serial", "version"], name="licences_serial"),
            models.CheckConstraint(
                name="licences_revoked_has_reason",
                condition=~Q(status=LicenceStatus.REVOKED) | Q(revoked_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["holder_id", "type"], name="licences_holder_type"),
            models.Index(fields=["status", "valid_until"], name="licences_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.type.name} {self.identifier}"

    @property
    def audit_label(self) -> str:
        return f"licence {self.identifier}"


class LicenceAuthorisation(models.Model):
    """The holder lets one case, or one third party, use a licence until ``valid_until``."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="authorisations")
    kind = models.CharField(_("kind"), max_length=16, choices=AuthorisationKind.choices)
    purpose = models.CharField(_("purpose"), max_length=200)
    fields = models.JSONField(_("fields shown"), default=list, blank=True)
    case_id = models.BigIntegerField(_("case"), null=True, blank=True)
    case_number = models.CharField(_("case number"), max_length=64, blank=True)
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department handling the case"),
    )
    grantee_name = models.CharField(_("third party"), max_length=200, blank=True)
    code_hash = models.CharField(max_length=64, blank=True, db_index=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    valid_until = models.DateTimeField(_("valid until"))
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-pk"]
        verbose_name = _("licence authorisation")
        verbose_name_plural = _("licence authorisations")
        constraints = [
            models.CheckConstraint(
                name="licences_authorisation_target",
                condition=(
                    Q(kind=AuthorisationKind.CASE, case_id__isnull=False)
                    | (Q(kind=AuthorisationKind.THIRD_PARTY) & ~Q(grantee_name="") & ~Q(code_hash=""))
                ),
            )
        ]
        indexes = [models.Index(fields=["case_id"], name="licences_auth_case")]

    def __str__(self) -> str:
        return f"{self.licence_id}: {self.purpose}"

    @property
    def audit_label(self) -> str:
        return f"licence authorisation {self.pk}"


class LicenceUse(models.Model):
    """One use of a licence: who, when, for which case or purpose (the holder sees them all)."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="uses")
    kind = models.CharField(_("use"), max_length=20, choices=UseKind.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    case_number = models.CharField(_("case number"), max_length=64, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    authorisation = models.ForeignKey(
        LicenceAuthorisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="uses"
    )
    call_id = models.UUIDField(_("exchange call"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("licence use")
        verbose_name_plural = _("licence uses")
        indexes = [models.Index(fields=["licence", "-at"], name="licences_use_recent")]

    def __str__(self) -> str:
        return f"{self.licence_id} {self.kind}"
