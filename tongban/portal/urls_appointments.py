"""Appointments: booking by applicants, the day's bookings for clerks."""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_appointments

app_name = "appointments"

urlpatterns = [
    path("appointments/", views_appointments.mine, name="mine"),
    path("appointments/new/", views_appointments.book, name="book"),
    path("appointments/<int:booking_id>/cancel", views_appointments.cancel, name="cancel"),
    path("staff/appointments/", views_appointments.staff_day, name="staff_day"),
    path(
        "staff/appointments/<int:booking_id>/attended",
        views_appointments.staff_mark,
        {"outcome": "attended"},
        name="mark_attended",
    ),
    path(
        "staff/appointments/<int:booking_id>/no-show",
        views_appointments.staff_mark,
        {"outcome": "no_show"},
        name="mark_no_show",
    ),
]
