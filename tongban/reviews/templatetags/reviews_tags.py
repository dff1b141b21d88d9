"""Template tags other apps' pages use to show reviews: the case page's rating link and the
workbench tile (the portal's templates load them; the reads go through the selectors)."""

from __future__ import annotations

from typing import Any

from django import template

from tongban.identity.models import User
from tongban.reviews import permissions, selectors

register = template.Library()


@register.inclusion_tag("reviews/_case_link.html")
def case_review_link(case: Any) -> dict[str, Any]:
    """ "去评价" on a concluded case the applicant sees, or what they rated."""
    return {"case": case, "state": selectors.case_review_state(case)}


@register.inclusion_tag("reviews/_workbench_tile.html")
def reviews_workbench_tile(user: User) -> dict[str, Any]:
    if not permissions.is_staff(user):
        return {"show": False}
    return {"show": True, "counts": selectors.workbench_counts(user)}
