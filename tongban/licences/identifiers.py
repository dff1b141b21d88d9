"""Licence identifiers (GB/T 36904) and type codes (GB/T 36902).

An identifier is ``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``: the root
OID of electronic licences, the 21-character type code (the defining agency's unified social credit
code and three digits), the issuer's 18-character credit code, a serial of at least 7 digits, a
2-digit version, and one check character computed by ISO 7064 MOD 37,36 over every character before
it except the dots (python-stdnum computes it; it is never hand-written here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_37_36

ROOT = "1.2.156.3005.2"
SERIAL_DIGITS = 7
_TYPE_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}\d{3}$")
_IDENTIFIER = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{21})\.(?P<issuer>[0-9A-Z]{18})\."
    r"(?P<serial>\d{7,12})\.(?P<version>\d{2})\.(?P<check>[0-9A-Z])$"
)


def is_type_code(code: str) -> bool:
    """A GB/T 36902 type code: a valid unified social credit code and three digits."""
    if not _TYPE_CODE.match(code or ""):
        return False
    try:
        uscc.validate(code[:18])
    except StdnumError:
        return False
    return True


def _check_of(body: str) -> str:
    return mod_37_36.calc_check_digit(body.replace(".", ""))


def make(type_code: str, issuer_code: str, serial: int, version: int = 1) -> str:
    body = f"{ROOT}.{type_code}.{issuer_code}.{serial:0{SERIAL_DIGITS}d}.{version:02d}"
    return f"{body}.{_check_of(body)}"


@dataclass(frozen=True)
class Parsed:
    type_code: str
    issuer_code: str
    serial: int
    version: int


def parse(identifier: str) -> Parsed | None:
    """The parts of a well-formed identifier whose check character is right; None otherwise."""
    text = (identifier or "").strip().upper()
    match = _IDENTIFIER.match(text)
    if match is None:
        return None
    body = text[: text.rindex(".")]
    if _check_of(body) != match["check"]:
        return None
    return Parsed(match["type"], match["issuer"], int(match["serial"]), int(match["version"]))


def normalise(identifier: str) -> str:
    return (identifier or "").strip().upper()
