"""The call record (who called our data and why; our systems' calls) and the daily statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import DomainError
from tongban.exchange import permissions, selectors, services
from tongban.exchange.forms import OPERATIONS, OUTCOMES, CallFilterForm, StatsFilterForm
from tongban.exchange.views.common import (
    administrator_required,
    data_staff_required,
    found,
    query_without_page,
    refuse_or_keep,
    slice_page,
)
from tongban.identity.selectors import portal_user

CALLS_PAGE_SIZE = 50
STATS_PAGE_SIZE = 100
DEFAULT_CALL_DAYS = 7
DEFAULT_STATS_DAYS = 30


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _call_filters(data: dict[str, Any]) -> dict[str, Any]:
    resource, consumer = data.get("resource"), data.get("consumer")
    since, until = data.get("since"), data.get("until")
    return {
        "side": data.get("side") or "",
        "resource_id": resource.pk if resource else None,
        "consumer_id": consumer.pk if consumer else None,
        "outcome": data.get("outcome") or "",
        "since": _start_of(since) if since else None,
        "until": _start_of(until + dt.timedelta(days=1)) if until else None,
    }


@data_staff_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    """Opening the call record is a sensitive read: each page is audited with its filters."""
    user = portal_user(request)
    today = timezone.localdate()
    form = CallFilterForm(
        request.GET or None,
        resources=selectors.filter_resources(user),
        departments=selectors.filter_departments(),
        initial={"since": today - dt.timedelta(days=DEFAULT_CALL_DAYS - 1), "until": today},
    )
    context: dict[str, Any] = {
        "form": form,
        "section": "calls",
        "page": None,
        "outcomes": OUTCOMES,
        "operations": OPERATIONS,
    }
    if form.is_bound and not form.is_valid():
        return render(request, "exchange/call_list.html", context, status=400)
    data = form.cleaned_data if form.is_bound else dict(form.initial)
    filters = _call_filters(data)
    page = slice_page(selectors.calls_search(user, **filters), request.GET.get("page"), CALLS_PAGE_SIZE)
    services.calls_view(by=user, filters=filters, page=page.number)
    context.update(
        {"page": page, "rows": selectors.call_rows(list(page.rows)), "query": query_without_page(request.GET)}
    )
    return render(request, "exchange/call_list.html", context)


@data_staff_required
@require_GET
def call_detail(request: HttpRequest, call_id: Any) -> HttpResponse:
    user = portal_user(request)
    call = found(lambda: selectors.call_for_staff(user, call_id))
    services.calls_view(by=user, filters={}, call=call)
    context = {
        "row": selectors.call_rows([call])[0],
        "batch_keys": [selectors.short_key_hash(h) for h in call.key_hashes],
        "outcomes": OUTCOMES,
        "operations": OPERATIONS,
        "section": "calls",
    }
    return render(request, "exchange/call_detail.html", context)


@data_staff_required
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    today = timezone.localdate()
    form = StatsFilterForm(
        request.GET or None,
        resources=selectors.filter_resources(user),
        departments=selectors.filter_departments(),
        initial={"since": today - dt.timedelta(days=DEFAULT_STATS_DAYS - 1), "until": today},
    )
    context: dict[str, Any] = {
        "form": form,
        "rollup": selectors.rollup_status(),
        "is_administrator": permissions.is_administrator(user),
        "section": "stats",
        "page": None,
    }
    if form.is_bound and not form.is_valid():
        return render(request, "exchange/stats.html", context, status=400)
    data = form.cleaned_data if form.is_bound else dict(form.initial)
    last = data.get("until") or today
    first = data.get("since") or last - dt.timedelta(days=DEFAULT_STATS_DAYS - 1)
    resource, consumer = data.get("resource"), data.get("consumer")
    rows = selectors.daily_stats(
        user,
        first=first,
        last=last,
        resource_id=resource.pk if resource else None,
        consumer_id=consumer.pk if consumer else None,
    )
    context.update(
        {
            "first": first,
            "last": last,
            "totals": selectors.stats_totals(rows),
            "by_resource": selectors.stats_grouped(rows, "resource"),
            "by_consumer": selectors.stats_grouped(rows, "consumer"),
            "page": Paginator(rows, STATS_PAGE_SIZE).get_page(request.GET.get("page")),
            "query": query_without_page(request.GET),
        }
    )
    return render(request, "exchange/stats.html", context)


@administrator_required
@require_POST
def stats_recount(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    try:
        rows = services.stats_recount(by=user)
    except DomainError as exc:
        refuse_or_keep(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("Recounted today and yesterday: %(rows)d rows of statistics.") % {"rows": rows}
        )
    return redirect("exchange:stats")
