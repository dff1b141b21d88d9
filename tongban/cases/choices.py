from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted, awaiting pre-review")
    CORRECTION = "correction", _("Awaiting corrections")
    IN_REVIEW = "in_review", _("Accepted, under review")
    SUSPENDED = "suspended", _("Suspended (special procedure)")
    RESULT_READY = "result_ready", _("Approved, awaiting delivery")
    COMPLETED = "completed", _("Completed")
    REFUSED = "refused", _("Refused")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Statuses in which the case is still open (the applicant waits for the administration or acts).
OPEN_STATUSES = frozenset(
    {
        CaseStatus.SUBMITTED,
        CaseStatus.CORRECTION,
        CaseStatus.IN_REVIEW,
        CaseStatus.SUSPENDED,
        CaseStatus.RESULT_READY,
    }
)
# Statuses in which the applicant may still withdraw: before any decision.
WITHDRAWABLE_STATUSES = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.CORRECTION, CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED}
)
FINAL_STATUSES = frozenset(
    {CaseStatus.COMPLETED, CaseStatus.REFUSED, CaseStatus.NOT_ACCEPTED, CaseStatus.WITHDRAWN}
)


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    WINDOW = "window", _("At the window")
    API = "api", _("Through the API")
    BUNDLE = "bundle", _("Themed bundle")


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("In progress")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


class TaskOutcome(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REFUSE = "refuse", _("Refuse")


class Decision(models.TextChoices):
    APPROVED = "approved", _("Granted")
    REFUSED = "refused", _("Not granted")


class MaterialStatus(models.TextChoices):
    PROVIDED = "provided", _("Provided")
    DEFERRED = "deferred", _("May follow later")


class MaterialOrigin(models.TextChoices):
    APPLICANT = "applicant", _("Uploaded by the applicant")
    WINDOW_SCAN = "window_scan", _("Scanned at the window")
    E_LICENCE = "e_licence", _("Electronic licence, with the holder's consent (免提交)")
    SHARED_DATA = "shared_data", _("Shared data through the exchange, with consent (免提交)")


# Materials the platform fetched instead of asking for them (免提交).
PREFILLED_ORIGINS = (MaterialOrigin.E_LICENCE, MaterialOrigin.SHARED_DATA)


class DeliveryMethod(models.TextChoices):
    PICKUP = "pickup", _("Pickup at the window")
    POST = "post", _("By post")
    ONLINE = "online", _("Electronic result online")


class SuspensionKind(models.TextChoices):
    HEARING = "hearing", _("Hearing")
    EXPERT_REVIEW = "expert_review", _("Expert review")
    INSPECTION = "inspection", _("Inspection, testing or appraisal")
    PUBLIC_NOTICE = "public_notice", _("Public notice")
    ON_SITE = "on_site", _("On-site verification")
    OTHER = "other", _("Other special procedure")


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Application submitted")
    CORRECTION_REQUESTED = "correction_requested", _("One-time notice of corrections issued")
    RESUBMITTED = "resubmitted", _("Corrected application resubmitted")
    ACCEPTED = "accepted", _("Application accepted")
    NOT_ACCEPTED = "not_accepted", _("Application not accepted")
    STAGE_STARTED = "stage_started", _("Stage started")
    OPINION = "opinion", _("Department opinion given")
    STAGE_DONE = "stage_done", _("Stage finished")
    MATERIAL_ADDED = "material_added", _("Deferred material provided")
    SUSPENDED = "suspended", _("Clock suspended for a special procedure")
    RESUMED = "resumed", _("Clock resumed")
    APPROVED = "approved", _("Decision: granted")
    REFUSED = "refused", _("Decision: not granted")
    LICENCE_ISSUED = "licence_issued", _("Electronic licence issued to the applicant's wallet")
    DELIVERED = "delivered", _("Result delivered, case completed")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")
