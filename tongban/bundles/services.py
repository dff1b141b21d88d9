"""Writes of themed bundles: administrators define and publish them, applicants apply (一件事一次办).

``bundle_apply`` checks the whole application before anything is written (every item available,
every answer against every item's own form, every required material) and refuses it with one
error listing everything to correct. Then it files one case per item through
``cases.services.case_apply`` (channel ``bundle``) inside one transaction: either every case is
created or none is, and the files stored for cases that were rolled back are deleted again.

A window clerk may file the bundle for the applicant at the counter (一窗受理) when the window takes
in every item of it; the clerk's uploads are scans, and a missing required material is allowed, to
be deferred (容缺) or corrected at each case's acceptance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.files.storage import Storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.bundles.choices import BundleStatus
from tongban.bundles.merging import merge_form, merge_materials, split_answers
from tongban.bundles.models import Bundle, BundleApplication, BundleCase, BundleItem
from tongban.cases import services as case_services
from tongban.cases.choices import Channel
from tongban.cases.permissions import can_intake
from tongban.catalog import forms_schema
from tongban.catalog.choices import ServiceObject, VersionStatus
from tongban.catalog.models import ServiceItem, ServiceItemVersion, Theme
from tongban.core import audit
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import User
from tongban.identity.selectors import has_role
from tongban.notifications.services import notify

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,59}$")
MAX_ITEMS = 20


def _ensure_administrator(by: User) -> None:
    if not has_role(by, Role.ADMINISTRATOR):
        raise PermissionDenied(_("Only administrators may define themed bundles."), code="bundle_admin_only")


def _invalid(field: str, message: str | Promise, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={field: [message]})


def _current_versions(bundle: Bundle) -> list[tuple[BundleItem, ServiceItemVersion | None]]:
    """Each entry of the bundle with its item's published version (None: not published now)."""
    entries = list(
        BundleItem.objects.filter(bundle=bundle)
        .select_related("item__department", "item__current_version")
        .order_by("order")
    )
    result: list[tuple[BundleItem, ServiceItemVersion | None]] = []
    for entry in entries:
        version = entry.item.current_version
        if entry.item.retired_at is not None or version is None or version.status != VersionStatus.PUBLISHED:
            version = None
        result.append((entry, version))
    return result


def _item_name(item: ServiceItem) -> str:
    version = item.current_version or item.versions.order_by("-number").first()
    return version.name if version is not None else item.implementation_code


def _serves(version: ServiceItemVersion, service_object: str) -> bool:
    return version.service_object in (service_object, ServiceObject.BOTH)


# --- definition ------------------------------------------------------------------------------


@transaction.atomic
def bundle_create(
    *,
    by: User,
    code: str,
    name: str,
    items: Sequence[ServiceItem],
    description: str = "",
    service_object: str = ServiceObject.PERSON,
    theme: str | None = None,
    sort_order: int = 0,
) -> Bundle:
    """A draft bundle of ``items`` in this order; it is checked and made public by ``bundle_publish``."""
    _ensure_administrator(by)
    code = (code or "").strip().lower()
    if not _CODE.match(code):
        raise _invalid(
            "code", _("The code is 2 to 60 lower-case letters, digits or hyphens."), "bundle_code_invalid"
        )
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise _invalid("name", _("Enter the bundle's name (at most 100 characters)."), "bundle_name_invalid")
    try:
        service_object = ServiceObject(service_object)
    except ValueError:
        raise _invalid("service_object", _("Choose one of the listed values."), "invalid_choice") from None
    distinct = list(dict.fromkeys(items))
    if len(distinct) != len(items) or not 2 <= len(distinct) <= MAX_ITEMS:
        raise _invalid(
            "items",
            _("A bundle combines 2 to 20 different service items."),
            "bundle_items_invalid",
        )
    theme_row = None
    if theme:
        theme_row = Theme.objects.filter(code=theme).first()
        if theme_row is None:
            raise _invalid("theme", _("Choose one of the listed values."), "invalid_choice")
    if Bundle.objects.filter(code=code).exists():
        raise Conflict(_("A bundle with this code already exists."), code="bundle_code_exists")
    bundle = Bundle.objects.create(
        code=code,
        name=name,
        description=(description or "").strip(),
        service_object=service_object,
        theme=theme_row,
        sort_order=sort_order,
        created_by=by,
    )
    BundleItem.objects.bulk_create(
        BundleItem(bundle=bundle, item=item, order=order) for order, item in enumerate(distinct, start=1)
    )
    audit.record(
        action="bundle.created",
        actor=by,
        subject=bundle,
        summary=name,
        data={"items": [item.implementation_code for item in distinct]},
    )
    return bundle


