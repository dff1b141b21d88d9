"""Second-factor pages for staff: set up an authenticator (/staff/otp/setup/) and verify (/staff/otp/verify/).

These pages cannot use ``staff_required``: it sends staff *here* until the second factor is done.
They need a logged-in staff account and nothing else.
"""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from tongban.core.errors import DomainError
from tongban.identity import selectors, services
from tongban.identity.models import User


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=gettext_lazy("6-digit code"),
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        max_length=8,
        error_messages={"invalid": gettext_lazy("Enter the 6 digits your authenticator shows.")},
        help_text=gettext_lazy("The code changes every 30 seconds."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )


def _staff_account(request: HttpRequest) -> User | HttpResponse:
    """The logged-in staff account, or the answer for anyone else (login page or 403)."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not isinstance(user, User) or not user.is_staff_member:
        raise PermissionDenied(_("The second factor is for staff accounts."))
    return user


def _is_verified(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_verified", lambda: False)())


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _qr_svg(config_url: str) -> SafeString:
    svg = segno.make(config_url, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title=_("QR code for your authenticator app")
    )
    # segno writes only geometry and the title we give it (escaped by segno): no user input.
    return mark_safe(svg)  # noqa: S308


def _secret_groups(device: object) -> str:
    secret = b32encode(device.bin_key).decode()  # type: ignore[attr-defined]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    account = _staff_account(request)
    if isinstance(account, HttpResponse):
        return account
    next_url = _safe_next(request)
    confirmed = selectors.totp_devices_of(account, confirmed=True).first()
    if confirmed is not None and not _is_verified(request):
        # Replacing an authenticator needs the current one first.
        return redirect(_with_next("identity:otp_verify", _with_next("identity:otp_setup", next_url)))
    pending = selectors.totp_devices_of(account, confirmed=False).first()
    form = TokenForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "start":
            services.totp_enrol_start(user=account)
            return redirect(_with_next("identity:otp_setup", next_url))
        if action != "confirm" or pending is None:
            messages.error(request, _("This set-up has expired or was replaced. Start again."))
            return redirect(_with_next("identity:otp_setup", next_url))
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                services.totp_enrol_confirm(
                    user=account, device=pending, token=form.cleaned_data["token"], request=request
                )
            except DomainError as exc:
                form.add_error("token" if "token" in exc.fields else None, str(exc.message))
                status = exc.status
            else:
                messages.success(
                    request, _("Your second factor is set up. We will ask for a code after each login.")
                )
                return redirect(next_url or "identity:otp_setup")
        else:
            status = 400
    context = {
        "confirmed": confirmed,
        "pending": pending,
        "form": form,
        "next": next_url,
        "required": _policy_required(),
    }
    if pending is not None:
        context["qr_svg"] = _qr_svg(pending.config_url)
        context["secret"] = _secret_groups(pending)
    return render(request, "identity/otp/setup.html", context, status=status)


def _policy_required() -> bool:
    return settings.STAFF_2FA == "required"


@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    account = _staff_account(request)
    if isinstance(account, HttpResponse):
        return account
    next_url = _safe_next(request)
    if _is_verified(request):
        return redirect(next_url or "portal:workbench")
    if not selectors.has_confirmed_totp_device(account):
        return redirect(_with_next("identity:otp_setup", next_url))
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.totp_verify(request=request, user=account, token=form.cleaned_data["token"])
            except DomainError as exc:
                form.add_error("token" if "token" in exc.fields else None, str(exc.message))
                status = exc.status
            else:
                return redirect(next_url or "portal:workbench")
        else:
            status = 400
    return render(request, "identity/otp/verify.html", {"form": form, "next": next_url}, status=status)
