"""The GB/T 2260 division table: where the codes come from, and the sets the validators look codes up in.

python-stdnum ships the birthplace-code table of ``stdnum.cn.ric`` (``stdnum/cn/loc.dat``, from
the Wikipedia lists of GB/T 2260 codes since 1980), read here through stdnum's own ``numdb`` API.
Each 6-digit code carries its names over time, e.g. ``[1983-2001]东市区,[2002-]瑶海区``; a code is
*current* when its last name has no end year. Two things are made of it:

- ``current_divisions()``: today's provinces, prefectures and counties (the tree the loader writes),
  plus the Lu'an townships of ``identity/data/luan_divisions.csv`` (National Bureau of Statistics
  统计用区划代码, 9 digits);
- ``region_codes()``: every 6-digit code that was ever valid. A resident ID keeps the code of the
  place where it was first issued, so a person born in 1970 in 六安县 still carries ``342421``;
  the ID's first six digits are checked against this set, not against today's tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from stdnum import numdb

from tongban.basedata.choices import DivisionLevel
from tongban.identity import demo as identity_demo

# The names python-stdnum gives to placeholders that are not divisions of their own.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_CSV_LEVELS = {
    "province": DivisionLevel.PROVINCE,
    "city": DivisionLevel.PREFECTURE,
    "county": DivisionLevel.COUNTY,
    "township": DivisionLevel.TOWNSHIP,
    "village": DivisionLevel.VILLAGE,
}


@dataclass(frozen=True)
class DivisionRow:
    code: str
    name: str
    level: str
    parent_code: str | None


def _names(value: str) -> list[tuple[int | None, int | None, str]]:
    """``[1983-2001]东市区,[2002-]瑶海区`` -> [(1983, 2001, 东市区), (2002, None, 瑶海区)]."""
    result: list[tuple[int | None, int | None, str]] = []
    for part in value.split(","):
        start = end = None
        if part.startswith("[") and "]" in part:
            span, part = part[1:].split("]", 1)
            first, _, last = span.partition("-")
            start = int(first) if first else None
            end = int(last) if last else None
        result.append((start, end, part.strip()))
    return result


def _stdnum_entries() -> list[tuple[str, str, str]]:
    """(code, province name, the county field) of every 6-digit entry of stdnum's cn/loc table."""
    entries: list[tuple[str, str, str]] = []
    for length, low, high, props, children in numdb.get("cn/loc").prefixes:
        if length != 2 or low != high:
            continue
        for _length, child_low, child_high, child_props, _children in children:
            if child_low != child_high or "county" not in child_props:
                continue
            entries.append((low + child_low, props.get("province", ""), child_props["county"]))
    return entries


@cache
def region_codes() -> frozenset[str]:
    """Every 6-digit division code that was ever in GB/T 2260 (for the first six digits of an ID)."""
    return frozenset(code for code, _province, _county in _stdnum_entries())


def _level_of(code: str) -> str:
    if code.endswith("0000"):
        return DivisionLevel.PROVINCE
    if code.endswith("00"):
        return DivisionLevel.PREFECTURE
    return DivisionLevel.COUNTY


@cache
def current_divisions() -> tuple[DivisionRow, ...]:
    """Today's divisions: every province, prefecture and county of stdnum's table, and Lu'an's townships.

    Parents come before children. A county whose prefecture-level code is a placeholder (the 市辖区
    of a municipality, 省直辖县级行政区划) hangs from the nearest real division above it.
    """
    current: dict[str, str] = {}
    for code, _province, county in _stdnum_entries():
        _start, end, name = _names(county)[-1]
        if end is None and name not in _PLACEHOLDERS:
            current[code] = name
    rows: list[DivisionRow] = []
    for code in sorted(current, key=lambda c: (c[2:] != "0000", c[4:] != "00", c)):
        level = _level_of(code)
        parent: str | None = None
        if level == DivisionLevel.PREFECTURE:
            parent = code[:2] + "0000"
        elif level == DivisionLevel.COUNTY:
            parent = code[:4] + "00" if code[:4] + "00" in current else code[:2] + "0000"
        if parent is not None and parent not in current:
            parent = None
        rows.append(DivisionRow(code=code, name=current[code], level=level, parent_code=parent))
    known = {row.code for row in rows}
    for division in identity_demo.divisions():
        level = _CSV_LEVELS.get(division.level, DivisionLevel.TOWNSHIP)
        if division.code in known:
            continue  # the 6-digit levels come from the national table when it has them
        parent_code = division.parent_code if division.parent_code in known else None
        rows.append(DivisionRow(code=division.code, name=division.name, level=level, parent_code=parent_code))
        known.add(division.code)
    return tuple(rows)
