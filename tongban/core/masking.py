"""Masking of personal data for display. Full values are shown only where a task needs them."""

from __future__ import annotations


def mask_resident_id(value: str | None) -> str:
    """``110105199001010021`` -> ``110105********0021`` (region and last four stay readable)."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """``13812345678`` -> ``138****5678``."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧***``; keeps the family name only."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
