from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    ENTERPRISE = "enterprise", _("Enterprise")
    STAFF = "staff", _("Staff")


class RealNameLevel(models.IntegerChoices):
    NONE = 0, _("Not real-name")
    L1 = 1, _("L1 self-declared")
    L2 = 2, _("L2 checked against population data")


class DepartmentLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township / street")
    VILLAGE = "village", _("Village / community")


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("Window clerk")
    APPROVER = "approver", _("Approver")
    DATA_OFFICER = "data_officer", _("Data officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")
