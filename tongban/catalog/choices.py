"""Enumerations of the service-item catalogue, after the national service-item schema."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ItemType(models.TextChoices):
    LICENSING = "licensing", _("Administrative licensing")
    EXPROPRIATION = "expropriation", _("Administrative levy")
    PAYMENT = "payment", _("Administrative payment")
    CONFIRMATION = "confirmation", _("Administrative confirmation")
    ADJUDICATION = "adjudication", _("Administrative adjudication")
    REWARD = "reward", _("Administrative reward")
    OTHER_POWER = "other_power", _("Other administrative power")
    PUBLIC_SERVICE = "public_service", _("Public service")


class ItemLevel(models.TextChoices):
    """The level of government at which the item is exercised (行使层级)."""

    NATIONAL = "national", _("National")
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township / street")
    VILLAGE = "village", _("Village / community")


class ServiceObject(models.TextChoices):
    PERSON = "person", _("Natural persons")
    ENTERPRISE = "enterprise", _("Legal persons")
    BOTH = "both", _("Natural and legal persons")


class Visits(models.IntegerChoices):
    NONE = 0, _("No visit needed")
    ONE = 1, _("At most one visit")
    MORE = 2, _("Two or more visits")


class OnlineDepth(models.IntegerChoices):
    """How far the item can be done online (网上办理深度)."""

    INFORMATION = 1, _("Level 1: guide published online")
    DOWNLOAD = 2, _("Level 2: forms downloadable online")
    PRE_REVIEW = 3, _("Level 3: online application and pre-review")
    FULLY_ONLINE = 4, _("Level 4: fully online")


class Channel(models.TextChoices):
    ONLINE = "online", _("Online hall")
    MOBILE = "mobile", _("Mobile app")
    WINDOW = "window", _("Service window")
    SELF_SERVICE = "self_service", _("Self-service terminal")
    POST = "post", _("By post")


class ResultType(models.TextChoices):
    LICENCE = "licence", _("Licence or certificate")
    APPROVAL = "approval", _("Approval document")
    FILING = "filing", _("Filing receipt")
    PAYMENT = "payment", _("Payment or benefit")
    OTHER = "other", _("Other")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ThemeKind(models.TextChoices):
    LIFE_EVENT = "life_event", _("Life event")
    ENTERPRISE_STAGE = "enterprise_stage", _("Enterprise stage")


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", _("Original")
    COPY = "copy", _("Copy")
    ELECTRONIC = "electronic", _("Electronic")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("Uploaded by the applicant")
    E_LICENCE = "e_licence", _("Electronic licence")
    SHARED_DATA = "shared_data", _("Shared data resource")
    EARLIER_STEP = "earlier_step", _("Produced by an earlier step")
