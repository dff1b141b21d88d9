"""The public licence pages, mounted at /licences/ (namespace ``licences_public``).

No login anywhere: the verification page the QR code opens (the verdict and the minimum of data),
a form to type an identifier or upload a downloaded licence file, the page where a third party
(a bank, a landlord) reads a licence with the code its holder gave them, and the published keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from tongban.core.errors import DomainError
from tongban.core.forms import DomainForm
from tongban.licences import identifiers, selectors, services
from tongban.licences.api_public import verify_limited
from tongban.licences.choices import KeyStatus, Verdict
from tongban.licences.models import Licence, LicenceAuthorisation

MAX_FILE_BYTES = 64 * 1024
# Authorisation codes tried per client address (django-ratelimit's syntax), like the progress lookup.
CODE_RATE_GROUP = "licences.shared"
CODE_RATE_DEFAULT = "10/m"
KEYS_MAX_AGE = 300

VERDICT_LABELS: dict[str, Any] = {
    Verdict.VALID: pgettext_lazy("licence verdict", "Valid"),
    Verdict.REVOKED: pgettext_lazy("licence verdict", "Revoked"),
    Verdict.EXPIRED: pgettext_lazy("licence verdict", "Expired"),
    Verdict.FORGED: pgettext_lazy("licence verdict", "Forged or altered"),
    Verdict.NOT_FOUND: pgettext_lazy("licence verdict", "No such licence"),
}
MALFORMED_MESSAGE = gettext_lazy(
    "This is not a licence identifier: one of its characters is wrong or missing. "
    "Check what you typed, or scan the QR code again."
)


@dataclass(frozen=True)
class Outcome:
    """A verdict as the pages show it."""

    verdict: str
    label: str
    message: str
    public: dict[str, str]
    checked_at: Any

    @property
    def trusted(self) -> bool:
        """Whether the data shown is what the issuer signed (not when the licence is forged)."""
        return self.verdict != Verdict.FORGED


def _outcome(verification: selectors.Verification, message: str | None = None) -> Outcome:
    return Outcome(
        verdict=verification.verdict,
        label=str(VERDICT_LABELS[verification.verdict]),
        message=message or verification.message,
        public=verification.public,
        checked_at=timezone.now(),
    )


def _limited(request: HttpRequest) -> HttpResponse:
    return render(request, "licences/public/limited.html", status=429)


# --- verification ----------------------------------------------------------------------------


@never_cache
@require_GET
def verify(request: HttpRequest, identifier: str) -> HttpResponse:
    """The page the licence's QR code opens. No such licence (or a malformed identifier): 404."""
    if verify_limited(request):
        return _limited(request)
    verification = selectors.verify_identifier(identifier)
    malformed = verification.verdict == Verdict.NOT_FOUND and identifiers.parse(identifier) is None
    context = {
        "outcome": _outcome(verification, str(MALFORMED_MESSAGE) if malformed else None),
        "identifier": identifiers.normalise(identifier)[:120],
        "public_url": settings.PUBLIC_URL,
    }
    status = 404 if verification.verdict == Verdict.NOT_FOUND else 200
    return render(request, "licences/public/verify.html", context, status=status)


class IdentifierForm(forms.Form):
    identifier = forms.CharField(
        label=gettext_lazy("Licence identifier"),
        max_length=120,
        help_text=gettext_lazy("Printed under the QR code, beginning 1.2.156.3005.2."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "text"}),
    )

    def clean_identifier(self) -> str:
        text = identifiers.normalise(self.cleaned_data["identifier"]).replace(" ", "")
        if identifiers.parse(text) is None:
            raise forms.ValidationError(MALFORMED_MESSAGE, code="identifier_invalid")
        return text


class LicenceFileForm(forms.Form):
    """A licence file as the holder downloads it: ``{"licence": {...}, "signature": "..."}``."""

    file = forms.FileField(
        label=gettext_lazy("Licence file (.json)"),
        help_text=gettext_lazy("The signed data file downloaded from the holder's wallet, at most 64 KB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def clean_file(self) -> dict[str, Any]:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 64 KB, so it is not a licence file."), code="file_too_large"
            )
        raw = upload.read(MAX_FILE_BYTES + 1)
        try:
            content = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise forms.ValidationError(
                _("The file is not valid JSON, so it is not a licence file."), code="file_not_json"
            ) from None
        if (
            not isinstance(content, dict)
            or not isinstance(content.get("licence"), dict)
            or not isinstance(content.get("signature"), str)
        ):
            raise forms.ValidationError(
                _(
                    'This JSON file is not a licence file: it must hold "licence" (the signed data) '
                    'and "signature".'
                ),
                code="file_wrong_shape",
            )
        return content


