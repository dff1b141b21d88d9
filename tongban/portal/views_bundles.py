"""Themed bundle pages (一件事一次办): the list, the guide, the one application, its combined progress.

Reads go through ``tongban.bundles.selectors`` and the application through
``tongban.bundles.services.bundle_apply``, which checks everything and files one case per item in
one transaction. Another user's application is the portal's 404, whatever the reason.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.bundles import selectors as bundle_selectors
from tongban.bundles import services as bundle_services
from tongban.bundles.models import Bundle, BundleApplication
from tongban.cases.uploads import ACCEPTED_EXTENSIONS, check_upload, max_bytes
from tongban.catalog.choices import ServiceObject
from tongban.catalog.forms_schema import build_form_class
from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import AccountKind, Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import portal_user

# What the idempotency key of an application form may look like (secrets.token_urlsafe output).
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_CODE_LENGTH = 60


def _published_or_404(code: str) -> Bundle:
    if len(code) > MAX_CODE_LENGTH:
        raise Http404(_("This themed bundle is not available."))
    try:
        return bundle_selectors.published_bundle(code=code)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _serves(bundle: Bundle, user: User) -> bool:
    wanted: dict[str, str] = {
        AccountKind.CITIZEN: ServiceObject.PERSON,
        AccountKind.ENTERPRISE: ServiceObject.ENTERPRISE,
    }
    return bundle.service_object in (ServiceObject.BOTH, wanted.get(user.kind))


@require_GET
def bundle_list(request: HttpRequest) -> HttpResponse:
    """一件事一次办: every published bundle with its items, departments and time."""
    guides = [bundle_selectors.bundle_guide(b) for b in bundle_selectors.published_bundles()]
    return render(request, "portal/bundles/list.html", {"guides": guides})


@require_GET
def bundle_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The bundle's guide: the items and departments, the merged materials, the time it takes."""
    guide = bundle_selectors.bundle_guide(_published_or_404(code))
    return render(request, "portal/bundles/guide.html", {"guide": guide, "bundle": guide.bundle})


def raw_answers(schema: list[dict[str, Any]], data: Any) -> dict[str, Any]:
    """The posted answers to the merged form as typed, for the service to check against each item."""
    answers: dict[str, Any] = {}
    for definition in schema:
        key = definition["key"]
        if definition["type"] == "multichoice":
            answers[key] = data.getlist(key)
        elif definition["type"] == "boolean":
            answers[key] = key in data
        else:
            answers[key] = data.get(key, "")
    return answers


def application_form(guide: bundle_selectors.BundleGuide, data: Any = None) -> Form:
    """The merged form of the bundle (the page lists the merged materials after it)."""
    return build_form_class(guide.form_schema, name="BundleApplicationForm")(data)


def read_application(
    request: HttpRequest, guide: bundle_selectors.BundleGuide
) -> tuple[Form, dict[str, UploadedFile], dict[str, list[str]]]:
    """The posted form (its own field messages shown; the service decides), the upload of each merged
    material by its key, and each refused file's message by input name.

    A refused file is still passed on: the service then refuses the whole application."""
    form = application_form(guide, request.POST)
    form.is_valid()
    files: dict[str, UploadedFile] = {}
    upload_errors: dict[str, list[str]] = {}
    for material in guide.uploads:
        upload = request.FILES.get(material.input_name)
        if upload is None:
            continue
        try:
            check_upload(upload, field=material.input_name)
        except DomainError as exc:
            upload_errors[material.input_name] = [str(exc.message)]
        files[material.key] = upload
    return form, files, upload_errors


def show_refusal(exc: DomainError, form: Form, upload_errors: dict[str, list[str]]) -> None:
    """Put the service's field messages next to the answers and the materials they concern."""
    for name, found in exc.fields.items():
        if name.startswith("material_"):
            upload_errors.setdefault(name, [str(m) for m in found])
        elif name in form.fields:
            have = {str(e) for e in form.errors.get(name, [])}
            for found_message in found:
                if str(found_message) not in have:
                    form.add_error(name, str(found_message))


def application_fields(
    guide: bundle_selectors.BundleGuide, form: Form, upload_errors: dict[str, list[str]]
) -> dict[str, Any]:
    """What ``portal/bundles/_application_fields.html`` shows: the form and one row per material."""
    return {
        "form": form,
        "rows": [(m, upload_errors.get(m.input_name, [])) for m in guide.materials],
        "accept": ",".join(ACCEPTED_EXTENSIONS),
        "max_mb": max_bytes() // (1024 * 1024),
    }


