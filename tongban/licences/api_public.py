"""The public licence API, mounted under /api/v1/ by tongban.api: verification and the keys.

Open to anyone (``auth=None``), like the verification page the QR code opens. ``GET
/licences/verify/{identifier}`` is the benchmarked path (bench/README.md ``licence_verify``): it is
``selectors.verify_identifier`` and nothing else, no session, no audit row, no other query. A
``not_found`` verdict answers 404 with the same body as the others, so a client reads one shape.
Verifications can be limited per client address with ``TONGBAN_LICENCE_VERIFY_RATE`` (off by
default).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited
from ninja import Router, Schema, Status

from tongban.core.errors import Locked
from tongban.core.schemas import ErrorOut
from tongban.licences import selectors
from tongban.licences.choices import Verdict

router = Router(tags=["licences"])

# The page and the API draw on one allowance per client address.
VERIFY_RATE_GROUP = "licences.verify"


def verify_limited(request: HttpRequest) -> bool:
    """Whether this client is over ``TONGBAN_LICENCE_VERIFY_RATE`` (never, when it is empty)."""
    rate = settings.TONGBAN_LICENCE_VERIFY_RATE
    if not rate:
        return False
    return is_ratelimited(request, group=VERIFY_RATE_GROUP, key="ip", rate=rate, increment=True)


def _too_many() -> Locked:
    return Locked(_("Too many verifications; please wait a minute and try again."), code="rate_limited")


# --- schemas ---------------------------------------------------------------------------------


class LicencePublicOut(Schema):
    """The minimum a verifier sees; the holder's name and resident ID are masked."""

    identifier: str
    type_name: str
    issuer_name: str
    holder_name: str
    holder_id: str
    issued_on: str
    valid_until: str  # "" for a long-term licence
    verdict: str


class VerificationOut(Schema):
    verdict: Verdict
    message: str
    licence: LicencePublicOut | None


class SignedLicenceIn(Schema):
    """A downloaded licence file as it is: the signed content and its signature."""

    licence: dict[str, Any]
    signature: str


class KeyOut(Schema):
    """A department's public key as a JWK (RFC 8037), with its PEM and its life."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str
    status: str
    department: str
    department_code: str
    created_at: str
    retired_at: str | None
    pem: str


class KeySetOut(Schema):
    keys: list[KeyOut]


def _out(verification: selectors.Verification) -> dict[str, Any]:
    return {
        "verdict": verification.verdict,
        "message": verification.message,
        "licence": verification.public or None,
    }


# --- endpoints -------------------------------------------------------------------------------


@router.get(
    "/licences/verify/{identifier}",
    response={200: VerificationOut, 404: VerificationOut, 429: ErrorOut},
    auth=None,
    summary="Verify a licence by its identifier: valid, revoked, expired, forged or not found",
)
def verify_identifier(request: HttpRequest, identifier: str) -> Status[dict[str, Any]]:
    """What the QR code's page says, as data. The signature is checked over the registry's row;
    ``licence`` is the minimum (masked holder), or null when there is no such licence."""
    if verify_limited(request):
        raise _too_many()
    verification = selectors.verify_identifier(identifier)
    return Status(404 if verification.verdict == Verdict.NOT_FOUND else 200, _out(verification))


@router.post(
    "/licences/verify",
    response={200: VerificationOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="Verify a downloaded licence file: its signature, and that the registry holds exactly it",
)
def verify_document(request: HttpRequest, payload: SignedLicenceIn) -> dict[str, Any]:
    """Any difference from what the issuer signed, or an unknown key, is ``forged``."""
    if verify_limited(request):
        raise _too_many()
    return _out(selectors.verify_document(payload.licence, payload.signature))


@router.get(
    "/licences/keys",
    response={200: KeySetOut},
    auth=None,
    summary="Every department's licence signing keys (JWKS): the active ones and the retired ones",
)
def keys(request: HttpRequest) -> dict[str, Any]:
    """A retired key signs nothing new but still verifies what it signed."""
    return {"keys": selectors.published_keys()}
