"""Materials the applicant no longer brings (免提交): fetched with consent, attached with provenance.

A material whose source is an electronic licence is satisfied by the applicant's own valid licence
of that type (its signature checked now, a ``LicenceAuthorisation`` for this case recorded, and the
use shown in the holder's wallet); one whose source is a shared data resource by an exchange call
made as the case's department under that department's own grant (the call is recorded like any
other and its id kept). Before anything is fetched the applicant sees ``offers``: for each such
material what would be used and which fields, for one purpose, and consents (Myinfo-style).

Two steps, because the exchange's call records must be durable whatever happens to the case:
``gather`` makes the calls and checks (each call record commits on its own, outside any
transaction), then ``attach``, inside the caller's transaction, writes the case's rows, the
authorisations and the consent. What could not be fetched is simply left for the applicant to
upload, with the reason shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.cases.choices import PREFILLED_ORIGINS, Channel, MaterialOrigin, MaterialStatus
from tongban.cases.models import Case, CaseConsent, CaseMaterial
from tongban.catalog.choices import MaterialSource
from tongban.catalog.models import Material, ServiceItemVersion
from tongban.core import audit
from tongban.core.masking import mask_resident_id
from tongban.exchange import services as exchange_services
from tongban.identity.choices import AccountKind
from tongban.identity.models import Department, User
from tongban.licences import permissions as licence_permissions
from tongban.licences import selectors as licence_selectors
from tongban.licences import services as licence_services
from tongban.licences.choices import LicenceStatus
from tongban.licences.models import Licence, LicenceType
from tongban.resources.models import DataResource

FETCHED = (MaterialSource.E_LICENCE, MaterialSource.SHARED_DATA)


@dataclass
class Offer:
    """One material the platform can fetch, as shown to the applicant before consent."""

    material: Material
    source: str
    available: bool
    title: str = ""
    detail: str = ""
    fields: list[str] = field(default_factory=list)  # labels of what will be used
    reason: str = ""  # why it cannot be fetched (then it is uploaded)
    licence: Licence | None = None
    resource_code: str = ""
    item_keys: list[str] = field(default_factory=list)
    provider_code: str = ""  # the resource's provider, kept for the fetched material's row

    @property
    def is_licence(self) -> bool:
        return self.source == MaterialSource.E_LICENCE


def holder_id_of(applicant: User) -> str:
    return licence_permissions.holder_id_of(applicant)


def purpose_of(version: ServiceItemVersion) -> str:
    return _("Applying for “%(item)s” (materials fetched instead of brought, 免提交)") % {
        "item": version.name
    }


@dataclass
class _Resource:
    """What the offers show of a resource: its name, its provider and its items' labels."""

    code: str
    name: str
    provider_code: str
    provider_name: str
    labels: dict[str, str] = field(default_factory=dict)  # item key -> name


def _resources(codes: set[str]) -> dict[str, _Resource]:
    """The resources by code with their provider and their items' labels, in one query (one row per
    item; a resource with no item yet comes once, without a label)."""
    if not codes:
        return {}
    found: dict[str, _Resource] = {}
    rows = (
        DataResource.objects.filter(code__in=codes)
        .order_by()
        .values_list("code", "name", "provider__code", "provider__name", "items__key", "items__name")
    )
    for code, name, provider_code, provider_name, key, label in rows:
        resource = found.setdefault(code, _Resource(code, name, provider_code, provider_name))
        if key is not None:
            resource.labels[key] = label
    return found


def _licences(applicant: User, codes: set[str]) -> tuple[dict[str, LicenceType], dict[str, Licence]]:
    """The licence types (active ones) and the applicant's usable licence of each, by type code.

    One query when the applicant holds a usable licence of every type asked for (the licence comes
    with its type), two otherwise. The licence of a type is the one ``usable_licence`` picks: the
    newest valid today (of the same ordering), and the type the one ``type_by_code`` finds.
    """
    if not codes:
        return {}, {}
    types: dict[str, LicenceType] = {}
    licences: dict[str, Licence] = {}
    if holder_id_of(applicant):
        today = timezone.localdate()
        held = (
            licence_selectors.licences_of(applicant)
            .filter(type__code__in=codes, status=LicenceStatus.VALID)
            .order_by("-issued_on", "-pk")
        )
        for licence in held:
            code = licence.type.code
            if code in licences or licence_selectors.effective_status(licence, today) != LicenceStatus.VALID:
                continue
            licences[code] = licence
            if licence.type.is_active:
                types[code] = licence.type
    missing = codes - set(types)
    if missing:
        types.update({t.code: t for t in licence_selectors.licence_types().filter(code__in=missing)})
    return types, licences


