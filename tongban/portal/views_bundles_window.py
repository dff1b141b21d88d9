"""A themed bundle (一件事一次办) taken in at the one window (一窗受理), under /staff/window/bundles/.

The same three steps as a single item (``views_casework``): the clerk finds the bundle, identifies
the applicant at the counter (the identification is kept for this bundle only), then fills the
bundle's merged form and scans each merged material once (the form of ``views_bundles``).
``bundles.services.bundle_apply`` files one case per item for the applicant, with the clerk as the
one who submitted them; the last page lists those cases for the clerk to accept each one (with
容缺 where a material may follow later) and print its 受理通知书.

Only bundles whose every item the clerk's window takes in are offered; any other is a 404.
"""

from __future__ import annotations

import re
import secrets

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tongban.bundles import selectors as bundle_selectors
from tongban.bundles import services as bundle_services
from tongban.bundles.models import Bundle, BundleApplication
from tongban.cases import casework
from tongban.core.errors import DomainError, NotFound
from tongban.core.masking import mask_resident_id
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.portal.forms_casework import WindowIdentifyForm
from tongban.portal.views_bundles import (
    MAX_CODE_LENGTH,
    application_fields,
    application_form,
    raw_answers,
    read_application,
    show_refusal,
)
from tongban.portal.views_casework import (
    forget_applicant,
    identify_at_window,
    remember_applicant,
    window_applicant,
)

# What the form's idempotency key may look like (secrets.token_urlsafe output).
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _window_guide(user: User, code: str) -> bundle_selectors.BundleGuide:
    """The published bundle's guide, if the clerk's window takes in every one of its items; else 404."""
    if len(code) > MAX_CODE_LENGTH:
        raise Http404
    try:
        bundle = bundle_selectors.published_bundle(code=code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    allowed = set(casework.window_departments(user).values_list("pk", flat=True))
    if any(entry.item.department_id not in allowed for entry in bundle.entries.all()):
        raise Http404
    return bundle_selectors.bundle_guide(bundle)


def _purpose(bundle: Bundle) -> str:
    return f"bundle:{bundle.code}"


def _filed(user: User, key: str | None) -> BundleApplication | None:
    """The application this clerk already filed with this form (a double click, a reload)."""
    if not key:
        return None
    return bundle_selectors.applications_filed_by(user).filter(idempotency_key=key).first()


def _to_filed(application: BundleApplication) -> HttpResponse:
    return redirect("casework:window_bundle_filed", pk=application.pk)


@staff_required(Role.WINDOW_CLERK)
@require_http_methods(["GET", "POST"])
def window_bundle_identify(request: HttpRequest, code: str) -> HttpResponse:
    """Step 2 for a bundle: the applicant at the counter, by the ID number and the name on the card."""
    user = portal_user(request)
    guide = _window_guide(user, code)
    form = WindowIdentifyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        applicant, status = identify_at_window(request, user, form)
        if applicant is not None:
            remember_applicant(request, _purpose(guide.bundle), applicant)
            return redirect("casework:window_bundle_apply", code=guide.bundle.code)
    context = {"guide": guide, "bundle": guide.bundle, "form": form}
    return render(request, "portal/casework/window_bundle_identify.html", context, status=status)


@staff_required(Role.WINDOW_CLERK)
@require_http_methods(["GET", "POST"])
def window_bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """Step 3 for a bundle: the merged form and one scan per merged material, filed for the applicant."""
    user = portal_user(request)
    guide = _window_guide(user, code)
    bundle = guide.bundle
    raw_key = request.POST.get("idempotency_key", "")
    key = f"window-{raw_key}" if request.method == "POST" and _KEY.match(raw_key) else None
    done = _filed(user, key)
    if done is not None:
        return _to_filed(done)
    applicant = window_applicant(request, _purpose(bundle))
    if applicant is None:
        messages.info(request, _("Identify the applicant first."))
        return redirect("casework:window_bundle_identify", code=bundle.code)
    upload_errors: dict[str, list[str]] = {}
    error = guide.problem
    status = 409 if guide.problem else 200
    if request.method == "POST" and not guide.problem:
        form, files, upload_errors = read_application(request, guide)
        try:
            application = bundle_services.bundle_apply(
                bundle=bundle,
                applicant=applicant,
                form_data=raw_answers(guide.form_schema, request.POST),
                files=files,
                by=user,
                idempotency_key=key,
                prefill_consent="prefill_consent" in request.POST,
            )
        except DomainError as exc:
            done = _filed(user, key)
            if done is not None:
                return _to_filed(done)  # a concurrent copy of this submission won
            # The clerk's window was checked above: a refusal is about the application itself.
            error = str(exc.message)
            status = exc.status
            show_refusal(exc, form, upload_errors)
        else:
            forget_applicant(request)
            messages.success(
                request,
                _("The bundle was filed: one case per item. Check and accept each case now."),
            )
            return _to_filed(application)
    else:
        form = application_form(guide)
    context = {
        "bundle": bundle,
        "guide": guide,
        "applicant": applicant,
        "applicant_id": mask_resident_id(applicant.resident_id or applicant.credit_code),
        "idempotency_key": raw_key if key else secrets.token_urlsafe(24),
        "error": error,
        "at_window": True,
        **application_fields(guide, form, upload_errors),
    }
    return render(request, "portal/casework/window_bundle_apply.html", context, status=status)


@staff_required(Role.WINDOW_CLERK)
@require_GET
def window_bundle_filed(request: HttpRequest, pk: int) -> HttpResponse:
    """The cases the clerk just filed, each to open, accept (容缺 where allowed) and print."""
    user = portal_user(request)
    try:
        application = bundle_selectors.application_filed_by(user, application_id=pk)
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    progress = bundle_selectors.progress(application)
    applicant = application.applicant
    context = {
        "application": application,
        "progress": progress,
        "applicant": applicant,
        "applicant_id": mask_resident_id(applicant.resident_id or applicant.credit_code),
    }
    return render(request, "portal/casework/window_bundle_filed.html", context)
