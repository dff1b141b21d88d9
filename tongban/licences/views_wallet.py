"""The holder's licence wallet (一人一档 / 一企一档), mounted at /wallet/.

Citizens and enterprise accounts see their own licences, download them (PDF with the QR code and
the watermark, or the signed data file), authorise a third party, withdraw an authorisation, and
see every use. Someone else's licence is a 404; staff accounts have no wallet.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import AccountKind
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.licences import rendering, selectors, services
from tongban.licences.choices import LicenceStatus
from tongban.licences.forms import ThirdPartyForm
from tongban.licences.models import Licence, LicenceAuthorisation


def _holder(request: HttpRequest) -> User | HttpResponse:
    user = portal_user(request)
    if user.kind not in (AccountKind.CITIZEN, AccountKind.ENTERPRISE):
        return render(
            request,
            "licences/wallet/not_holder.html",
            {"message": _("Staff accounts have no licence wallet; log in as a citizen or an enterprise.")},
            status=403,
        )
    return user


def _licence(user: User, pk: int) -> Licence:
    try:
        return selectors.licence_of_holder(user, pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


@login_required
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    user = _holder(request)
    if isinstance(user, HttpResponse):
        return user
    groups: dict[str, list[Licence]] = {s: [] for s in LicenceStatus.values}
    for licence in selectors.licences_of(user).order_by("type__name", "-issued_on"):
        groups[selectors.effective_status(licence)].append(licence)
    context = {
        "valid": groups[LicenceStatus.VALID],
        "revoked": groups[LicenceStatus.REVOKED],
        "expired": groups[LicenceStatus.EXPIRED],
    }
    return render(request, "licences/wallet/list.html", context)


def _qr_svg(licence: Licence) -> SafeString:
    svg = rendering.qr(licence).svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title=_("Verify this licence")
    )
    # segno writes only geometry and the title we give it (escaped by segno): no user input.
    return mark_safe(svg)  # noqa: S308


def _detail_context(licence: Licence, **extra: Any) -> dict[str, Any]:
    labels = {str(f["key"]): str(f.get("label", f["key"])) for f in licence.type.fields}
    auths = list(selectors.authorisations_of(licence))
    return {
        "licence": licence,
        "state": selectors.effective_status(licence),
        "fields": [(labels.get(k, k), v) for k, v in licence.data.items()],
        "verify_url": selectors.verification_url(licence.identifier),
        "qr": _qr_svg(licence),
        "uses": list(selectors.uses_of(licence)[:200]),
        "authorisations": [(a, selectors.authorisation_active(a)) for a in auths],
        "form": ThirdPartyForm(),
        **extra,
    }


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _holder(request)
    if isinstance(user, HttpResponse):
        return user
    return render(request, "licences/wallet/detail.html", _detail_context(_licence(user, pk)))


@login_required
@require_GET
def download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    user = _holder(request)
    if isinstance(user, HttpResponse):
        return user
    licence = _licence(user, pk)
    services.licence_download(licence=licence, by=user, fmt=fmt)
    if fmt == "pdf":
        response = HttpResponse(rendering.licence_pdf(licence), content_type="application/pdf")
        name = f"{licence.identifier}.pdf"
    else:
        body = json.dumps(selectors.signed_document(licence), ensure_ascii=False, indent=2)
        response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
        name = f"{licence.identifier}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["POST"])
def authorise(request: HttpRequest, pk: int) -> HttpResponse:
    user = _holder(request)
    if isinstance(user, HttpResponse):
        return user
    licence = _licence(user, pk)
    form = ThirdPartyForm(request.POST)
    if form.is_valid():
        try:
            auth, code = services.authorisation_for_third_party(
                licence=licence,
                grantee_name=form.cleaned_data["grantee_name"],
                purpose=form.cleaned_data["purpose"],
                days=form.cleaned_data["days"],
                by=user,
            )
        except DomainError as exc:
            for field, errors in exc.fields.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, str(message))
            if not exc.fields:
                form.add_error(None, str(exc.message))
        else:
            context = _detail_context(licence, new_code=code, new_authorisation=auth)
            return render(request, "licences/wallet/detail.html", context)
    return render(request, "licences/wallet/detail.html", _detail_context(licence, form=form), status=400)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int, auth_pk: int) -> HttpResponse:
    user = _holder(request)
    if isinstance(user, HttpResponse):
        return user
    licence = _licence(user, pk)
    auth = LicenceAuthorisation.objects.filter(pk=auth_pk, licence=licence).first()
    if auth is None:
        raise Http404(_("No such authorisation."))
    try:
        services.authorisation_withdraw(authorisation=auth, by=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The authorisation has been withdrawn."))
    return redirect("licences_wallet:detail", pk=licence.pk)
