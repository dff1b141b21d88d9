"""Validation of China's identifiers: resident ID (GB 11643) and unified social credit code (GB 32100).

Check digits come from python-stdnum. Its ``cn.ric.validate`` also looks the county up in a
snapshot of division codes, which is slow and rejects real people born in counties that have since
been renamed, so we check the province prefix ourselves and leave county-level checks to the
population base (real-name level L2). See docs/adr/0004-identifier-validation.md.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

from tongban.core.errors import ValidationFailed

# GB/T 2260 province-level codes (the first two digits of a division code).
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82",
    }
)  # fmt: skip


def normalize_resident_id(value: str) -> str:
    return ric.compact(value or "")


def validate_resident_id(value: str, *, today: dt.date | None = None) -> str:
    """Return the normalised 18-character resident ID or raise ``ValidationFailed``."""
    number = normalize_resident_id(value)
    if len(number) != 18:
        raise ValidationFailed(_("A resident ID number has 18 characters."), code="resident_id_length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationFailed(
            _("A resident ID number is 17 digits followed by a digit or X."), code="resident_id_format"
        )
    if number[:2] not in PROVINCE_CODES:
        raise ValidationFailed(
            _("The first six digits of the resident ID are not a known region code."),
            code="resident_id_region",
        )
    try:
        birth = ric.get_birth_date(number)
    except StdnumValidationError:
        birth = None
    if birth is None or birth.year < 1900 or birth > (today or dt.date.today()):  # noqa: DTZ011
        raise ValidationFailed(
            _("The birth date in the resident ID number is not a valid date."),
            code="resident_id_birth_date",
        )
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationFailed(
            _("The resident ID number's check digit is wrong; please check each digit."),
            code="resident_id_checksum",
        )
    return number


def resident_id_birth_date(number: str) -> dt.date:
    return ric.get_birth_date(number)


def resident_id_is_male(number: str) -> bool:
    return int(number[16]) % 2 == 1


def normalize_credit_code(value: str) -> str:
    return uscc.compact(value or "")


def validate_credit_code(value: str) -> str:
    """Return the normalised unified social credit code or raise ``ValidationFailed``."""
    number = normalize_credit_code(value)
    try:
        return uscc.validate(number)
    except StdnumValidationError as exc:
        code = {
            "InvalidLength": "credit_code_length",
            "InvalidFormat": "credit_code_format",
            "InvalidChecksum": "credit_code_checksum",
        }.get(type(exc).__name__, "credit_code_invalid")
        message = {
            "credit_code_length": _("A unified social credit code has 18 characters."),
            "credit_code_format": _(
                "A unified social credit code uses digits and capital letters other than I, O, Z, S and V."
            ),
            "credit_code_checksum": _("The credit code's check character is wrong; please check each one."),
        }.get(code, _("This is not a valid unified social credit code."))
        raise ValidationFailed(message, code=code) from None
