"""The message centre (消息中心): every account's messages, newest first, with mark-read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import NotFound
from tongban.identity.selectors import portal_user
from tongban.notifications import selectors, services

PAGE_SIZE = 20


@login_required
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.messages_for(user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/notifications/list.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def message_read(request: HttpRequest, message_id: int) -> HttpResponse:
    """Mark the message read; with ``open`` go on to what it is about, otherwise back to the list."""
    try:
        message = services.message_mark_read(message_id=message_id, by=portal_user(request))
    except NotFound as error:
        raise Http404(str(error.message)) from None
    safe = url_has_allowed_host_and_scheme(message.link, {request.get_host()}, request.is_secure())
    if request.POST.get("open") and message.link and safe:
        return redirect(message.link)
    return redirect("notices:list")


@login_required
@require_POST
def messages_read_all(request: HttpRequest) -> HttpResponse:
    services.messages_mark_all_read(by=portal_user(request))
    return redirect("notices:list")