def _done(request: HttpRequest, application: BundleApplication) -> HttpResponse:
    messages.success(
        request,
        _("Your application has been submitted: one case per item, followed together on this page."),
    )
    return redirect("bundles:progress", pk=application.pk)


def _for_key(user: User, key: str | None) -> BundleApplication | None:
    if not key:
        return None
    return bundle_selectors.applications_of(user).filter(idempotency_key=key).first()


def _unavailable(request: HttpRequest, message: str, *, status: int, name: str) -> HttpResponse:
    context = {"message": message, "item_name": name}
    return render(request, "portal/hall/unavailable.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """One form and one set of uploads for every item of the bundle (在线办理), one submit."""
    user = portal_user(request)
    bundle = _published_or_404(code)
    if user.kind == AccountKind.STAFF:
        message = _("Staff accounts cannot apply for services; use a citizen or enterprise account.")
        return _unavailable(request, message, status=403, name=bundle.name)
    if not _serves(bundle, user):
        message = _("This service is for %(object)s only.") % {"object": bundle.get_service_object_display()}
        return _unavailable(request, message, status=403, name=bundle.name)
    guide = bundle_selectors.bundle_guide(bundle)
    if guide.problem:
        return _unavailable(request, guide.problem, status=409, name=bundle.name)
    upload_errors: dict[str, list[str]] = {}
    error = ""
    status = 200
    key = None
    if request.method == "POST":
        raw_key = request.POST.get("idempotency_key", "")
        key = raw_key if _KEY.match(raw_key) else None
        done = _for_key(user, key)
        if done is not None:
            return _done(request, done)
        form, files, upload_errors = read_application(request, guide)
        try:
            application = bundle_services.bundle_apply(
                bundle=bundle,
                applicant=user,
                form_data=raw_answers(guide.form_schema, request.POST),
                files=files,
                by=user,
                idempotency_key=key,
                prefill_consent="prefill_consent" in request.POST,
            )
        except DomainError as exc:
            done = _for_key(user, key)
            if done is not None:
                return _done(request, done)  # a concurrent copy of this submission won
            error = str(exc.message)
            status = exc.status
            show_refusal(exc, form, upload_errors)
        else:
            return _done(request, application)
    else:
        form = application_form(guide)
    context = {
        "bundle": bundle,
        "guide": guide,
        "idempotency_key": key or secrets.token_urlsafe(24),
        "error": error,
        **application_fields(guide, form, upload_errors),
    }
    return render(request, "portal/bundles/apply.html", context, status=status)


@login_required
@require_GET
def my_bundles(request: HttpRequest) -> HttpResponse:
    """我的一件事: the account's bundle applications with their overall status."""
    user = portal_user(request)
    progresses = [bundle_selectors.progress(a) for a in bundle_selectors.applications_of(user)[:50]]
    return render(request, "portal/bundles/my_list.html", {"progresses": progresses})


@login_required
@require_GET
def bundle_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Every case of one bundle application, its department, status and due date, and the whole."""
    user = portal_user(request)
    try:
        application = bundle_selectors.application_for_applicant(user, application_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    progress = bundle_selectors.progress(application)
    return render(request, "portal/bundles/progress.html", {"progress": progress, "application": application})


# --- administration --------------------------------------------------------------------------


@staff_required(Role.ADMINISTRATOR)
@require_GET
def admin_list(request: HttpRequest) -> HttpResponse:
    """Administrators: every bundle, drafts included, with whether it can be published."""
    user = portal_user(request)
    guides = [bundle_selectors.bundle_guide(b) for b in bundle_selectors.bundles_for_admin(user)]
    return render(request, "portal/bundles/admin_list.html", {"guides": guides})


@staff_required(Role.ADMINISTRATOR)
@require_POST
def admin_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish a draft bundle, or take a published one off the portal (``action=withdraw``)."""
    user = portal_user(request)
    try:
        bundle = bundle_selectors.bundle_for_admin(user, bundle_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        if request.POST.get("action") == "withdraw":
            bundle_services.bundle_withdraw(bundle=bundle, by=user)
            messages.success(request, _("“%(name)s” was taken off the portal.") % {"name": bundle.name})
        else:
            bundle_services.bundle_publish(bundle=bundle, by=user)
            messages.success(request, _("“%(name)s” is published.") % {"name": bundle.name})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("bundles:admin_list")
