"""The holder's licence wallet (一人一档 / 一企一档), mounted at /wallet/.

Citizens and enterprise accounts see their own licences with every use of each, download them (the
PDF with the QR code and the watermark, or the signed data file; each download is a recorded use),
let a third party see one with a code, and withdraw any authorisation. Someone else's licence or
authorisation is the portal's 404, whatever the reason; a staff account gets a 403 page saying
staff have no wallet. Reads go through ``selectors``, every write through one ``services`` call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import AccountKind
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.licences import rendering, selectors, services
from tongban.licences.choices import LicenceStatus
from tongban.licences.forms import ThirdPartyForm
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceUse

HOLDER_KINDS = (AccountKind.CITIZEN, AccountKind.ENTERPRISE)
USES_PER_PAGE = 50
# The code of the authorisation just made, shown once on the page the form redirects to.
NEW_CODE_SESSION_KEY = "licences_wallet_new_code"


def holder_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in as a citizen or an enterprise (the view gets the account); staff get a 403 page.
    Nothing of a wallet is cached by the browser or a proxy."""

    @login_required
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = portal_user(request)
        if user.kind not in HOLDER_KINDS:
            message = _("Staff accounts have no licence wallet; log in as a citizen or an enterprise.")
            return render(request, "licences/wallet/not_holder.html", {"message": message}, status=403)
        return view(request, user, *args, **kwargs)

    return wrapper


def _licence_or_404(user: User, pk: int) -> Licence:
    try:
        return services.holder_licence(by=user, pk=pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


def _authorisation_or_404(user: User, pk: int, auth_pk: int) -> LicenceAuthorisation:
    try:
        auth = selectors.authorisation_of_holder(user, auth_pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if auth.licence_id != pk:
        raise Http404(_("No such authorisation, or it is not yours."))
    return auth


# --- the list -----------------------------------------------------------------------------------


@require_GET
@holder_required
def wallet(request: HttpRequest, user: User) -> HttpResponse:
    """Every licence filed under the account's ID number or credit code: valid, revoked, expired."""
    groups: dict[str, list[dict[str, Any]]] = {state: [] for state in LicenceStatus.values}
    for licence in selectors.licences_of(user).order_by("type__name", "-issued_on", "-pk"):
        state = selectors.effective_status(licence)
        groups[state].append({"licence": licence, "until": rendering.until_text(licence)})
    sections = [
        (state, rendering.status_label(state), groups[state])
        for state in (LicenceStatus.VALID, LicenceStatus.REVOKED, LicenceStatus.EXPIRED)
    ]
    context = {"sections": sections, "total": sum(len(rows) for rows in groups.values())}
    return render(request, "licences/wallet/list.html", context)


# --- one licence --------------------------------------------------------------------------------


def _qr_svg(licence: Licence) -> SafeString:
    svg = rendering.qr(licence).svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title=_("QR code of the licence's verification page")
    )
    # segno writes only geometry and the title we give it (escaped by segno): no user input.
    return mark_safe(svg)  # noqa: S308


def _authorisation_rows(licence: Licence) -> list[dict[str, Any]]:
    rows = []
    for auth in selectors.authorisations_of(licence):
        if auth.revoked_at is not None:
            state = "withdrawn"
        elif selectors.authorisation_active(auth):
            state = "active"
        else:
            state = "expired"
        rows.append({"auth": auth, "state": state})
    return rows


def _uses(request: HttpRequest, licence: Licence) -> tuple[Page[LicenceUse], list[dict[str, Any]]]:
    """One page of the licence's uses, newest first, each with who used it as the holder sees it."""
    page = Paginator(selectors.uses_of(licence), USES_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for use in page.object_list:
        who, note = rendering.use_party(use)
        rows.append({"use": use, "who": who, "note": note})
    return page, rows


def _detail(request: HttpRequest, licence: Licence, *, form: ThirdPartyForm | None = None) -> dict[str, Any]:
    state = selectors.effective_status(licence)
    page, uses = _uses(request, licence)
    return {
        "licence": licence,
        "state": state,
        "state_label": rendering.status_label(state),
        "holder_rows": rendering.holder_rows(licence),
        "data_rows": rendering.data_rows(licence),
        "validity": rendering.validity_text(licence),
        "verify_url": selectors.verification_url(licence.identifier),
        "qr": _qr_svg(licence),
        "uses": uses,
        "uses_page": page,
        "authorisations": _authorisation_rows(licence),
        "form": form or ThirdPartyForm(),
    }


@require_GET
@holder_required
def detail(request: HttpRequest, user: User, pk: int) -> HttpResponse:
    licence = _licence_or_404(user, pk)
    return render(request, "licences/wallet/detail.html", _detail(request, licence))


@require_GET
@holder_required
def download(request: HttpRequest, user: User, pk: int, fmt: str) -> HttpResponse:
    """The PDF or the signed data file (named after the identifier); the download is a recorded use."""
    licence = _licence_or_404(user, pk)
    try:
        services.licence_download(licence=licence, by=user, fmt=fmt)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if fmt == "pdf":
        response = HttpResponse(rendering.licence_pdf(licence), content_type="application/pdf")
    else:
        body = json.dumps(selectors.signed_document(licence), ensure_ascii=False, indent=2)
        response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{licence.identifier}.{fmt}"'
    return response


# --- authorisations -----------------------------------------------------------------------------


@require_POST
@holder_required
def authorise(request: HttpRequest, user: User, pk: int) -> HttpResponse:
    """Let a third party see the licence; its code is shown once, on the page this redirects to."""
    licence = _licence_or_404(user, pk)
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
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            request.session[NEW_CODE_SESSION_KEY] = {"authorisation": auth.pk, "code": code}
            return redirect("licences_wallet:authorised", pk=licence.pk, auth_pk=auth.pk)
    return render(request, "licences/wallet/detail.html", _detail(request, licence, form=form), status=400)


@require_GET
@holder_required
def authorised(request: HttpRequest, user: User, pk: int, auth_pk: int) -> HttpResponse:
    """One authorisation; the code of one just made, the first time only (only its hash is stored)."""
    auth = _authorisation_or_404(user, pk, auth_pk)
    code = ""
    pending = request.session.get(NEW_CODE_SESSION_KEY)
    if isinstance(pending, dict) and pending.get("authorisation") == auth.pk:
        code = str(pending.get("code") or "")
        del request.session[NEW_CODE_SESSION_KEY]
    context = {
        "licence": auth.licence,
        "auth": auth,
        "code": code,
        "active": selectors.authorisation_active(auth),
        "shared_url": settings.PUBLIC_URL + reverse("licences_public:shared"),
    }
    return render(request, "licences/wallet/authorised.html", context)


@require_POST
@holder_required
def withdraw(request: HttpRequest, user: User, pk: int, auth_pk: int) -> HttpResponse:
    auth = _authorisation_or_404(user, pk, auth_pk)
    try:
        services.authorisation_withdraw(authorisation=auth, by=user)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The authorisation has been withdrawn: it can no longer be used."))
    return redirect("licences_wallet:detail", pk=pk)
