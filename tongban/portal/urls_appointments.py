"""Appointments: booking by applicants, the day's bookings for clerks."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "appointments"

urlpatterns: list[URLPattern] = []
