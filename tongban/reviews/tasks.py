"""Background jobs of reviews (registered by portal's ``schedule_jobs``)."""

from __future__ import annotations

from tongban.reviews import services


def invite_completed() -> int:
    """Every 5 minutes: invite the applicants of newly concluded cases to rate them (once each)."""
    return services.invitations_send()
