"""Field checks of the import files: one function per kind of value, each returning the stored form.

Every function takes the cell's text (already stripped; "" when blank) and returns what the base
stores, or raises ``FieldError`` with a stable reason code from ``REASONS``. They run once per cell
of files with millions of rows, so they avoid regular expressions and datetime parsing on the common
path: check digits come from python-stdnum (``ric.calc_check_digit``, ``uscc.calc_check_digit``,
not the per-call ``validate`` with its slow birthplace look-up), a resident ID's birth date is looked
up in a table of every valid date, and division codes in a set loaded once per job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from zoneinfo import ZoneInfo

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc

from tongban.basedata import codes
from tongban.basedata.choices import IndicatorFrequency

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_YEAR = 1900
_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")

# Reason code -> message. The codes are part of the error report's format and never change.
REASONS: dict[str, Promise] = {
    "required": _("This value is required."),
    "too_long": _("This value is longer than the column allows."),
    "text_invalid_characters": _("This text contains tabs, line breaks or other control characters."),
    "resident_id_length": _("A resident ID number has 18 characters."),
    "resident_id_format": _("A resident ID number is 17 digits followed by a digit or X."),
    "resident_id_as_number": _(
        "The resident ID number was stored as a number, which drops its last digits: "
        "format the column as text and enter the number again."
    ),
    "resident_id_checksum": _("The check digit of the resident ID number is wrong."),
    "resident_id_region": _(
        "The first six digits of the resident ID number are not a GB/T 2260 division code."
    ),
    "resident_id_birth_date": _("The birth date inside the resident ID number is not a valid date."),
    "birth_date_mismatch": _("The date of birth differs from the one in the resident ID number."),
    "gender_mismatch": _(
        "The gender differs from the resident ID number (17th digit odd: male, even: female)."
    ),
    "gender_unknown": _("Unknown gender: use a GB/T 2261.1 code (1 male, 2 female) or 男 / 女."),
    "date_invalid": _("Not a valid date; write it as 2024-03-15."),
    "date_out_of_range": _("The date lies in the future or before 1900."),
    "datetime_invalid": _("Not a valid date and time; write it as 2024-03-15 09:30:00."),
    "division_unknown": _("Unknown division code: it is not in the base's GB/T 2260 division table."),
    "ethnicity_unknown": _("Unknown ethnic group: use a GB/T 3304 code (01 to 56, 97, 98) or its name."),
    "marital_status_unknown": _(
        "Unknown marital status: use a GB/T 2261.2 code (10, 20 to 23, 30, 40, 90) or its name."
    ),
    "life_status_unknown": _("Unknown status: write 正常 (alive) or 死亡 (deceased)."),
    "credit_code_length": _("A unified social credit code has 18 characters."),
    "credit_code_format": _(
        "A unified social credit code uses digits and capital letters other than I, O, Z, S and V."
    ),
    "credit_code_checksum": _("The check character of the unified social credit code is wrong."),
    "credit_code_region": _("Characters 3 to 8 of the credit code are not a GB/T 2260 division code."),
    "entity_type_unknown": _(
        "Unknown type: use 公司, 个体工商户, 农民专业合作社, 事业单位, 机关, 社会组织 or 其他."
    ),
    "entity_status_unknown": _("Unknown registration status: use 存续, 注销 or 吊销."),
    "number_invalid": _("Not a number."),
    "number_out_of_range": _("The number is negative, too large or has too many decimal places."),
    "postcode_invalid": _("A postcode has 6 digits."),
    "code_invalid": _("Use only letters, digits, hyphens and underscores in a code."),
    "coordinate_out_of_range": _("Longitude must lie between 73 and 136 and latitude between 3 and 54."),
    "frequency_unknown": _("Unknown frequency: use 年度, 季度 or 月度."),
    "period_invalid": _(
        "Not a period of this frequency: 2024 (yearly), 2024Q1 (quarterly), 2024-03 (monthly)."
    ),
    "series_unknown": _("Unknown indicator: give its name, unit and frequency to create it."),
    "series_other_department": _("This indicator is kept by another department."),
    "duplicate_key": _("This record appears more than once in the file; only its first row is used."),
    "record_missing": _("The base has no record with this key."),
}


class FieldError(Exception):
    """A cell's value is refused; ``code`` is a key of ``REASONS``."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- tables built once per process ---------------------------------------------------------


@cache
def _dates(today: dt.date) -> dict[str, str]:
    """``YYYYMMDD`` -> ``YYYY-MM-DD`` for every day from 1900-01-01 to ``today``."""
    table: dict[str, str] = {}
    day = dt.date(FIRST_YEAR, 1, 1)
    one = dt.timedelta(days=1)
    while day <= today:
        iso = day.isoformat()
        table[iso[:4] + iso[5:7] + iso[8:]] = iso
        day += one
    return table


