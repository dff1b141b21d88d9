"""Formatting of the dashboards' figures: rates as percentages, missing figures as a dash."""

from __future__ import annotations

from typing import Any

from django import template

from tongban.dashboards.selectors import VIEWER_ROLES
from tongban.identity.models import User
from tongban.identity.selectors import has_role

register = template.Library()

RATE_SUFFIXES = ("_rate", "_ratio")


@register.filter
def figure(row: dict[str, Any], key: str) -> str:
    """``row[key]`` for a table cell: a rate as a percentage, a missing value as "–"."""
    value = row.get(key)
    if value is None:
        return "–"
    if key.endswith(RATE_SUFFIXES):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}"


@register.inclusion_tag("dashboards/_workbench_tile.html")
def dashboards_workbench_tile(user: User) -> dict[str, Any]:
    """The workbench's tile for the dashboards, for those who may see them."""
    return {"show": user.is_authenticated and has_role(user, *VIEWER_ROLES)}
