"""``python manage.py appointment_reminders``: remind the applicants booked for the next working day.

Run daily (cron); a booking is reminded once however often it runs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tongban.appointments.services import bookings_remind


class Command(BaseCommand):
    help = "Notify every applicant with an appointment on the next working day (once per booking)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{bookings_remind()} reminders sent")
