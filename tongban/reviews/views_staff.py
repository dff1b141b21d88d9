"""The staff pages of reviews, under /reviews/staff/.

The handling department's staff see its rectifications and ratings, record callbacks, close
rectifications with their result and appeal ratings; supervisors and administrators see those of
their jurisdiction, and supervisors decide appeals. Window clerks start on-site visits for the
tablet; administrators set the rectification time limits. Objects outside the caller's scope are
404, except an appeal by staff of another department, which is refused (403) by the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.core.errors import DomainError
from tongban.core.masking import mask_name
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import has_role, portal_user
from tongban.reviews import permissions, selectors, services
from tongban.reviews.choices import (
    AppealStatus,
    RectificationStatus,
    ReviewChannel,
    ReviewStatus,
    indicators_of,
)
from tongban.reviews.forms import (
    AppealForm,
    CallbackForm,
    CloseForm,
    DecisionForm,
    PolicyForm,
    VisitStartForm,
)
from tongban.reviews.models import Appeal, Rectification, Review
from tongban.reviews.views_public import found, refuse_or_keep

PAGE_SIZE = 50

any_staff = staff_required()
clerk_required = staff_required(Role.WINDOW_CLERK)
administrator_required = staff_required(Role.ADMINISTRATOR)


def _common(user: User, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "is_supervisor": has_role(user, Role.SUPERVISOR),
        "is_administrator": has_role(user, Role.ADMINISTRATOR),
        "is_clerk": has_role(user, Role.WINDOW_CLERK),
    }


# --- rectifications ---------------------------------------------------------------------------


@any_staff
@require_GET
def rectification_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    status = request.GET.get("status", RectificationStatus.OPEN)
    if status not in RectificationStatus.values:
        status = ""
    page = Paginator(selectors.rectifications_for_staff(user, status=status or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        **_common(user, "rectifications"),
        "page_obj": page,
        "status": status,
        "statuses": RectificationStatus.choices,
        "now": timezone.now(),
    }
    return render(request, "reviews/staff/rectification_list.html", context)


def _rectification_page(
    request: HttpRequest,
    user: User,
    rectification: Rectification,
    *,
    callback_form: CallbackForm | None = None,
    close_form: CloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    review = rectification.review
    acts = permissions.is_department_staff(user, rectification.department_id)
    is_open = rectification.status == RectificationStatus.OPEN
    context = {
        **_common(user, "rectifications"),
        "rectification": rectification,
        "review": review,
        "rater_name": mask_name(review.rater.name) if review.rater else "",
        "callbacks": list(rectification.callbacks.select_related("recorded_by")),
        "appeals": list(review.appeals.select_related("filed_by", "decided_by")),
        "acts": acts,
        "callback_form": (callback_form or CallbackForm()) if acts and is_open else None,
        "close_form": (close_form or CloseForm()) if acts and is_open else None,
        "can_appeal": acts and not review.appeals.exists() and review.status == ReviewStatus.VALID,
        "re_rating": getattr(review, "re_rating", None),
        "now": timezone.now(),
        "indicators": _indicator_rows(review),
    }
    return render(request, "reviews/staff/rectification_detail.html", context, status=status)


def _indicator_rows(review: Review) -> list[tuple[str, int]]:
    return [
        (str(label), review.scores[key])
        for key, label in indicators_of(review.channel)
        if key in review.scores
    ]


@any_staff
@require_GET
def rectification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    rectification = found(lambda: selectors.rectification_for_staff(user, pk=pk))
    services.rectification_viewed(rectification=rectification, by=user)
    return _rectification_page(request, user, rectification)


@any_staff
@require_POST
def callback_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    rectification = found(lambda: selectors.rectification_for_staff(user, pk=pk))
    form = CallbackForm(request.POST)
    if not form.is_valid():
        return _rectification_page(request, user, rectification, callback_form=form, status=400)
    try:
        services.callback_record(
            rectification=rectification,
            by=user,
            at=form.when(),
            method=form.cleaned_data["method"],
            applicant_said=form.cleaned_data["applicant_said"],
        )
    except DomainError as exc:
        refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _rectification_page(request, user, rectification, callback_form=form, status=exc.status)
    messages.success(request, _("The callback is recorded."))
    return redirect("reviews:rectification", pk=rectification.pk)


@any_staff
@require_POST
def rectification_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    rectification = found(lambda: selectors.rectification_for_staff(user, pk=pk))
    form = CloseForm(request.POST)
    if not form.is_valid():
        return _rectification_page(request, user, rectification, close_form=form, status=400)
    try:
        services.rectification_close(rectification=rectification, by=user, result=form.cleaned_data["result"])
    except DomainError as exc:
        refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _rectification_page(request, user, rectification, close_form=form, status=exc.status)
    messages.success(request, _("The rectification is closed; the applicant is invited to rate again."))
    return redirect("reviews:rectification", pk=rectification.pk)


# --- ratings and appeals ----------------------------------------------------------------------


@any_staff
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    page = Paginator(selectors.reviews_for_staff(user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reviews/staff/review_list.html", {**_common(user, "reviews"), "page_obj": page})


@any_staff
@require_http_methods(["GET", "POST"])
def appeal_file(request: HttpRequest, pk: int) -> HttpResponse:
    """Only the handling department's staff appeal a rating: anyone else gets a 403."""
    user = portal_user(request)
    review = Review.objects.select_related("department", "case").filter(pk=pk).first()
    if review is None:
        raise Http404
    form = AppealForm(request.POST or None)
    status = 200
    if request.method == "GET":
        if not permissions.is_department_staff(user, review.department_id):
            raise PageForbidden(_("Only the staff of the department that handled the case may do this."))
    elif form.is_valid():
        try:
            appeal = services.appeal_file(
                review=review, by=user, ground=form.cleaned_data["ground"], reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            refuse_or_keep(exc)
            form.add_domain_error(exc)
            status = exc.status
        else:
            messages.success(request, _("The appeal is filed; a supervisor will decide it."))
            return redirect("reviews:appeal", pk=appeal.pk)
    else:
        status = 400
    context = {**_common(user, "reviews"), "review": review, "form": form}
    return render(request, "reviews/staff/appeal_file.html", context, status=status)


@any_staff
@require_GET
def appeal_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    status = request.GET.get("status", AppealStatus.PENDING)
    if status not in AppealStatus.values:
        status = ""
    page = Paginator(selectors.appeals_for_staff(user, status=status or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        **_common(user, "appeals"),
        "page_obj": page,
        "status": status,
        "statuses": AppealStatus.choices,
    }
    return render(request, "reviews/staff/appeal_list.html", context)


def _appeal_page(
    request: HttpRequest, user: User, appeal: Appeal, *, form: DecisionForm | None = None, status: int = 200
) -> HttpResponse:
    can_decide = (
        appeal.status == AppealStatus.PENDING
        and permissions.can_decide_appeal(user, appeal.department)
        and appeal.filed_by_id != user.pk
    )
    review = appeal.review
    context = {
        **_common(user, "appeals"),
        "appeal": appeal,
        "review": review,
        "indicators": _indicator_rows(review),
        "rectification": getattr(review, "rectification", None),
        "form": (form or DecisionForm()) if can_decide else None,
    }
    return render(request, "reviews/staff/appeal_detail.html", context, status=status)


@any_staff
@require_GET
def appeal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    appeal = found(lambda: selectors.appeal_for_staff(user, pk=pk))
    return _appeal_page(request, user, appeal)


@staff_required(Role.SUPERVISOR)
@require_POST
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    appeal = found(lambda: selectors.appeal_for_staff(user, pk=pk))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _appeal_page(request, user, appeal, form=form, status=400)
    try:
        services.appeal_decide(
            appeal=appeal,
            by=user,
            uphold=form.cleaned_data["decision"] == "uphold",
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        refuse_or_keep(exc)
        form.add_domain_error(exc)
        return _appeal_page(request, user, appeal, form=form, status=exc.status)
    messages.success(request, _("The appeal is decided."))
    return redirect("reviews:appeal", pk=appeal.pk)


# --- on-site visits ---------------------------------------------------------------------------


@clerk_required
@require_http_methods(["GET", "POST"])
def visit_start(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = VisitStartForm(request.POST or None, windows=selectors.windows_for_clerk(user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit = services.visit_start(
                    by=user, window=form.cleaned_data["window"], case_number=form.cleaned_data["case_number"]
                )
            except DomainError as exc:
                refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                return redirect("reviews:visit", token=visit.token)
        else:
            status = 400
    context = {
        **_common(user, "visits"),
        "form": form,
        "visits": list(selectors.recent_visits(user)),
        "channel": ReviewChannel.ONSITE,
    }
    return render(request, "reviews/staff/visit_start.html", context, status=status)


# --- time limits ------------------------------------------------------------------------------


@administrator_required
@require_http_methods(["GET", "POST"])
def policies(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = PolicyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.policy_save(by=user, **form.cleaned_data)
            except DomainError as exc:
                refuse_or_keep(exc)
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(
                    request, _("The time limit is saved; it applies to bad ratings from now on.")
                )
                return redirect("reviews:policies")
        else:
            status = 400
    context = {
        **_common(user, "policies"),
        "form": form,
        "policies": list(selectors.policies_for(user)),
        "default_days": selectors.DEFAULT_RECTIFICATION_DAYS,
        "own_days": selectors.rectification_days(user.department) if user.department else None,
    }
    return render(request, "reviews/staff/policies.html", context, status=status)


@administrator_required
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    policy = selectors.policies_for(user).filter(pk=pk).first()
    if policy is None:
        raise Http404
    try:
        services.policy_delete(by=user, policy=policy)
    except DomainError as exc:
        refuse_or_keep(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The time limit is removed."))
    return redirect(reverse("reviews:policies"))