def offers(version: ServiceItemVersion, applicant: User, department: Department) -> list[Offer]:
    """For every licence or shared-data material of the version: what would be fetched, or why not."""
    materials = [m for m in version.materials.all() if m.source in FETCHED]
    if not materials:
        return []
    holder = holder_id_of(applicant)
    resources = _resources({m.source_code for m in materials if m.source == MaterialSource.SHARED_DATA})
    grants = exchange_services.prefill_resources(department) if resources else {}
    types, licences = _licences(
        applicant, {m.source_code for m in materials if m.source == MaterialSource.E_LICENCE}
    )
    result: list[Offer] = []
    for material in materials:
        if material.source == MaterialSource.E_LICENCE:
            type_ = types.get(material.source_code)
            licence = licences.get(material.source_code)
            if type_ is None:
                result.append(
                    Offer(
                        material,
                        material.source,
                        False,
                        reason=_("This licence is not in the licence library yet."),
                    )
                )
            elif licence is None:
                result.append(
                    Offer(
                        material,
                        material.source,
                        False,
                        title=type_.name,
                        reason=_("You hold no valid %(type)s in the licence library.") % {"type": type_.name},
                    )
                )
            else:
                until = licence.valid_until.isoformat() if licence.valid_until else _("long-term")
                result.append(
                    Offer(
                        material,
                        material.source,
                        True,
                        title=type_.name,
                        detail=_("Issued by %(issuer)s on %(day)s, valid until %(until)s")
                        % {
                            "issuer": licence.issuer.name,
                            "day": licence.issued_on.isoformat(),
                            "until": until,
                        },
                        fields=[str(f.get("label", f["key"])) for f in type_.fields],
                        licence=licence,
                    )
                )
            continue
        resource = resources.get(material.source_code)
        allowed = grants.get(material.source_code, [])
        if resource is None:
            result.append(
                Offer(
                    material,
                    material.source,
                    False,
                    reason=_("This data is not shared through the exchange yet."),
                )
            )
        elif not allowed:
            result.append(
                Offer(
                    material,
                    material.source,
                    False,
                    title=resource.name,
                    reason=_("The department handling this service has no grant for this data yet."),
                )
            )
        elif not holder:
            result.append(
                Offer(material, material.source, False, title=resource.name, reason=_("No ID to look up."))
            )
        else:
            labels = resource.labels
            keys = [k for k in allowed if k in labels]
            result.append(
                Offer(
                    material,
                    material.source,
                    True,
                    title=resource.name,
                    detail=_("From %(provider)s through the data-sharing exchange")
                    % {"provider": resource.provider_name},
                    fields=[labels[k] for k in keys],
                    resource_code=resource.code,
                    item_keys=keys,
                    provider_code=resource.provider_code,
                )
            )
    return result


@dataclass
class Fetched:
    """What ``gather`` got for one material: the row to attach, or the reason it got nothing."""

    offer: Offer
    ok: bool
    provenance: dict[str, Any] = field(default_factory=dict)
    provider: str = ""
    reason: str = ""


def _licence_fetched(offer: Offer) -> Fetched:
    licence = offer.licence
    if licence is None:
        return Fetched(offer, False, reason=_("You hold no valid licence of this type."))
    if not licence_selectors.signature_ok(licence):
        return Fetched(offer, False, reason=_("The licence's signature does not verify; bring the original."))
    document = licence_selectors.document_of(licence)
    return Fetched(
        offer,
        True,
        provenance={
            "kind": "e_licence",
            "licence_id": licence.pk,
            "identifier": licence.identifier,
            "type_code": licence.type.code,
            "type_name": licence.type.name,
            "issuer": licence.issuer.name,
            "key_id": licence.key.key_id,
            "signature_valid": True,
            "checked_at": timezone.now().isoformat(),
            "valid_until": document["valid_until"],
            "data": document["data"],
        },
        provider=licence.issuer.code,
    )


