"""Staff-side identity pages (second factor, staff and roles, departments), mounted under /staff/."""

from __future__ import annotations

from django.urls import path

from tongban.identity.views import otp, staff

app_name = "identity"

urlpatterns = [
    path("otp/setup/", otp.otp_setup, name="otp_setup"),
    path("otp/verify/", otp.otp_verify, name="otp_verify"),
    path("people/", staff.staff_list, name="staff_list"),
    path("people/new/", staff.staff_create, name="staff_create"),
    path("people/<int:pk>/", staff.staff_detail, name="staff_detail"),
    path("people/<int:pk>/roles/", staff.staff_roles, name="staff_roles"),
    path("people/<int:pk>/active/", staff.staff_active, name="staff_active"),
    path("people/<int:pk>/second-factor/reset/", staff.staff_otp_reset, name="staff_otp_reset"),
    path("departments/", staff.department_list, name="department_list"),
]
