"""The overview, the resources one may apply for, applications and grants with their actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.catalog import selectors as catalog_selectors
from tongban.core.errors import DomainError
from tongban.exchange import permissions, selectors, services
from tongban.exchange.choices import GrantStatus
from tongban.exchange.forms import (
    GRANT_STATUSES,
    EmptyForm,
    GrantableFilterForm,
    GrantFilterForm,
    GrantRequestForm,
    NoteForm,
    ReasonForm,
)
from tongban.exchange.models import AccessGrant
from tongban.exchange.views.common import data_staff_required, found, query_without_page, refuse_or_keep
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.resources.choices import SharingType

PAGE_SIZE = 50
OVERVIEW_ROWS = 10


@data_staff_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    ours = selectors.grants_search(user, side="consumer")
    to_decide = selectors.grants_to_decide(user)
    context = {
        "our_grants": list(ours[:OVERVIEW_ROWS]),
        "our_grant_count": ours.count(),
        "to_decide": list(to_decide[:OVERVIEW_ROWS]),
        "to_decide_count": to_decide.count(),
        "figures": selectors.stats_overview(user),
        "statuses": GRANT_STATUSES,
        "is_administrator": permissions.is_administrator(user),
        "section": "overview",
    }
    return render(request, "exchange/overview.html", context)


# --- applying ------------------------------------------------------------------------------------


@data_staff_required
@require_GET
def resource_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = GrantableFilterForm(request.GET or None, providers=selectors.grantable_providers(user))
    filters: dict[str, Any] = {}
    if form.is_valid():
        provider = form.cleaned_data["provider"]
        filters = {"q": form.cleaned_data["q"], "provider_id": provider.pk if provider else None}
    page = Paginator(selectors.grantable_search(user, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    resources = list(page.object_list)
    open_grants = selectors.open_grants_of(user.department_id, [r.pk for r in resources])
    context = {
        "form": form,
        "page": page,
        "rows": [(r, open_grants.get(r.pk)) for r in resources],
        "query": query_without_page(request.GET),
        "statuses": GRANT_STATUSES,
        "is_administrator": permissions.is_administrator(user),
        "section": "resources",
    }
    return render(request, "exchange/resource_list.html", context)


@data_staff_required
@require_http_methods(["GET", "POST"])
def grant_apply(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    resource = found(lambda: selectors.published_resource_for_request(pk))
    form = GrantRequestForm(
        request.POST or None,
        resource=resource,
        departments=selectors.consumer_departments_for(user),
        service_items=catalog_selectors.published_items(),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                grant = services.grant_request(resource=resource, by=user, **form.service_kwargs())
            except DomainError as exc:
                refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                if grant.status == GrantStatus.ACTIVE:
                    messages.success(request, _("Granted: the resource is shared unconditionally."))
                else:
                    messages.success(request, _("Applied: the provider's data officers decide on it."))
                return redirect("exchange:grant_detail", pk=grant.pk)
        else:
            status = 400
    items = list(resource.items.all())
    context = {
        "resource": resource,
        "form": form,
        "item_rows": list(zip(items, form["items"], strict=True)),
        "not_shared": resource.sharing_type == SharingType.NOT_SHARED,
        "unconditional": resource.sharing_type == SharingType.UNCONDITIONAL,
        "open_grant": selectors.open_grants_of(user.department_id, [resource.pk]).get(resource.pk),
        "statuses": GRANT_STATUSES,
        "section": "resources",
    }
    return render(request, "exchange/grant_apply.html", context, status=status)


# --- grants --------------------------------------------------------------------------------------


@data_staff_required
@require_GET
def grant_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = GrantFilterForm(request.GET or None, resources=selectors.grant_resources_for(user))
    filters: dict[str, Any] = {}
    if form.is_valid():
        resource = form.cleaned_data["resource"]
        filters = {
            "side": form.cleaned_data["side"],
            "status": form.cleaned_data["status"],
            "resource_id": resource.pk if resource else None,
        }
    page = Paginator(selectors.grants_search(user, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request.GET),
        "statuses": GRANT_STATUSES,
        "section": "grants",
    }
    return render(request, "exchange/grant_list.html", context)


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "approve": NoteForm,
    "refuse": ReasonForm,
    "suspend": ReasonForm,
    "resume": EmptyForm,
    "revoke": ReasonForm,
}


def _action_form(action: str, data: Any = None) -> Any:
    return ACTION_FORMS[action](data, auto_id=f"id_{action}_%s")


def _detail(
    request: HttpRequest,
    user: User,
    grant: AccessGrant,
    *,
    bound: tuple[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    allowed = selectors.grant_actions(user, grant)
    action_forms = {action: _action_form(action) for action in allowed}
    if bound is not None:
        action_forms[bound[0]] = bound[1]
    context = {
        "grant": grant,
        "effective": selectors.effective_status(grant),
        "items": selectors.grant_items(grant),
        "service_items": list(grant.service_items.select_related("current_version", "department")),
        "history": selectors.grant_history(grant),
        "actions": action_forms,
        "is_consumer": permissions.acts_for(user, grant.consumer),
        "is_provider": permissions.acts_for(user, grant.resource.provider),
        "statuses": GRANT_STATUSES,
        "section": "grants",
    }
    return render(request, "exchange/grant_detail.html", context, status=status)


@data_staff_required
@require_GET
def grant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    grant = found(lambda: selectors.grant_for_staff(user, pk))
    return _detail(request, user, grant)


def _approve(grant: AccessGrant, by: User, data: dict[str, Any]) -> AccessGrant:
    return services.grant_approve(grant=grant, by=by, reason=data["reason"])


def _refuse(grant: AccessGrant, by: User, data: dict[str, Any]) -> AccessGrant:
    return services.grant_refuse(grant=grant, by=by, reason=data["reason"])


def _suspend(grant: AccessGrant, by: User, data: dict[str, Any]) -> AccessGrant:
    return services.grant_suspend(grant=grant, by=by, reason=data["reason"])


def _resume(grant: AccessGrant, by: User, data: dict[str, Any]) -> AccessGrant:
    return services.grant_resume(grant=grant, by=by)


def _revoke(grant: AccessGrant, by: User, data: dict[str, Any]) -> AccessGrant:
    return services.grant_revoke(grant=grant, by=by, reason=data["reason"])


ACTIONS: dict[str, tuple[Callable[[AccessGrant, User, dict[str, Any]], AccessGrant], Any]] = {
    "approve": (_approve, gettext_lazy("The application is approved: the consumer may call the resource.")),
    "refuse": (_refuse, gettext_lazy("The application is refused.")),
    "suspend": (_suspend, gettext_lazy("The grant is suspended: calls are refused until it is resumed.")),
    "resume": (_resume, gettext_lazy("The grant is resumed.")),
    "revoke": (_revoke, gettext_lazy("The grant is revoked.")),
}


@data_staff_required
@require_POST
def grant_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One POST per action; the service decides whether this user may take it on this grant now."""
    user = portal_user(request)
    grant = found(lambda: selectors.grant_for_staff(user, pk))
    form = _action_form(action, request.POST)
    if not form.is_valid():
        return _detail(request, user, grant, bound=(action, form), status=400)
    act, done = ACTIONS[action]
    try:
        act(grant, user, form.cleaned_data)
    except DomainError as exc:
        refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _detail(request, user, grant, bound=(action, form), status=exc.status)
    messages.success(request, str(done))
    return redirect("exchange:grant_detail", pk=grant.pk)
