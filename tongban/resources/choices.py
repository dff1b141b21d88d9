"""Enumerations of the data resource catalogue, after GB/T 21063 and the national cataloguing guide."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ResourceCategory(models.TextChoices):
    """信息资源"类", the first digit of the classification code."""

    BASIC = "1", _("Basic information resources")  # 基础信息资源
    THEMATIC = "2", _("Thematic information resources")  # 主题信息资源
    DEPARTMENTAL = "3", _("Departmental information resources")  # 部门信息资源


class ResourceFormat(models.TextChoices):
    """信息资源格式 (GB/T 21063.3)."""

    DATABASE = "database", _("Database")
    SPREADSHEET = "spreadsheet", _("Spreadsheet")
    DOCUMENT = "document", _("Electronic document")
    IMAGE = "image", _("Image")
    MEDIA = "media", _("Streaming media")
    SELF_DESCRIBING = "self_describing", _("Self-describing (XML / JSON)")
    OTHER = "other", _("Other")


class DataType(models.TextChoices):
    """信息项的数据类型."""

    STRING = "string", _("Text")
    INTEGER = "integer", _("Integer")
    DECIMAL = "decimal", _("Decimal")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes / no")
    CODE = "code", _("Code")
    BINARY = "binary", _("Binary")


class SharingType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Shared unconditionally")  # 无条件共享
    CONDITIONAL = "conditional", _("Shared on conditions")  # 有条件共享
    NOT_SHARED = "not_shared", _("Not shared")  # 不予共享


class SharingMode(models.TextChoices):
    """共享方式."""

    INTERFACE = "interface", _("Interface (exchange API)")
    FILE = "file", _("File download")
    QUERY = "query", _("Page query")


class OpenType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Open unconditionally")  # 无条件开放
    CONDITIONAL = "conditional", _("Open on conditions")  # 有条件开放
    NOT_OPEN = "not_open", _("Not open")  # 不予开放


class UpdateCycle(models.TextChoices):
    REAL_TIME = "real_time", _("Real time")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")
    IRREGULAR = "irregular", _("Irregular")


class ResourceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", pgettext_lazy("resource status", "Retired")


class CorrectionStatus(models.TextChoices):
    """A proposed change to a published resource (目录变更), reviewed like a new resource."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPLIED = "applied", _("Applied")
    DISCARDED = "discarded", _("Discarded")


OPEN_CORRECTION_STATUSES = (CorrectionStatus.DRAFT, CorrectionStatus.IN_REVIEW)


class DemandStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SATISFIED = "satisfied", _("Satisfied")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Duty(models.TextChoices):
    """What a department is responsible for in the responsibility list (责任清单)."""

    COLLECT = "collect", _("Collects the data")
    MAINTAIN = "maintain", _("Maintains and updates the data")
    QUALITY = "quality", _("Answers for its quality and corrections")
    SERVE = "serve", _("Serves it through the exchange")