@transaction.atomic
def bundle_publish(*, bundle: Bundle, by: User) -> Bundle:
    """Make the bundle public once every item is published, serves the bundle's applicants and the
    items' forms merge without conflict (``bundle_form_conflict``)."""
    _ensure_administrator(by)
    bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
    pairs = _current_versions(bundle)
    problems: list[str] = []
    for entry, version in pairs:
        if version is None:
            problems.append(str(_("%(item)s is not published.") % {"item": _item_name(entry.item)}))
        elif not _serves(version, bundle.service_object):
            problems.append(
                str(
                    _("%(item)s is for %(object)s only.")
                    % {"item": version.name, "object": version.get_service_object_display()}
                )
            )
    if problems:
        message = _("The bundle cannot be published: %(problems)s") % {"problems": " ".join(problems)}
        raise Conflict(message, code="bundle_items_unavailable", fields={"items": [message]})
    merge_form([version for _entry, version in pairs if version is not None])
    bundle.status = BundleStatus.PUBLISHED
    bundle.published_at = timezone.now()
    bundle.published_by = by
    bundle.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    audit.record(action="bundle.published", actor=by, subject=bundle, summary=bundle.name)
    return bundle


@transaction.atomic
def bundle_withdraw(*, bundle: Bundle, by: User) -> Bundle:
    """Take a bundle off the portal (back to draft); applications already made keep their cases."""
    _ensure_administrator(by)
    bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
    if bundle.status != BundleStatus.PUBLISHED:
        raise Conflict(_("This bundle is not published."), code="bundle_not_published")
    bundle.status = BundleStatus.DRAFT
    bundle.save(update_fields=["status", "updated_at"])
    audit.record(action="bundle.withdrawn", actor=by, subject=bundle, summary=bundle.name)
    return bundle


# --- applying --------------------------------------------------------------------------------


def _existing(applicant: User, idempotency_key: str | None) -> BundleApplication | None:
    if not idempotency_key:
        return None
    return BundleApplication.objects.filter(applicant=applicant, idempotency_key=idempotency_key).first()


def _delete_stored(stored: list[tuple[Storage, str]]) -> None:
    for storage, name in stored:
        if name:
            storage.delete(name)


def bundle_apply(
    *,
    bundle: Bundle,
    applicant: User,
    form_data: Mapping[str, Any],
    files: Mapping[str, UploadedFile],
    by: User,
    idempotency_key: str | None = None,
    prefill_consent: bool = False,
) -> BundleApplication:
    """One application for every item of the bundle: one case per item, all or none.

    With ``prefill_consent`` each case fetches the licences and shared data it can (免提交); what
    could not be fetched is left for the department's one-time notice.

    ``form_data`` answers the merged form (``selectors.bundle_guide(...).fields``); ``files`` maps a
    merged material's key to its one upload, given to every case that asks for that material. With
    an ``idempotency_key`` the same request sent twice yields the one application it created.

    ``by`` is the applicant (or its agent), or a window clerk filing for the ``applicant`` present at
    the counter: the clerk's window must take in every item (``not_your_department`` names those it
    does not), the files are scans and required materials may be missing (the engine's rule for
    ``case_apply`` by staff); every other check is the same.
    """
    _ensure_may_file(bundle, applicant, by)
    existing = _existing(applicant, idempotency_key)
    if existing is None:
        stored: list[tuple[Storage, str]] = []
        try:
            return _apply(
                bundle=bundle,
                applicant=applicant,
                form_data=form_data,
                files=files,
                by=by,
                idempotency_key=idempotency_key,
                stored=stored,
                prefill_consent=prefill_consent,
            )
        except IntegrityError:
            _delete_stored(stored)
            # A concurrent request with the same key won the race: answer with its application.
            existing = _existing(applicant, idempotency_key)
            if existing is None:
                raise
        except Exception:
            _delete_stored(stored)
            raise
    if existing.bundle_id != bundle.pk:
        raise Conflict(
            _("This idempotency key was already used for another application."), code="idempotency_key_reused"
        )
    return existing


def _ensure_may_file(bundle: Bundle, applicant: User, by: User) -> None:
    """Applicants are citizens and enterprises; staff file only as a window clerk of every item.

    Checked before the idempotency key is looked up, so a resent request answers only someone who
    could have filed it.
    """
    if applicant.kind == AccountKind.STAFF:
        raise PermissionDenied(
            _("Staff accounts cannot apply for services; use a citizen or enterprise account."),
            code="applicant_not_eligible",
        )
    if by.kind != AccountKind.STAFF:
        return
    if not has_role(by, Role.WINDOW_CLERK):
        raise PermissionDenied(
            _("Only window clerks file applications for the applicant at the counter."),
            code="not_window_clerk",
        )
    entries = BundleItem.objects.filter(bundle=bundle).select_related("item__department").order_by("order")
    foreign = [_item_name(entry.item) for entry in entries if not can_intake(by, entry.item.department)]
    if foreign:
        raise PermissionDenied(
            _("Your window does not accept applications for %(items)s.") % {"items": "、".join(foreign)},
            code="not_your_department",
        )


