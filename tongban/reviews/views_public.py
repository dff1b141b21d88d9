"""The pages citizens and visitors use: rating a case, the window tablet, the public statistics.

- /reviews/case/<id>/ — the applicant rates a concluded case (once) and, after the rectification of a
  bad rating, rates it again; anyone else's case is a 404.
- /reviews/visit/<token>/ — the tablet at the window: big buttons, no login, one rating per visit.
- /reviews/stats/ — per-department figures for a period, no login, no personal data, no comments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.identity.selectors import portal_user
from tongban.reviews import selectors, services
from tongban.reviews.choices import ReviewChannel
from tongban.reviews.forms import PeriodForm, RatingForm

T = TypeVar("T")


def found(lookup: Callable[[], T]) -> T:
    try:
        return lookup()
    except NotFound:
        raise Http404 from None


def refuse_or_keep(exc: DomainError) -> None:
    """A refused permission is a 403 page and a vanished object a 404; other errors go on the form."""
    if isinstance(exc, PermissionDenied):
        raise PageForbidden(str(exc.message)) from None
    if isinstance(exc, NotFound):
        raise Http404 from None


def _case_page(
    request: HttpRequest,
    case: Any,
    *,
    form: RatingForm | None = None,
    re_rate_form: RatingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    state = selectors.case_review_state(case)
    context = {
        "case": case,
        "state": state,
        "form": form or (RatingForm(channel=ReviewChannel.ONLINE) if state.rateable else None),
        "re_rate_form": re_rate_form
        or (RatingForm(channel=ReviewChannel.ONLINE, prefix="again") if state.can_re_rate else None),
        "concluded": case.status in selectors.RATEABLE_STATUSES,
    }
    return render(request, "reviews/case.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def case_review(request: HttpRequest, case_id: int) -> HttpResponse:
    user = portal_user(request)
    case = found(lambda: selectors.case_of_applicant(user, case_id=case_id))
    if request.method == "GET":
        return _case_page(request, case)
    form = RatingForm(request.POST, channel=ReviewChannel.ONLINE)
    if not form.is_valid():
        return _case_page(request, case, form=form, status=400)
    try:
        review = services.review_submit(case_id=case.pk, by=user, **form.service_kwargs())
    except DomainError as exc:
        refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _case_page(request, case, form=form, status=exc.status)
    if review.is_bad:
        messages.success(
            request,
            _("Thank you. Your rating was sent to %(department)s, which must put it right and call you back.")
            % {"department": case.department.name},
        )
    else:
        messages.success(request, _("Thank you for your rating."))
    return redirect("reviews:case", case_id=case.pk)


@login_required
@require_POST
def case_re_rate(request: HttpRequest, case_id: int) -> HttpResponse:
    user = portal_user(request)
    case = found(lambda: selectors.case_of_applicant(user, case_id=case_id))
    form = RatingForm(request.POST, channel=ReviewChannel.ONLINE, prefix="again")
    if not form.is_valid():
        return _case_page(request, case, re_rate_form=form, status=400)
    try:
        services.review_re_rate(case_id=case.pk, by=user, **form.service_kwargs())
    except DomainError as exc:
        refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _case_page(request, case, re_rate_form=form, status=exc.status)
    messages.success(request, _("Thank you: your new rating replaces the first one."))
    return redirect("reviews:case", case_id=case.pk)


@require_http_methods(["GET", "POST"])
def visit_rate(request: HttpRequest, token: str) -> HttpResponse:
    """The window tablet's page: no login (the one-time token is the key), big buttons."""
    visit = found(lambda: selectors.visit_by_token(token))
    form = RatingForm(request.POST or None, channel=ReviewChannel.ONSITE)
    status = 200
    problem = ""
    if visit.rated_at is not None:
        return render(request, "reviews/visit_done.html", {"visit": visit})
    if request.method == "POST":
        if form.is_valid():
            try:
                services.visit_rate(token=token, **form.service_kwargs())
            except DomainError as exc:
                refuse_or_keep(exc)
                if exc.code == "review_exists":
                    return render(request, "reviews/visit_done.html", {"visit": visit})
                form.add_domain_error(exc)
                status = exc.status
                problem = str(exc.message) if not exc.fields else ""
            else:
                return render(request, "reviews/visit_done.html", {"visit": visit})
        else:
            status = 400
    expired = timezone.now() > visit.expires_at
    context = {"visit": visit, "form": form, "problem": problem, "expired": expired}
    if expired and status == 200:
        status = 410
    return render(request, "reviews/visit.html", context, status=status)


@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    start, end = form.period(selectors.default_period())
    figures = selectors.department_figures(start, end)
    context = {
        "form": form,
        "start": start,
        "end": end,
        "figures": figures,
        "total": selectors.totals(figures),
        "levels": selectors.level_labels(),
    }
    return render(request, "reviews/public/stats.html", context)
