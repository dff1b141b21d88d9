"""Good and bad reviews (好差评, docs/adr/0019-good-and-bad-reviews.md).

A ``Review`` is one rating of the service a department gave: online, one per concluded case, by its
applicant; on site, one per ``Visit`` the window clerk starts on the hall's tablet. A bad rating
(level 2 or less) opens a ``Rectification`` for the department that handled the case, due in working
days after the locality's ``RectificationPolicy``; the department records its ``Callback`` calls
(回访), closes it with a result, and the applicant may re-rate (a new review pointing at the first,
which is then superseded). The department may ``Appeal`` a mistaken or malicious rating; a
supervisor over it decides, and an upheld appeal annuls the rating. ``Invitation`` rows make the
invitation job idempotent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.reviews.choices import (
    AppealGround,
    AppealStatus,
    CallbackMethod,
    Level,
    RectificationStatus,
    ReviewChannel,
    ReviewStatus,
)


class RectificationPolicy(models.Model):
    """How many working days a locality's departments have to rectify a bad rating.

    Keyed by a division-code prefix: the longest prefix of the department's division code wins;
    a department with no matching row gets ``DEFAULT_RECTIFICATION_DAYS``."""

    division_prefix = models.CharField(
        _("division code prefix"),
        max_length=12,
        unique=True,
        help_text=_("e.g. 3415 for the whole city, 341502 for one district."),
    )
    working_days = models.PositiveSmallIntegerField(_("working days to rectify"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["division_prefix"]
        verbose_name = _("rectification time limit")
        verbose_name_plural = _("rectification time limits")
        constraints = [
            models.CheckConstraint(
                name="reviews_policy_days", condition=Q(working_days__gte=1, working_days__lte=60)
            )
        ]

    def __str__(self) -> str:
        return f"{self.division_prefix}: {self.working_days}"

    @property
    def audit_label(self) -> str:
        return f"rectification policy {self.division_prefix}"


class Visit(models.Model):
    """One visitor served at a window; the tablet shows the rating page for its one-time token."""

    token = models.CharField(_("token"), max_length=64, unique=True)
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="review_visits",
        verbose_name=_("department"),
    )
    hall = models.ForeignKey(
        "appointments.Hall", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    window = models.ForeignKey(
        "appointments.Window", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    item = models.ForeignKey(
        "catalog.ServiceItem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("on-site visit")
        verbose_name_plural = _("on-site visits")

    def __str__(self) -> str:
        return f"visit {self.pk}"

    @property
    def audit_label(self) -> str:
        return f"on-site visit {self.pk}"


class Review(models.Model):
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="reviews"
    )
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="reviews")
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="reviews",
        verbose_name=_("handling department"),
    )
    item = models.ForeignKey(
        "catalog.ServiceItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews",
        verbose_name=_("service item"),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ReviewChannel.choices)
    level = models.PositiveSmallIntegerField(_("rating level"), choices=Level.choices)
    scores = models.JSONField(_("indicator scores"), default=dict, help_text=_('{"indicator": 1..5}'))
    comment = models.TextField(_("comment"), blank=True)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews_given",
        verbose_name=_("rated by"),
        help_text=_("Empty for an anonymous visitor on site."),
    )
    created_at = models.DateTimeField(_("rated at"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.VALID
    )
    re_rating_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="re_rating",
        verbose_name=_("re-rating of"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            # Online: one first rating per case (a re-rating points at it instead).
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(channel=ReviewChannel.ONLINE, re_rating_of__isnull=True),
                name="reviews_one_online_per_case",
            ),
            models.UniqueConstraint(
                fields=["visit"], condition=Q(visit__isnull=False), name="reviews_one_per_visit"
            ),
            models.CheckConstraint(name="reviews_level_range", condition=Q(level__gte=1, level__lte=5)),
            models.CheckConstraint(
                name="reviews_online_has_case",
                condition=~Q(channel=ReviewChannel.ONLINE) | Q(case__isnull=False, rater__isnull=False),
            ),
            models.CheckConstraint(
                name="reviews_onsite_has_visit",
                condition=~Q(channel=ReviewChannel.ONSITE) | Q(visit__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["department", "created_at"], name="reviews_department_time"),
            models.Index(fields=["status", "created_at"], name="reviews_status_time"),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.level})"

    @property
    def audit_label(self) -> str:
        return f"review {self.pk}"

    @property
    def is_bad(self) -> bool:
        return self.level <= 2


class Rectification(models.Model):
    """The task a bad rating gives the department that handled the case (差评整改)."""

    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="rectification")
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="rectifications",
        verbose_name=_("department"),
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=RectificationStatus.choices,
        default=RectificationStatus.OPEN,
        db_index=True,
    )
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"))
    working_days = models.PositiveSmallIntegerField(_("working days allowed"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.TextField(_("rectification result"), blank=True)
    re_rating_invited_at = models.DateTimeField(_("re-rating invited at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        constraints = [
            models.CheckConstraint(
                name="reviews_closed_has_result",
                condition=~Q(status=RectificationStatus.CLOSED)
                | (Q(closed_at__isnull=False) & ~Q(result="")),
            )
        ]
        indexes = [models.Index(fields=["department", "status"], name="reviews_rect_department")]

    def __str__(self) -> str:
        return f"rectification {self.pk}"

    @property
    def audit_label(self) -> str:
        return f"rectification {self.pk}"

    @property
    def on_time(self) -> bool | None:
        if self.closed_at is None:
            return None
        return self.closed_at <= self.due_at


class Callback(models.Model):
    """One call back to the applicant (回访): when, how, and what they said."""

    rectification = models.ForeignKey(Rectification, on_delete=models.CASCADE, related_name="callbacks")
    at = models.DateTimeField(_("called at"))
    method = models.CharField(_("how"), max_length=8, choices=CallbackMethod.choices)
    applicant_said = models.TextField(_("what the applicant said"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return f"callback {self.pk}"

    @property
    def audit_label(self) -> str:
        return f"callback {self.pk}"


class Appeal(models.Model):
    """The handling department's request to annul a mistaken or malicious rating (申诉)."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="appeals")
    department = models.ForeignKey("identity.Department", on_delete=models.PROTECT, related_name="+")
    ground = models.CharField(_("ground"), max_length=12, choices=AppealGround.choices)
    reason = models.TextField(_("reason"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(_("filed at"))
    status = models.CharField(
        _("status"), max_length=12, choices=AppealStatus.choices, default=AppealStatus.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision"), blank=True)

    class Meta:
        ordering = ["-filed_at", "-pk"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            models.UniqueConstraint(
                fields=["review"],
                condition=Q(status=AppealStatus.PENDING),
                name="reviews_one_pending_appeal",
            )
        ]

    def __str__(self) -> str:
        return f"appeal {self.pk}"

    @property
    def audit_label(self) -> str:
        return f"appeal {self.pk}"


class Invitation(models.Model):
    """The invitation to rate a concluded case, sent once (the invitation job's idempotency row)."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("invitation to rate")
        verbose_name_plural = _("invitations to rate")

    def __str__(self) -> str:
        return f"invitation {self.case_id}"
