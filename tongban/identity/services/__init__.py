"""Writes for identity. One module per area; import from here: ``from tongban.identity import services``."""

from tongban.identity.services.accounts import (
    citizen_register,
    department_create,
    enterprise_agent_add,
    enterprise_agent_revoke,
    enterprise_register,
    login,
    logout,
    password_change,
    profile_update,
    real_name_level_raise,
    staff_active_set,
    staff_create,
    staff_roles_set,
)
from tongban.identity.services.clients import client_disable, client_register, client_secret_rotate
from tongban.identity.services.otp import totp_enrol_confirm, totp_enrol_start, totp_reset, totp_verify

__all__ = [
    "citizen_register",
    "client_disable",
    "client_register",
    "client_secret_rotate",
    "department_create",
    "enterprise_agent_add",
    "enterprise_agent_revoke",
    "enterprise_register",
    "login",
    "logout",
    "password_change",
    "profile_update",
    "real_name_level_raise",
    "staff_active_set",
    "staff_create",
    "staff_roles_set",
    "totp_enrol_confirm",
    "totp_enrol_start",
    "totp_reset",
    "totp_verify",
]
