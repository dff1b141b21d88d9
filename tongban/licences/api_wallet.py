"""The holder's licences in the API, under /api/v1/me/licences (session or an OIDC access token)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from tongban.core.errors import AuthenticationFailed, PermissionDenied
from tongban.core.schemas import ErrorOut
from tongban.identity.auth import session_or_token
from tongban.identity.choices import AccountKind
from tongban.identity.models import User
from tongban.licences import rendering, selectors, services
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceUse

router = Router(tags=["licences"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class LicenceOut(Schema):
    id: int
    identifier: str
    type_code: str
    type_name: str
    issuer: str
    number: str
    issued_on: date
    valid_from: date
    valid_until: date | None
    status: str = Field(description="valid, revoked or expired (by date, checked now)")
    data: dict[str, str]
    verification_url: str


class UseOut(Schema):
    at: datetime
    kind: str
    department: str
    by: str
    case_number: str
    purpose: str


class AuthorisationIn(Schema):
    grantee_name: str
    purpose: str
    days: int


class AuthorisationOut(Schema):
    id: int
    kind: str
    purpose: str
    case_number: str
    grantee_name: str
    valid_until: datetime
    withdrawn_at: datetime | None
    code: str = Field("", description="The third party's code: given once, when it is created")


def _holder(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationFailed(_("Log in first, or send a valid access token."), code="not_authenticated")
    if user.kind not in (AccountKind.CITIZEN, AccountKind.ENTERPRISE):
        raise PermissionDenied(
            _("Staff accounts have no licence wallet; log in as a citizen or an enterprise."),
            code="not_a_holder",
        )
    return user


def _out(licence: Licence) -> LicenceOut:
    return LicenceOut(
        id=licence.pk,
        identifier=licence.identifier,
        type_code=licence.type.code,
        type_name=licence.type.name,
        issuer=licence.issuer.name,
        number=licence.number,
        issued_on=licence.issued_on,
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        status=selectors.effective_status(licence),
        data={str(k): str(v) for k, v in licence.data.items()},
        verification_url=selectors.verification_url(licence.identifier),
    )


def _use_out(use: LicenceUse) -> UseOut:
    """A department by its name, a third party by the name the holder gave it (``rendering.use_party``)."""
    who, _note = rendering.use_party(use)
    return UseOut(
        at=use.at,
        kind=use.kind,
        department=use.department.name if use.department else "",
        by=who,
        case_number=use.case_number,
        purpose=use.purpose,
    )


def _auth_out(auth: LicenceAuthorisation, code: str = "") -> AuthorisationOut:
    return AuthorisationOut(
        id=auth.pk,
        kind=auth.kind,
        purpose=auth.purpose,
        case_number=auth.case_number,
        grantee_name=auth.grantee_name,
        valid_until=auth.valid_until,
        withdrawn_at=auth.revoked_at,
        code=code,
    )


@router.get(
    "/me/licences",
    response={200: list[LicenceOut], **ERRORS},
    auth=session_or_token,
    summary="My licences (一人一档 / 一企一档)",
)
def my_licences(request: HttpRequest) -> list[LicenceOut]:
    return [_out(licence) for licence in selectors.licences_of(_holder(request))]


@router.get(
    "/me/licences/{int:licence_id}",
    response={200: LicenceOut, **ERRORS},
    auth=session_or_token,
    summary="One of my licences",
)
def my_licence(request: HttpRequest, licence_id: int) -> LicenceOut:
    return _out(services.holder_licence(by=_holder(request), pk=licence_id))


@router.get(
    "/me/licences/{int:licence_id}/document",
    response={200: dict[str, Any], **ERRORS},
    auth=session_or_token,
    summary="The signed data file (verify it with the published keys)",
)
def my_licence_document(request: HttpRequest, licence_id: int) -> dict[str, Any]:
    user = _holder(request)
    licence = services.holder_licence(by=user, pk=licence_id)
    services.licence_download(licence=licence, by=user, fmt="json")
    return selectors.signed_document(licence)


@router.get(
    "/me/licences/{int:licence_id}/pdf",
    response={200: None, **ERRORS},
    auth=session_or_token,
    summary="The licence as a PDF with its QR code and watermark",
)
def my_licence_pdf(request: HttpRequest, licence_id: int) -> HttpResponse:
    user = _holder(request)
    licence = services.holder_licence(by=user, pk=licence_id)
    services.licence_download(licence=licence, by=user, fmt="pdf")
    response = HttpResponse(rendering.licence_pdf(licence), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{licence.identifier}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@router.get(
    "/me/licences/{int:licence_id}/uses",
    response={200: list[UseOut], **ERRORS},
    auth=session_or_token,
    summary="Every use of one of my licences",
)
def my_licence_uses(request: HttpRequest, licence_id: int) -> list[UseOut]:
    licence = services.holder_licence(by=_holder(request), pk=licence_id)
    return [_use_out(use) for use in selectors.uses_of(licence)]


@router.post(
    "/me/licences/{int:licence_id}/authorisations",
    response={201: AuthorisationOut, **ERRORS, 400: ErrorOut, 409: ErrorOut},
    auth=session_or_token,
    summary="Let a third party see the licence for 1-90 days",
)
def my_licence_authorise(
    request: HttpRequest, licence_id: int, payload: AuthorisationIn
) -> Status[AuthorisationOut]:
    user = _holder(request)
    licence = services.holder_licence(by=user, pk=licence_id)
    auth, code = services.authorisation_for_third_party(
        licence=licence,
        grantee_name=payload.grantee_name,
        purpose=payload.purpose,
        days=payload.days,
        by=user,
    )
    return Status(201, _auth_out(auth, code))


@router.delete(
    "/me/licence-authorisations/{int:auth_id}",
    response={200: AuthorisationOut, **ERRORS, 409: ErrorOut},
    auth=session_or_token,
    summary="Withdraw an authorisation of one of my licences",
)
def my_authorisation_withdraw(request: HttpRequest, auth_id: int) -> AuthorisationOut:
    user = _holder(request)
    auth = selectors.authorisation_of_holder(user, auth_id)
    return _auth_out(services.authorisation_withdraw(authorisation=auth, by=user))
