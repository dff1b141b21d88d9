from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.core.masking import mask_name, mask_resident_id
from tongban.core.models import TimeStampedModel
from tongban.identity.choices import AccountKind, DepartmentLevel, RealNameLevel, Role


class Department(TimeStampedModel):
    """A government department or agency, placed in the administrative tree."""

    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    code = models.SlugField(_("code"), max_length=50, unique=True, help_text=_("Stable internal code."))
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    level = models.CharField(_("level"), max_length=16, choices=DepartmentLevel.choices)
    division_code = models.CharField(
        _("administrative division code"), max_length=12, help_text=_("GB/T 2260 (6 digits) or township (9).")
    )
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """One account model for citizens, enterprises and staff (``kind``).

    Citizens log in with their resident ID, enterprises with their credit code, staff with their
    username (``backends.IdentifierBackend``). Full identifiers are kept for the tasks that need
    them and shown masked everywhere else (``masked_resident_id``).
    """

    kind = models.CharField(_("account kind"), max_length=16, choices=AccountKind.choices)
    name = models.CharField(_("name"), max_length=100, help_text=_("Real name, or the enterprise's name."))
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    resident_id = models.CharField(_("resident ID number"), max_length=18, unique=True, null=True, blank=True)
    real_name_level = models.PositiveSmallIntegerField(
        _("real-name level"), choices=RealNameLevel.choices, default=RealNameLevel.NONE
    )
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, null=True, blank=True
    )
    legal_rep_name = models.CharField(_("legal representative"), max_length=100, blank=True)
    legal_rep_resident_id = models.CharField(_("legal representative's ID number"), max_length=18, blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("department"),
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                name="identity_user_kind_fields",
                condition=(
                    Q(kind=AccountKind.CITIZEN, resident_id__isnull=False, credit_code__isnull=True)
                    | Q(kind=AccountKind.ENTERPRISE, credit_code__isnull=False, resident_id__isnull=True)
                    | Q(
                        kind=AccountKind.STAFF,
                        department__isnull=False,
                        resident_id__isnull=True,
                        credit_code__isnull=True,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.username

    @property
    def masked_resident_id(self) -> str:
        return mask_resident_id(self.resident_id)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def is_citizen(self) -> bool:
        return self.kind == AccountKind.CITIZEN

    @property
    def is_enterprise(self) -> bool:
        return self.kind == AccountKind.ENTERPRISE

    @property
    def is_staff_member(self) -> bool:
        return self.kind == AccountKind.STAFF

    @property
    def audit_label(self) -> str:
        if self.kind == AccountKind.CITIZEN:
            return f"citizen {self.masked_name} {self.masked_resident_id}"
        if self.kind == AccountKind.ENTERPRISE:
            return f"enterprise {self.name} {self.credit_code}"
        return f"staff {self.username}"


class RoleAssignment(models.Model):
    """A staff member holds a role in their department."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="identity_role_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class EnterpriseAgent(models.Model):
    """A citizen authorised to act for an enterprise (经办人)."""

    enterprise = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agents")
    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agent_for")
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("authorised agent")
        verbose_name_plural = _("authorised agents")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "agent"],
                condition=Q(revoked_at__isnull=True),
                name="identity_agent_active_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} for {self.enterprise_id}"


class DepartmentSystem(TimeStampedModel):
    """A department's business system registered as an OpenID Connect client.

    The client itself is django-oauth-toolkit's ``Application`` (client id, hashed secret, redirect
    URIs, grant type); this row says which department owns it, who registered it and whether it
    has been disabled. Written only by ``identity.services.clients``.
    """

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="department_system",
        verbose_name=_("OIDC client"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="systems", verbose_name=_("owning department")
    )
    registered_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    secret_rotated_at = models.DateTimeField(_("secret last rotated at"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("disabled by")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("department system")
        verbose_name_plural = _("department systems")

    def __str__(self) -> str:
        return str(self.application)

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None
