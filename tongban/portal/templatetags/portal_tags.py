"""Template tags of the portal layout that work without a request (the 500 and CSRF pages)."""

from __future__ import annotations

from django import template
from django.conf import settings

from tongban.portal import audit_labels

register = template.Library()


@register.simple_tag
def site_name() -> str:
    """The portal's name from settings, so pages rendered without context processors show it too."""
    return str(settings.TONGBAN_SITE_NAME)


@register.filter
def audit_action(action: str) -> str:
    return audit_labels.action_label(action)


@register.filter
def audit_actor(stored: str) -> str:
    return audit_labels.actor_label(stored)
