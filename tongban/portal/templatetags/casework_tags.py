"""The case queues' sizes on the staff workbench, without the workbench view knowing about cases."""

from __future__ import annotations

from typing import Any

from django import template

from tongban.identity.models import User
from tongban.portal.views_casework import queue_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def casework_counts(context: dict[str, Any]) -> dict[str, int]:
    user = context["request"].user
    if not isinstance(user, User):
        return {"intake": 0, "tasks": 0, "delivery": 0}
    return queue_counts(user)