def _check_application(
    bundle: Bundle,
    applicant: User,
    form_data: Mapping[str, Any],
    files: Mapping[str, UploadedFile],
    *,
    missing_allowed: bool,
) -> list[ServiceItemVersion]:
    """The items' versions when the whole application is acceptable, else one error listing all.

    ``missing_allowed``: a clerk files what the applicant brought; the rest is settled per case at
    acceptance (容缺 or a correction notice).
    """
    pairs = _current_versions(bundle)
    summary: list[str] = []
    fields: dict[str, list[str | Promise]] = {}
    versions: list[ServiceItemVersion] = []
    for entry, version in pairs:
        if version is None:
            summary.append(
                str(
                    _("%(item)s is not available for applications at the moment.")
                    % {"item": _item_name(entry.item)}
                )
            )
            continue
        # Answers and materials are checked for every published item, eligible or not, so the
        # applicant learns everything at once.
        versions.append(version)
        wanted = ServiceObject.PERSON if applicant.kind == AccountKind.CITIZEN else ServiceObject.ENTERPRISE
        if not _serves(version, wanted):
            summary.append(
                str(
                    _("%(item)s is for %(object)s only.")
                    % {"item": version.name, "object": version.get_service_object_display()}
                )
            )
    merged = merge_form(versions)
    known = {f.key for f in merged}
    unknown = sorted(str(key) for key in form_data if key not in known)
    if unknown:
        message = _("The form has no fields named %(names)s.") % {"names": ", ".join(unknown)}
        summary.append(str(message))
        fields.update({name: [message] for name in unknown})
    answers_invalid = False
    for version in versions:
        try:
            forms_schema.validate_submission(version.form_schema, split_answers(version, form_data))
        except ValidationFailed as exc:
            answers_invalid = True
            for key, messages in exc.fields.items():
                already = fields.setdefault(key, [])
                already.extend(m for m in messages if str(m) not in {str(a) for a in already})
    if answers_invalid:
        summary.append(str(_("Some answers on the form need correcting.")))
    materials = merge_materials(versions)
    by_key = {m.key: m for m in materials if m.uploadable}
    for key in files:
        if key not in by_key:
            foreign = _("This material does not belong to the bundle.")
            summary.append(str(foreign))
            fields[f"material_{key}"] = [foreign]
    missing = [m for m in by_key.values() if m.required and m.key not in files]
    if missing and not missing_allowed:
        summary.append(
            str(
                _("Please provide these materials: %(names)s.")
                % {"names": "、".join(m.name for m in missing)}
            )
        )
        for m in missing:
            fields[m.input_name] = [_("This material is required.")]
    if summary:
        raise ValidationFailed(
            _("The application cannot be submitted yet: %(problems)s") % {"problems": " ".join(summary)},
            code="bundle_application_invalid",
            fields=fields,
            extra={"problems": summary},
        )
    return versions


@transaction.atomic
def _apply(
    *,
    bundle: Bundle,
    applicant: User,
    form_data: Mapping[str, Any],
    files: Mapping[str, UploadedFile],
    by: User,
    idempotency_key: str | None,
    stored: list[tuple[Storage, str]],
    prefill_consent: bool = False,
) -> BundleApplication:
    bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
    if bundle.status != BundleStatus.PUBLISHED:
        raise Conflict(
            _("This bundle is not published, so it does not accept applications."),
            code="bundle_not_published",
        )
    at_window = by.kind == AccountKind.STAFF
    versions = _check_application(bundle, applicant, form_data, files, missing_allowed=at_window)
    contents: dict[str, tuple[str, bytes, str]] = {}
    for key, upload in files.items():
        upload.seek(0)
        contents[key] = (upload.name or "upload", upload.read(), upload.content_type or "")
        upload.seek(0)
    application = BundleApplication.objects.create(
        bundle=bundle,
        applicant=applicant,
        submitted_by=None if by.pk == applicant.pk else by,
        form_data=forms_schema.submission_to_json(dict(form_data)),
        idempotency_key=idempotency_key,
    )
    materials = merge_materials(versions)
    numbers: list[str] = []
    for order, version in enumerate(versions, start=1):
        item_files: dict[int, UploadedFile] = {}
        for material in materials:
            if material.key not in contents:
                continue
            for item_id, material_id in material.parts:
                if item_id == version.item_id:
                    name, content, content_type = contents[material.key]
                    # A fresh file object per case: each case stores and checks its own copy.
                    item_files[material_id] = SimpleUploadedFile(name, content, content_type=content_type)
        case = case_services.case_apply(
            item=version.item,
            applicant=applicant,
            form_data=split_answers(version, form_data),
            files=item_files,
            by=by,
            channel=Channel.BUNDLE,
            prefill_consent=prefill_consent,
            allow_unfetched=True,
        )
        stored.extend((row.file.storage, row.file.name or "") for row in case.materials.all() if row.file)
        BundleCase.objects.create(application=application, case=case, order=order)
        numbers.append(case.number or "")
    audit.record(
        action="bundle.applied",
        actor=by,
        subject=application,
        summary=bundle.name,
        data={"bundle": bundle.code, "cases": numbers, "at_window": at_window},
    )
    notify(
        recipient=applicant,
        topic="bundle.submitted",
        title=str(_("“%(bundle)s” submitted") % {"bundle": bundle.name}),
        body=str(
            _("One application, %(n)s cases: %(numbers)s. Follow them together on one page.")
            % {"n": len(numbers), "numbers": "、".join(numbers)}
        ),
        link=f"/my/bundles/{application.pk}/",
        subject=application,
        sms=False,
    )
    return application