def date_table() -> dict[str, str]:
    return _dates(dt.date.today())  # noqa: DTZ011 - a calendar date, not a moment


# --- text ------------------------------------------------------------------------------------


def text(max_length: int, *, required: bool = True) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value:
            if required:
                raise FieldError("required")
            return ""
        if len(value) > max_length:
            raise FieldError("too_long")
        if not value.isprintable():
            value = _spaces(value)
        return value

    return check


def _spaces(value: str) -> str:
    """Ideographic and no-break spaces become plain ones; any other non-printable character is refused."""
    value = value.replace("\u3000", " ").replace("\xa0", " ")
    if not value.isprintable():
        raise FieldError("text_invalid_characters")
    return value


def long_text(value: str) -> str:
    """Free text that may span lines (business scope): control characters other than line breaks refused."""
    value = value.replace("\r\n", "\n")
    if not value.replace("\n", "").isprintable():
        return "\n".join(_spaces(line) for line in value.split("\n"))
    return value


def code_text(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value:
            raise FieldError("required")
        if len(value) > max_length:
            raise FieldError("too_long")
        if not value.replace("-", "").replace("_", "").isalnum() or not value.isascii():
            raise FieldError("code_invalid")
        return value

    return check


# --- identifiers -----------------------------------------------------------------------------


def resident_id(value: str, regions: frozenset[str], dates: dict[str, str]) -> str:
    """The 18-character resident ID (GB 11643): format, check digit, region code, birth date."""
    if not value:
        raise FieldError("required")
    number = value.upper()
    if len(number) != 18:
        if "E+" in number:
            raise FieldError("resident_id_as_number")
        number = number.replace(" ", "").replace("-", "")
        if len(number) != 18:
            raise FieldError("resident_id_length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X") or not number.isascii():
        raise FieldError("resident_id_format")
    if ric.calc_check_digit(number) != number[17]:
        raise FieldError("resident_id_checksum")
    if number[:6] not in regions:
        raise FieldError("resident_id_region")
    if number[6:14] not in dates:
        raise FieldError("resident_id_birth_date")
    return number


def resident_id_check(regions: frozenset[str], dates: dict[str, str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        return resident_id(value, regions, dates)

    return check


def optional_resident_id(regions: frozenset[str], dates: dict[str, str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        return resident_id(value, regions, dates) if value else ""

    return check


def credit_code(value: str, regions: frozenset[str]) -> str:
    """The unified social credit code (GB 32100): format, check character, registration region."""
    if not value:
        raise FieldError("required")
    number = value.upper()
    if len(number) != 18:
        number = number.replace(" ", "").replace("-", "")
        if len(number) != 18:
            raise FieldError("credit_code_length")
    if not number[2:8].isdigit() or not _USCC_ALPHABET.issuperset(number):
        raise FieldError("credit_code_format")
    if uscc.calc_check_digit(number) != number[17]:
        raise FieldError("credit_code_checksum")
    if number[2:8] not in regions:
        raise FieldError("credit_code_region")
    return number


def division(value: str, known: frozenset[str]) -> str:
    if not value:
        raise FieldError("required")
    if value not in known:
        raise FieldError("division_unknown")
    return value


def division_check(known: frozenset[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value in known:
            return value
        raise FieldError("required" if not value else "division_unknown")

    return check


# --- dates and times -------------------------------------------------------------------------


def _date_digits(value: str) -> str | None:
    """``2024-03-05``, ``2024/3/5``, ``2024.03.05``, ``20240305``, ``2024年3月5日`` -> ``20240305``."""
    if len(value) == 10 and value[4] in "-/." and value[7] == value[4]:
        return value[:4] + value[5:7] + value[8:]
    if len(value) == 8 and value.isdigit():
        return value
    cleaned = (
        value.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    )
    cleaned = cleaned.split(" ")[0].split("T")[0]
    parts = cleaned.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    if not (1 <= len(parts[1]) <= 2 and 1 <= len(parts[2]) <= 2):
        return None
    return f"{parts[0]}{int(parts[1]):02d}{int(parts[2]):02d}"


def date(value: str, dates: dict[str, str], *, required: bool = True) -> str:
    """A calendar date from 1900 to today, returned as ``YYYY-MM-DD``."""
    if not value:
        if required:
            raise FieldError("required")
        return ""
    digits = _date_digits(value)
    if digits is None:
        raise FieldError("date_invalid")
    iso = dates.get(digits)
    if iso is None:
        try:
            dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            raise FieldError("date_invalid") from None
        raise FieldError("date_out_of_range")
    return iso


def date_check(dates: dict[str, str], *, required: bool = True) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            iso = dates.get(value[:4] + value[5:7] + value[8:])
            if iso is not None:
                return iso
        return date(value, dates, required=required)

    return check


_MOMENTS: dict[str, str] = {}


def moment(value: str) -> str | None:
    """A date and time as ISO 8601 with its offset (naive values are Asia/Shanghai), None when blank.

    Text, not a datetime: both databases parse it, and it is cheaper to copy. Cached per distinct text
    (exports often stamp many rows with the same time).
    """
    if not value:
        return None
    cached = _MOMENTS.get(value)
    if cached is not None:
        return cached
    text_value = value.replace("/", "-")
    try:
        parsed = dt.datetime.fromisoformat(text_value)
    except ValueError:
        digits = _date_digits(text_value)
        if digits is None:
            raise FieldError("datetime_invalid") from None
        try:
            parsed = dt.datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:]))  # noqa: DTZ001
        except ValueError:
            raise FieldError("datetime_invalid") from None
    if parsed.year < FIRST_YEAR:
        raise FieldError("datetime_invalid")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    result = parsed.isoformat()
    if len(_MOMENTS) < 100_000:
        _MOMENTS[value] = result
    return result


# --- choices ---------------------------------------------------------------------------------


def choice(table: dict[str, str], reason: str, *, default: str | None = None) -> Callable[[str], str]:
    """A code or label of ``table``; blank gives ``default`` (or is refused when there is none)."""

    def check(value: str) -> str:
        if not value:
            if default is None:
                raise FieldError("required")
            return default
        found = table.get(value)
        if found is None:
            found = table.get(value.lower())
            if found is None:
                raise FieldError(reason)
        return found

    return check


gender = choice(codes.GENDER_ALIASES, "gender_unknown", default="")
ethnicity = choice(codes.ETHNICITY_ALIASES, "ethnicity_unknown")
marital_status = choice(codes.MARITAL_ALIASES, "marital_status_unknown", default="90")
life_status = choice(codes.LIFE_ALIASES, "life_status_unknown")
entity_type = choice(codes.ENTITY_TYPE_ALIASES, "entity_type_unknown", default="")
entity_status = choice(codes.ENTITY_STATUS_ALIASES, "entity_status_unknown")
frequency = choice(codes.FREQUENCY_ALIASES, "frequency_unknown", default="")


def entity_type_label(value: str) -> str:
    """Free spellings of company types: anything ending in 公司 (有限责任公司（自然人独资）…) is a company."""
    base = value.split("（", 1)[0].split("(", 1)[0]
    if base.endswith("公司"):
        return "company"
    return entity_type(value)


# --- numbers ---------------------------------------------------------------------------------


def decimal(
    *, max_digits: int, places: int, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> Callable[[str], str]:
    """A decimal number as text (``1,000.5`` and a trailing 万元 or 元 accepted), or "" when blank."""
    limit = Decimal(10) ** (max_digits - places)

    def check(value: str) -> str:
        if not value:
            return ""
        cleaned = value.replace(",", "").replace("，", "").removesuffix("万元").removesuffix("元").strip()
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise FieldError("number_invalid") from None
        if not number.is_finite():
            raise FieldError("number_invalid")
        exponent = number.as_tuple().exponent
        if (
            abs(number) >= limit
            or (isinstance(exponent, int) and -exponent > places)
            or (minimum is not None and number < minimum)
            or (maximum is not None and number > maximum)
        ):
            raise FieldError("number_out_of_range")
        return format(number.normalize(), "f")

    return check


def postcode(value: str) -> str:
    if not value:
        return ""
    if len(value) != 6 or not value.isdigit() or not value.isascii():
        raise FieldError("postcode_invalid")
    return value


# --- indicator periods -----------------------------------------------------------------------

_QUARTERS = {"一": "1", "二": "2", "三": "3", "四": "4", "1": "1", "2": "2", "3": "3", "4": "4"}


def period(value: str, frequency_code: str) -> str:
    """``2024`` (yearly), ``2024Q1`` (quarterly), ``2024-03`` (monthly), from the usual spellings."""
    if not value:
        raise FieldError("required")
    raw = value.upper().replace(" ", "").removesuffix("年度").removesuffix("年")
    year, rest = raw[:4], raw[4:]
    if not (year.isdigit() and FIRST_YEAR <= int(year) <= 2100):
        raise FieldError("period_invalid")
    if frequency_code == IndicatorFrequency.YEAR:
        if rest:
            raise FieldError("period_invalid")
        return year
    rest = rest.removeprefix("年").removeprefix("-").removeprefix("/")
    if frequency_code == IndicatorFrequency.QUARTER:
        quarter = rest.removeprefix("Q").removeprefix("第").removesuffix("季度").removesuffix("季")
        if quarter not in _QUARTERS:
            raise FieldError("period_invalid")
        return f"{year}Q{_QUARTERS[quarter]}"
    if frequency_code == IndicatorFrequency.MONTH:
        month = rest.removesuffix("月")
        if not month.isdigit() or not 1 <= int(month) <= 12:
            raise FieldError("period_invalid")
        return f"{year}-{int(month):02d}"
    raise FieldError("frequency_unknown")
