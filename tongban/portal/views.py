from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tongban.core.errors import DomainError
from tongban.core.masking import mask_phone
from tongban.identity import selectors, services
from tongban.identity.selectors import portal_user
from tongban.portal.forms import CitizenRegisterForm, EnterpriseRegisterForm, LoginForm, PasswordChangeForm


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


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


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.logout(request=request)
    messages.success(request, _("You have logged out."))
    return redirect("portal:home")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or request.POST.get("kind") or "citizen"
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
            services.login(
                request=request,
                identifier=user.credit_code or user.resident_id or "",
                password=data["password"],
            )
            messages.success(request, _("Your account is ready."))
            return redirect("portal:profile")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "portal/register.html",
        {"form": form, "kind": "enterprise" if kind == "enterprise" else "citizen"},
        status=status,
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    context = {
        "account": user,
        "roles": sorted(selectors.roles_of(user)),
        "agents": selectors.enterprise_agents(user) if user.is_enterprise else [],
        "represented": selectors.enterprises_represented_by(user) if user.is_citizen else [],
        "masked_phone": mask_phone(user.phone),
    }
    return render(request, "portal/profile.html", context)


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
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("portal:profile")
    elif request.method == "POST":
        status = 400
    return render(request, "portal/password_change.html", {"form": form}, status=status)


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    return render(request, "portal/workbench.html", {"roles": sorted(selectors.roles_of(user))})
