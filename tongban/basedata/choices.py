"""Enumerations of the base databases, with the national codes where a standard gives them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    """GB/T 2261.1 sex codes."""

    UNKNOWN = "0", _("Unknown")
    MALE = "1", _("Male")
    FEMALE = "2", _("Female")
    UNSTATED = "9", _("Not stated")


class MaritalStatus(models.TextChoices):
    """GB/T 2261.2 marital status codes (the first-level ones and 初婚/再婚/复婚)."""

    UNMARRIED = "10", _("Unmarried")
    MARRIED = "20", _("Married")
    FIRST_MARRIAGE = "21", _("First marriage")
    REMARRIED = "22", _("Remarried")
    REMARRIED_SAME = "23", _("Remarried to the former spouse")
    WIDOWED = "30", _("Widowed")
    DIVORCED = "40", _("Divorced")
    UNSTATED = "90", _("Not stated")


class LifeStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DECEASED = "deceased", _("Deceased")


class EntityType(models.TextChoices):
    """The kinds of subject a unified social credit code is issued to (its registration office digit)."""

    COMPANY = "company", _("Company")
    SOLE_PROPRIETOR = "sole_proprietor", _("Individual business")
    FARMER_COOPERATIVE = "cooperative", _("Farmers' cooperative")
    PUBLIC_INSTITUTION = "institution", _("Public institution")
    GOVERNMENT = "government", _("Government agency")
    SOCIAL_ORGANISATION = "social_org", _("Social organisation")
    OTHER = "other", _("Other")


class EntityStatus(models.TextChoices):
    ACTIVE = "active", _("In business")  # 存续
    DEREGISTERED = "deregistered", _("Deregistered")  # 注销
    REVOKED = "revoked", _("Licence revoked")  # 吊销


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    PREFECTURE = "prefecture", _("Prefecture")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township / street")
    VILLAGE = "village", _("Village / community")


class IndicatorFrequency(models.TextChoices):
    YEAR = "year", _("Yearly")
    QUARTER = "quarter", _("Quarterly")
    MONTH = "month", _("Monthly")


class Dataset(models.TextChoices):
    """What an import job loads, and what a reconciliation compares against."""

    POPULATION = "population", _("Population")
    LEGAL_ENTITY = "legal_entity", _("Legal entities")
    ADDRESS = "address", _("Standard addresses")
    INDICATOR = "indicator", _("Macro-economic indicator values")


class JobStatus(models.TextChoices):
    """An import job or reconciliation run: queued, reading the file, writing its result, done."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    MERGING = "merging", _("Writing to the base")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")

    @classmethod
    def active(cls) -> tuple[str, ...]:
        return (cls.QUEUED, cls.RUNNING, cls.MERGING)


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (.xlsx)"


class TaskOutcome(models.TextChoices):
    """How a data officer closes a data-quality task."""

    BASE_CORRECTED = "base_corrected", _("The base was wrong: correct it to the other source's value")
    SOURCE_WRONG = "source_wrong", _("The other source is wrong")
    DISMISSED = "dismissed", _("Dismiss (no difference that matters)")


class QualityTaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    BASE_CORRECTED = "base_corrected", _("Base record corrected")
    SOURCE_WRONG = "source_wrong", _("The other source is wrong")
    DISMISSED = "dismissed", _("Dismissed")
