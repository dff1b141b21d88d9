from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HolderKind(models.TextChoices):
    PERSON = "person", _("Person")
    ENTERPRISE = "enterprise", _("Enterprise")


class Validity(models.TextChoices):
    LONG_TERM = "long_term", _("Long-term (长期)")
    YEARS = "years", _("A number of years from issue")
    GIVEN = "given", _("An end date given at issue")


class LicenceStatus(models.TextChoices):
    VALID = "valid", pgettext_lazy("licence verdict", "Valid")
    REVOKED = "revoked", pgettext_lazy("licence verdict", "Revoked")
    EXPIRED = "expired", pgettext_lazy("licence verdict", "Expired")


class LicenceOrigin(models.TextChoices):
    ISSUED = "issued", _("Issued by a case")
    MANUAL = "manual", _("Issued by staff")
    IMPORTED = "imported", _("Imported (存量证照)")


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Signing")
    RETIRED = "retired", _("Retired (verifies old licences)")


class AuthorisationKind(models.TextChoices):
    CASE = "case", _("For one case")
    THIRD_PARTY = "third_party", _("For a third party")


class UseKind(models.TextChoices):
    CASE_PREFILL = "case_prefill", _("Attached to an application")
    CASE_REVIEW = "case_review", _("Read by the department handling a case")
    STAFF_VERIFY = "staff_verify", _("Verified by staff")
    EXCHANGE_FETCH = "exchange_fetch", _("Fetched by a department system")
    EXCHANGE_VERIFY = "exchange_verify", _("Verified by a department system")
    THIRD_PARTY_VIEW = "third_party_view", _("Viewed by an authorised third party")
    DOWNLOAD = "download", _("Downloaded by the holder")


class ImportStatus(models.TextChoices):
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Done, with rows refused")
    FAILED = "failed", _("Nothing imported")


# The verdicts of a verification (public page, API, staff).
class Verdict(models.TextChoices):
    VALID = "valid", pgettext_lazy("licence verdict", "Valid")
    REVOKED = "revoked", pgettext_lazy("licence verdict", "Revoked")
    EXPIRED = "expired", pgettext_lazy("licence verdict", "Expired")
    FORGED = "forged", _("Forged or altered")
    NOT_FOUND = "not_found", _("No such licence")