def _call_fetched(
    offer: Offer, applicant: User, department: Department, purpose: str, number: str
) -> Fetched:
    holder = holder_id_of(applicant)
    result = exchange_services.platform_fetch(
        department=department,
        resource_code=offer.resource_code,
        key=holder,
        purpose=purpose,
        case_number=number,
        on_behalf_of=mask_resident_id(holder) if applicant.kind == AccountKind.CITIZEN else holder,
        items=offer.item_keys,
    )
    call_id = str(result.call_id)
    if result.status != 200:
        code = str(result.body.get("error", {}).get("code", ""))
        reason = {
            "record_not_found": _("The data holds no record for you."),
        }.get(
            code, _("The data could not be fetched right now (%(code)s).") % {"code": code or result.status}
        )
        return Fetched(offer, False, provenance={"call_id": call_id, "error": code}, reason=reason)
    provider = offer.provider_code
    if not provider:  # an offer made elsewhere, without it
        resource = DataResource.objects.filter(code=offer.resource_code).select_related("provider").first()
        provider = resource.provider.code if resource is not None else ""
    return Fetched(
        offer,
        True,
        provenance={
            "kind": "shared_data",
            "call_id": call_id,
            "resource_code": offer.resource_code,
            "resource_name": offer.title,
            "items": offer.item_keys,
            "labels": dict(zip(offer.item_keys, offer.fields, strict=True)),
            "record": result.body.get("record") or {},
            "fetched_at": timezone.now().isoformat(),
        },
        provider=provider,
    )


def gather(
    found: Sequence[Offer], *, applicant: User, department: Department, purpose: str, case_number: str = ""
) -> list[Fetched]:
    """Fetch every available offer: check licences, make the exchange calls (each one recorded and
    committed by the exchange itself). Must run outside a transaction."""
    fetched = []
    for offer in found:
        if not offer.available:
            continue
        if offer.is_licence:
            fetched.append(_licence_fetched(offer))
        else:
            fetched.append(_call_fetched(offer, applicant, department, purpose, case_number))
    return fetched


def attach(
    case: Case,
    fetched: Sequence[Fetched],
    *,
    by: User,
    purpose: str,
    channel: str,
    new_case: bool = False,
    audit_later: list[dict[str, Any]] | None = None,
) -> list[CaseMaterial]:
    """Inside the caller's transaction: attach what was fetched to the case (replacing an earlier
    pre-fill of the same materials), authorise each licence for this case, record the consent.

    ``new_case``: the case was inserted in this transaction with no row for any fetched material
    (``case_apply`` leaves them out), so there is nothing to replace and no need to look.
    ``audit_later``: the caller appends the attachment's audit event (``case.prefilled``) with its
    own in the same transaction (``audit.record_many``): it is added to that list, not recorded here."""
    good = [f for f in fetched if f.ok]
    if not good:
        return []
    material_ids = [f.offer.material.pk for f in good]
    if not new_case:
        # What was fetched replaces what was there for the same material: an earlier pre-fill, or a
        # file uploaded before consenting (its file is removed once this commits).
        replaced = list(case.materials.filter(material_id__in=material_ids, status=MaterialStatus.PROVIDED))
        stale = [(row.file.storage, row.file.name) for row in replaced if row.file]
        for row in replaced:
            row.delete()
        if stale:
            transaction.on_commit(lambda: _delete_files(stale))
    # Every licence authorised for this case with its use and audit event, in one call: one refused
    # (revoked, expired, someone else's since it was fetched) fails the whole filing.
    authorisations = iter(
        licence_services.authorisations_for_case(
            licences=[f.offer.licence for f in good if f.offer.is_licence and f.offer.licence is not None],
            case=case,
            purpose=purpose,
            by=by,
            holder=case.applicant,
        )
    )
    rows: list[CaseMaterial] = []
    for item in good:
        offer = item.offer
        provenance = dict(item.provenance)
        if offer.is_licence and offer.licence is not None:
            provenance["authorisation_id"] = next(authorisations).pk
        rows.append(
            CaseMaterial(
                case=case,
                material=offer.material,
                status=MaterialStatus.PROVIDED,
                origin=MaterialOrigin.E_LICENCE if offer.is_licence else MaterialOrigin.SHARED_DATA,
                original_name=offer.title[:255],
                provenance=provenance,
                provider=item.provider,
                uploaded_by=by,
            )
        )
    CaseMaterial.objects.bulk_create(rows)
    CaseConsent.objects.create(
        case=case,
        purpose=purpose[:200],
        materials=[
            {
                "material": f.offer.material.pk,
                "source": f.offer.source,
                "title": f.offer.title,
                "fields": f.offer.fields,
            }
            for f in good
        ],
        channel=channel,
        given_by=by,
    )
    event: dict[str, Any] = {
        "action": "case.prefilled",
        "actor": by,
        "subject": case,
        "data": {
            "materials": material_ids,
            "licences": [f.provenance.get("identifier") for f in good if f.offer.is_licence],
            "calls": [f.provenance.get("call_id") for f in good if not f.offer.is_licence],
        },
    }
    if audit_later is None:
        audit.record(**event)
    else:
        audit_later.append(event)
    return rows


