"""The licences' background jobs (run by the scheduler, see portal's schedule_jobs command)."""

from __future__ import annotations

from tongban.licences import services


def expire_licences() -> int:
    """Mark the valid licences whose end date has passed expired (reads never wait for it)."""
    return services.licences_expire()
