"""Pages of the citizen and enterprise portal: home, login, registration, the account pages.

Each view parses a form, calls one identity service and renders; service errors come back as
``DomainError`` and are shown on the form field they concern.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tongban.core.errors import DomainError, Locked
from tongban.core.masking import mask_phone, mask_resident_id
from tongban.exchange import selectors as exchange_selectors
from tongban.exchange import services as exchange_services
from tongban.identity import selectors, services
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.portal.forms import (
    AgentAddForm,
    CitizenRegisterForm,
    EnterpriseRegisterForm,
    LoginForm,
    PasswordChangeForm,
    PhoneForm,
)
from tongban.resources import selectors as resources_selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _locked_page(request: HttpRequest, error: Locked) -> HttpResponse:
    context = {"message": error.message, "unlock_at": error.extra.get("unlock_at")}
    return render(request, "identity/locked_out.html", context, status=error.status)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.login(
                request=request,
                identifier=form.cleaned_data["identifier"],
                password=form.cleaned_data["password"],
            )
        except Locked as exc:
            # django-axes' middleware answers the same page (tongban.identity.views.lockout_response).
            return _locked_page(request, exc)
        except DomainError as exc:
            form.add_domain_error(exc)
            status = exc.status
        else:
            return redirect(_safe_next(request, "portal:profile"))
    elif request.method == "POST":
        status = 400
    return render(
        request, "portal/login.html", {"form": form, "next": _safe_next(request, "")}, status=status
    )


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation (a link must not end a session); POST logs out."""
    if request.method == "POST":
        services.logout(request=request)
        messages.success(request, _("You have logged out."))
        return redirect("portal:home")
    if not request.user.is_authenticated:
        return redirect("portal:home")
    return render(request, "portal/logout.html")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    kind = (
        "enterprise" if (request.POST.get("kind") or request.GET.get("kind")) == "enterprise" else "citizen"
    )
    form_class = EnterpriseRegisterForm if kind == "enterprise" else CitizenRegisterForm
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("password_confirm")
        try:
            if kind == "enterprise":
                user = services.enterprise_register(**data)
            else:
                user = services.citizen_register(**data)
        except DomainError as exc:
            form.add_domain_error(exc)
            status = exc.status
        else:
            try:
                services.login(
                    request=request,
                    identifier=user.credit_code or user.resident_id or "",
                    password=data["password"],
                )
            except DomainError:
                messages.warning(request, _("Your account is ready; please log in."))
                return redirect("portal:login")
            messages.success(request, _("Your account is ready. You are logged in."))
            return redirect("portal:profile")
    elif request.method == "POST":
        status = 400
    return render(request, "portal/register.html", {"form": form, "kind": kind}, status=status)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    context: dict[str, Any] = {
        "account": user,
        "masked_phone": mask_phone(user.phone),
        "masked_legal_rep_id": mask_resident_id(user.legal_rep_resident_id),
        "agent_count": selectors.enterprise_agents(user).count() if user.is_enterprise else 0,
        "represented": list(selectors.enterprises_represented_by(user).order_by("name"))
        if user.is_citizen
        else [],
    }
    return render(request, "portal/profile.html", context)


@login_required
@require_POST
def real_name_check(request: HttpRequest) -> HttpResponse:
    """Raise a citizen's real-name level to 2 by checking the account's name against the population
    base (an exchange verify call: nothing of the base is shown or returned)."""
    user = portal_user(request)
    try:
        exchange_services.real_name_verify(user=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your name and ID number match the population base: real-name level 2."))
    return redirect("portal:profile")


@login_required
@require_http_methods(["GET", "POST"])
def phone_change(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = PhoneForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(user=user, phone=form.cleaned_data["phone"])
        except DomainError as exc:
            form.add_domain_error(exc)
            status = exc.status
        else:
            messages.success(request, _("Your mobile phone number has been changed."))
            return redirect("portal:profile")
    elif request.method == "POST":
        status = 400
    context = {"form": form, "masked_phone": mask_phone(user.phone)}
    return render(request, "portal/phone_change.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user = portal_user(request)
        try:
            services.password_change(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["password"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
            status = exc.status
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("portal:profile")
    elif request.method == "POST":
        status = 400
    return render(request, "portal/password_change.html", {"form": form}, status=status)


def _enterprise(request: HttpRequest) -> User:
    user = portal_user(request)
    if not user.is_enterprise:
        raise PermissionDenied(_("Only enterprise accounts authorise agents."))
    return user


@login_required
@require_http_methods(["GET", "POST"])
def agents(request: HttpRequest) -> HttpResponse:
    """The enterprise's authorised agents (经办人): list, and add one by resident ID."""
    enterprise = _enterprise(request)
    form = AgentAddForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            link = services.enterprise_agent_add(
                enterprise=enterprise,
                agent_resident_id=form.cleaned_data["agent_resident_id"],
                by=enterprise,
            )
        except DomainError as exc:
            form.add_domain_error(exc)
            status = exc.status
        else:
            messages.success(
                request,
                _("%(name)s (%(id)s) may now act for the enterprise.")
                % {"name": link.agent.masked_name, "id": link.agent.masked_resident_id},
            )
            return redirect("portal:agents")
    elif request.method == "POST":
        status = 400
    context = {"form": form, "links": selectors.enterprise_agents(enterprise)}
    return render(request, "portal/agents.html", context, status=status)


@login_required
@require_POST
def agent_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    enterprise = _enterprise(request)
    # Only this enterprise's active links: another enterprise's link id is a 404, not a hint.
    link = get_object_or_404(selectors.enterprise_agents(enterprise), pk=link_id)
    try:
        services.enterprise_agent_revoke(link=link, by=enterprise)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("%(name)s (%(id)s) may no longer act for the enterprise.")
            % {"name": link.agent.masked_name, "id": link.agent.masked_resident_id},
        )
    return redirect("portal:agents")


@staff_required()
def workbench(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    roles = sorted(selectors.roles_of(user))
    context: dict[str, Any] = {"roles": roles}
    if {"data_officer", "administrator"} & set(roles):
        context["data_counts"] = resources_selectors.review_counts(user)
        context["grants_to_decide"] = exchange_selectors.grants_to_decide(user).count()
    return render(request, "portal/workbench.html", context)
