"""Administrators' pages for department systems registered as OIDC clients, under /staff/clients/.

Every system is looked up through ``selectors_clients.clients_visible_to``: a system owned by a
department outside the administrator's jurisdiction does not exist for these pages (404). A client
secret is shown once, in the answer to the request that created it, and never stored in plain.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tongban.core.errors import DomainError
from tongban.core.forms import DomainForm
from tongban.identity import selectors_clients, services
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import Department, DepartmentSystem, User
from tongban.identity.selectors import portal_user
from tongban.identity.services.clients import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    CONFIDENTIAL,
    PUBLIC,
    ClientCredentials,
)

PAGE_SIZE = 50


class ClientRegisterForm(DomainForm):
    name = forms.CharField(
        label=gettext_lazy("System name"),
        max_length=100,
        help_text=gettext_lazy("As people know it, e.g. 不动产登记系统."),
    )
    department = forms.ModelChoiceField(
        label=gettext_lazy("Owning department"), queryset=Department.objects.none()
    )
    grant_type = forms.ChoiceField(
        label=gettext_lazy("What the system does"),
        choices=[
            (
                AUTHORIZATION_CODE,
                gettext_lazy("Signs people in with their Tongban account (authorization code)"),
            ),
            (
                CLIENT_CREDENTIALS,
                gettext_lazy("Calls platform APIs as itself, with no person (client credentials)"),
            ),
        ],
        initial=AUTHORIZATION_CODE,
        widget=forms.RadioSelect,
    )
    client_type = forms.ChoiceField(
        label=gettext_lazy("Client type"),
        choices=[
            (CONFIDENTIAL, gettext_lazy("Confidential: runs on a server that keeps a secret")),
            (PUBLIC, gettext_lazy("Public: a mobile or browser app that cannot keep a secret")),
        ],
        initial=CONFIDENTIAL,
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label=gettext_lazy("Redirect URIs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "Where people return after signing in; one per line, matched exactly. "
            "Leave empty for a system that signs nobody in."
        ),
    )
    post_logout_redirect_uris = forms.CharField(
        label=gettext_lazy("Logout return URIs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=gettext_lazy("Where people may return after logging out through the system; one per line."),
    )
    skip_authorization = forms.BooleanField(
        label=gettext_lazy("Skip the consent screen"),
        required=False,
        initial=True,
        help_text=gettext_lazy(
            "For the government's own systems: people are signed in without being asked to agree "
            "to share their details."
        ),
    )

    def __init__(self, *args: Any, admin: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors_clients.client_departments(admin)  # type: ignore[attr-defined]
        self.fields["department"].initial = admin.department_id


def _secret_page(
    request: HttpRequest, system: DepartmentSystem, credentials: ClientCredentials
) -> HttpResponse:
    context = {
        "system": system,
        "application": credentials.application,
        "client_secret": credentials.client_secret,
        "issuer": settings.PUBLIC_URL,
    }
    response = render(request, "identity/clients/secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


@staff_required(Role.ADMINISTRATOR)
def client_list(request: HttpRequest) -> HttpResponse:
    admin = portal_user(request)
    page = Paginator(selectors_clients.clients_visible_to(admin), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "identity/clients/list.html", {"page": page})


@staff_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
@never_cache
def client_register(request: HttpRequest) -> HttpResponse:
    admin = portal_user(request)
    form = ClientRegisterForm(request.POST or None, admin=admin)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                credentials = services.client_register(
                    name=data["name"],
                    redirect_uris=data["redirect_uris"].splitlines(),
                    post_logout_redirect_uris=data["post_logout_redirect_uris"].splitlines(),
                    client_type=data["client_type"],
                    grant_type=data["grant_type"],
                    department=data["department"],
                    skip_authorization=data["skip_authorization"],
                    by=admin,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                system = credentials.application.department_system
                messages.success(
                    request, _("The system %(name)s is registered.") % {"name": system.application.name}
                )
                return _secret_page(request, system, credentials)
        else:
            status = 400
    return render(request, "identity/clients/register.html", {"form": form}, status=status)


@staff_required(Role.ADMINISTRATOR)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    system = selectors_clients.client_for(portal_user(request), pk)
    application = system.application
    context = {
        "system": system,
        "application": application,
        "redirect_uris": application.redirect_uris.split(),
        "post_logout_redirect_uris": application.post_logout_redirect_uris.split(),
        "issuer": settings.PUBLIC_URL,
        "is_confidential": application.client_type == CONFIDENTIAL,
        "signs_people_in": application.authorization_grant_type == AUTHORIZATION_CODE,
    }
    return render(request, "identity/clients/detail.html", context)


@staff_required(Role.ADMINISTRATOR)
@require_POST
@never_cache
def client_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    admin = portal_user(request)
    system = selectors_clients.client_for(admin, pk)
    try:
        credentials = services.client_secret_rotate(system=system, by=admin)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("clients:detail", pk=system.pk)
    messages.success(request, _("A new secret was issued; the old one no longer works."))
    return _secret_page(request, system, credentials)


@staff_required(Role.ADMINISTRATOR)
@require_POST
def client_disable(request: HttpRequest, pk: int) -> HttpResponse:
    admin = portal_user(request)
    system = selectors_clients.client_for(admin, pk)
    try:
        services.client_disable(system=system, by=admin)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("The system is disabled; its tokens were revoked and it can no longer sign anyone in.")
        )
    return redirect("clients:detail", pk=system.pk)