@require_http_methods(["GET", "POST"])
def verify_form(request: HttpRequest) -> HttpResponse:
    """Type an identifier (then the verdict page), or upload a downloaded licence file."""
    outcome = None
    status = 200
    identifier_form = IdentifierForm(request.GET if "identifier" in request.GET else None)
    file_form = LicenceFileForm()
    if identifier_form.is_bound:
        if identifier_form.is_valid():
            return redirect("licences_public:verify", identifier=identifier_form.cleaned_data["identifier"])
        status = 400
    if request.method == "POST":
        if verify_limited(request):
            return _limited(request)
        file_form = LicenceFileForm(request.POST, request.FILES)
        if file_form.is_valid():
            content = file_form.cleaned_data["file"]
            outcome = _outcome(selectors.verify_document(content["licence"], content["signature"]))
        else:
            status = 400
    context = {"identifier_form": identifier_form, "file_form": file_form, "outcome": outcome}
    return render(request, "licences/public/verify_form.html", context, status=status)


# --- a third party with the holder's code ----------------------------------------------------


class CodeForm(DomainForm):
    code = forms.CharField(
        label=gettext_lazy("Authorisation code"),
        max_length=32,
        help_text=gettext_lazy("The code the holder gave you from their licence wallet."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    viewer = forms.CharField(
        label=gettext_lazy("Your organisation"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Optional: shown to the holder in the licence's record of uses."),
    )

    def clean_code(self) -> str:
        return re.sub(r"[\s-]", "", self.cleaned_data["code"]).upper()


@dataclass(frozen=True)
class SharedLicence:
    licence: Licence
    authorisation: LicenceAuthorisation
    rows: list[tuple[str, str]]
    outcome: Outcome


def _shared(authorisation: LicenceAuthorisation) -> SharedLicence:
    licence = authorisation.licence
    allowed = set(authorisation.fields or licence.type.field_keys)
    rows = [
        (str(spec.get("label") or spec["key"]), str(licence.data[spec["key"]]))
        for spec in licence.type.fields
        if spec["key"] in allowed and spec["key"] in licence.data
    ]
    # The service refuses a revoked or expired licence, so what is left to say is whether it is genuine.
    verdict = Verdict.VALID if selectors.signature_ok(licence) else Verdict.FORGED
    return SharedLicence(
        licence=licence,
        authorisation=authorisation,
        rows=rows,
        outcome=_outcome(selectors.Verification(verdict)),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def shared(request: HttpRequest) -> HttpResponse:
    """The full licence for whoever holds a valid code; a wrong, expired or withdrawn one is refused
    (the service audits it). Codes tried are limited per client address (429 over the limit)."""
    result = None
    status = 200
    if request.method == "POST":
        rate = getattr(settings, "TONGBAN_LICENCE_CODE_RATE", CODE_RATE_DEFAULT)
        if is_ratelimited(request, group=CODE_RATE_GROUP, key="ip", rate=rate, increment=True):
            return _limited(request)
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                authorisation = services.licence_read_by_third_party(
                    code=form.cleaned_data["code"], viewer_label=form.cleaned_data["viewer"].strip()
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                result = _shared(authorisation)
        else:
            status = 400
    else:
        form = CodeForm()
    return render(request, "licences/public/shared.html", {"form": form, "result": result}, status=status)


# --- the published keys ----------------------------------------------------------------------


@cache_control(public=True, max_age=KEYS_MAX_AGE)
@require_GET
def keys_json(request: HttpRequest) -> HttpResponse:
    """The JWKS offline verifiers (``scripts/verify_licence.py``) read."""
    return JsonResponse({"keys": selectors.published_keys()}, json_dumps_params={"ensure_ascii": False})


@require_GET
def keys(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            **key,
            "status_label": KeyStatus(key["status"]).label,
            "created": parse_datetime(key["created_at"]),
            "retired": parse_datetime(key["retired_at"]) if key["retired_at"] else None,
        }
        for key in selectors.published_keys()
    ]
    return render(request, "licences/public/keys.html", {"keys": rows})