def _delete_files(files: list[tuple[Any, str | None]]) -> None:
    for storage, name in files:
        if name:
            storage.delete(name)


def prefill_draft(*, case: Case, by: User) -> list[Fetched]:
    """The applicant consents on a draft (or a case returned for correction): fetch and attach."""
    from tongban.cases import services  # the case's own checks (who may change it, its status)

    services.check_prefill_allowed(case=case, by=by)
    found = offers(case.version, case.applicant, case.department)
    purpose = purpose_of(case.version)
    fetched = gather(
        found,
        applicant=case.applicant,
        department=case.department,
        purpose=purpose,
        case_number=case.number or "",
    )
    with transaction.atomic():
        case = services.locked_for_prefill(case=case, by=by)
        attach(case, fetched, by=by, purpose=purpose, channel=case.channel or Channel.ONLINE)
    return fetched


# --- reading a case's fetched materials (approvers, the applicant) ----------------------------


@dataclass
class ProvenanceView:
    """A fetched material's provenance with its state checked now."""

    row: CaseMaterial
    kind: str
    title: str
    ok: bool
    state: str  # a short label: verified / consent withdrawn / licence revoked / ...
    fields: list[tuple[str, str]]
    identifier: str = ""
    call_id: str = ""
    authorisation_active: bool = True
    consent_withdrawn: bool = False


def provenance_views(case: Case) -> dict[int, list[ProvenanceView]]:
    """Material id -> the fetched rows, each with its licence re-checked and its consent state."""
    rows = [r for r in case.materials.all() if r.origin in PREFILLED_ORIGINS]
    if not rows:
        return {}
    auths = licence_selectors.case_authorisations(case.pk)
    licence_ids = [r.provenance.get("licence_id") for r in rows if r.origin == MaterialOrigin.E_LICENCE]
    licences = {
        lic.pk: lic
        for lic in Licence.objects.filter(pk__in=[i for i in licence_ids if i]).select_related(
            "type", "issuer", "key"
        )
    }
    out: dict[int, list[ProvenanceView]] = {}
    for row in rows:
        p = row.provenance
        if p.get("imported"):
            # A case loaded from an earlier system (cases.history): the material was fetched there,
            # and no licence id or call id came with it to re-check here.
            view = ProvenanceView(
                row,
                str(row.origin),
                row.original_name,
                True,
                _("Reused without submission (imported with the case's history)"),
                [],
            )
        elif row.origin == MaterialOrigin.E_LICENCE:
            licence = licences.get(p.get("licence_id"))
            auth = auths.get(licence.pk) if licence is not None else None
            labels = (
                {str(f["key"]): str(f.get("label", f["key"])) for f in licence.type.fields} if licence else {}
            )
            fields = [(labels.get(k, k), v) for k, v in (p.get("data") or {}).items()]
            if licence is None:
                view = ProvenanceView(
                    row, "e_licence", row.original_name, False, _("Licence no longer in the library"), fields
                )
            else:
                status = licence_selectors.effective_status(licence)
                signature = licence_selectors.signature_ok(licence)
                active = auth is not None and licence_selectors.authorisation_active(auth)
                withdrawn = auth is not None and auth.revoked_at is not None
                if not signature:
                    state, ok = _("Signature does not verify: forged or altered"), False
                elif withdrawn:
                    state, ok = _("The applicant withdrew consent"), False
                elif not active:
                    state, ok = _("The applicant's consent has expired"), False
                elif status != "valid":
                    state, ok = (
                        _("Licence %(status)s since it was attached")
                        % {
                            "status": licence.get_status_display()
                            if status == licence.status
                            else _("expired")
                        },
                        False,
                    )
                else:
                    state, ok = _("Signature verified, licence valid, consent given"), True
                view = ProvenanceView(
                    row,
                    "e_licence",
                    licence.type.name,
                    ok,
                    state,
                    fields,
                    identifier=licence.identifier,
                    authorisation_active=active,
                    consent_withdrawn=withdrawn,
                )
        else:
            labels = p.get("labels") or {}
            record = p.get("record") or {}
            fields = [(labels.get(k, k), "" if v is None else str(v)) for k, v in record.items()]
            view = ProvenanceView(
                row,
                "shared_data",
                p.get("resource_name", row.original_name),
                True,
                _("Fetched through the exchange (call %(id)s)") % {"id": p.get("call_id", "")[:8]},
                fields,
                call_id=p.get("call_id", ""),
            )
        out.setdefault(row.material_id, []).append(view)
    return out
