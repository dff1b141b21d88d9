from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from tongban.core.errors import AuthenticationFailed
from tongban.core.masking import mask_phone
from tongban.core.schemas import ErrorOut
from tongban.identity import permissions, selectors, services
from tongban.identity.auth import session_or_token
from tongban.identity.models import User
from tongban.identity.schemas import (
    CitizenRegisterIn,
    DepartmentOut,
    EnterpriseRegisterIn,
    LoginIn,
    MeOut,
    OkOut,
    TotpIn,
)

router = Router(tags=["identity"])


def me_payload(user: User, *, second_factor_pending: str | None = None) -> MeOut:
    department = user.department
    return MeOut(
        sub=str(user.pk),
        kind=user.kind,
        name=user.name,
        resident_id_masked=user.masked_resident_id or None,
        credit_code=user.credit_code,
        real_name_level=user.real_name_level,
        phone_masked=mask_phone(user.phone) or None,
        department=(
            DepartmentOut(id=department.pk, name=department.name, division_code=department.division_code)
            if department
            else None
        ),
        roles=sorted(selectors.roles_of(user)),
        second_factor_pending=second_factor_pending,
    )


@router.get(
    "/me",
    response={200: MeOut, 401: ErrorOut},
    auth=session_or_token,
    summary="The account behind this session or token",
)
def me(request: HttpRequest) -> MeOut:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationFailed(
            _("This token was issued to a system, not a person."), code="token_has_no_user"
        )
    return me_payload(user)


@router.post(
    "/auth/login",
    response={200: MeOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="Log in with resident ID, credit code or username",
)
def login(request: HttpRequest, payload: LoginIn) -> MeOut:
    """Staff with a second factor to settle get ``second_factor_pending`` ("verify" or "enrol");
    until it is settled the session opens no other endpoint."""
    user = services.login(request=request, identifier=payload.identifier, password=payload.password)
    return me_payload(user, second_factor_pending=permissions.second_factor_pending(user))


@router.post(
    "/auth/totp",
    response={200: MeOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="Verify a staff member's authenticator code in this session",
)
def verify_totp(request: HttpRequest, payload: TotpIn) -> MeOut:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationFailed(_("Log in with the password first."), code="not_authenticated")
    services.totp_verify(request=request, user=user, token=payload.token)
    return me_payload(user)


@router.post(
    "/auth/logout",
    response={200: OkOut, 401: ErrorOut},
    auth=session_or_token,
    summary="End the portal session",
)
def logout(request: HttpRequest) -> OkOut:
    services.logout(request=request)
    return OkOut()


@router.post(
    "/accounts/citizen",
    response={201: MeOut, 400: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="Register a citizen account",
)
def register_citizen(request: HttpRequest, payload: CitizenRegisterIn) -> Status[MeOut]:
    user = services.citizen_register(**payload.model_dump())
    return Status(201, me_payload(user))


@router.post(
    "/accounts/enterprise",
    response={201: MeOut, 400: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="Register an enterprise account",
)
def register_enterprise(request: HttpRequest, payload: EnterpriseRegisterIn) -> Status[MeOut]:
    user = services.enterprise_register(**payload.model_dump())
    return Status(201, me_payload(user))
