"""The licence core: identifiers, signatures, issuance, keys, revocation, expiry, authorisations.

Behaviour through the services and selectors (no mocks of the project's code): each refusal has its
stable code and leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from stdnum.iso7064 import mod_37_36

from tongban.core import audit
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.tests.factories import CitizenFactory, EnterpriseFactory, make_resident_id
from tongban.licences import identifiers, selectors, services, signing, tasks
from tongban.licences.choices import KeyStatus, LicenceOrigin, LicenceStatus, UseKind, Verdict
from tongban.licences.models import (
    Licence,
    LicenceAuthorisation,
    LicenceCounter,
    LicenceUse,
    SigningKey,
)
from tongban.licences.tests.staff_world import World, fake_case, issue, make_world, person_data

pytestmark = pytest.mark.django_db

TYPE_CODE = "11341500MB1234567X001"  # a shape-valid code; the check character below is computed
ISSUER = "113415000030001234"


def today() -> dt.date:
    """Today's local date, read when a test runs: not at import, as a run may cross midnight."""
    return timezone.localdate()


@pytest.fixture
def world() -> World:
    return make_world()


# --- identifiers --------------------------------------------------------------------------------


def test_identifier_round_trips_and_its_check_character_is_iso_7064_mod_37_36() -> None:
    ident = identifiers.make(TYPE_CODE, ISSUER, 42)
    body, check = ident.rsplit(".", 1)
    assert body == f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER}.0000042.01"
    assert check == mod_37_36.calc_check_digit(body.replace(".", ""))
    assert mod_37_36.is_valid(body.replace(".", "") + check)
    assert identifiers.parse(ident) == identifiers.Parsed(TYPE_CODE, ISSUER, 42, 1)
    assert identifiers.parse(f"  {ident.lower()} ") is not None  # normalised before parsing


def test_identifier_with_a_wrong_check_character_or_shape_is_rejected() -> None:
    ident = identifiers.make(TYPE_CODE, ISSUER, 42)
    body, check = ident.rsplit(".", 1)
    wrong = next(c for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != check)
    assert identifiers.parse(f"{body}.{wrong}") is None
    assert identifiers.parse(ident.replace(".0000042.", ".0000043.")) is None  # serial changed, check kept
    assert identifiers.parse(ident.replace("1.2.156.3005.2.", "1.2.156.3005.3.")) is None
    assert identifiers.parse("") is None


def test_type_codes_are_a_credit_code_and_three_digits(world: World) -> None:
    assert identifiers.is_type_code(world.marriage.code)
    assert not identifiers.is_type_code(world.marriage.code[:-1] + "X")
    assert not identifiers.is_type_code(world.marriage.code[:17] + "0" + world.marriage.code[18:])


# --- signing ------------------------------------------------------------------------------------


def _document(**changes: Any) -> dict[str, Any]:
    doc = signing.document(
        identifier=identifiers.make(TYPE_CODE, ISSUER, 1),
        type_code=TYPE_CODE,
        type_name="结婚证",
        holder_kind="person",
        holder_id="341502199001010011",
        holder_name="张三",
        number="J001",
        issuer_code=ISSUER,
        issuer_name="六安市民政局",
        issued_on="2020-05-20",
        valid_from="2020-05-20",
        valid_until="",
        data={"spouse_name": "李四", "registered_on": "2020-05-20"},
        key_id="k1",
    )
    doc.update(changes)
    return doc


def test_canonical_form_is_stable_sorted_compact_utf8() -> None:
    doc = _document()
    reordered = dict(reversed(list(doc.items())))
    reordered["data"] = dict(reversed(list(doc["data"].items())))
    assert signing.canonical(doc) == signing.canonical(reordered)
    raw = signing.canonical(doc)
    assert raw.startswith(b'{"algorithm":"Ed25519","data":{"registered_on":"2020-05-20","spouse_name":')
    assert "李四".encode() in raw  # not \u escaped
    assert b": " not in raw
    assert b", " not in raw
    assert json.loads(raw) == doc


def test_a_signature_verifies_and_any_change_breaks_it(settings: Any) -> None:
    public_pem, encrypted = signing.new_key_pair()
    message = signing.canonical(_document())
    signature = signing.sign(encrypted, message)
    assert signing.verify(public_pem, message, signature)
    tampered = bytearray(message)
    tampered[message.index("李".encode())] ^= 0x01
    assert not signing.verify(public_pem, bytes(tampered), signature)
    assert not signing.verify(public_pem, signing.canonical(_document(holder_name="张四")), signature)
    other_pem, _ = signing.new_key_pair()
    assert not signing.verify(other_pem, message, signature)
    assert not signing.verify(public_pem, message, "not-base64!")


def test_a_key_encrypted_under_another_secret_is_unavailable(settings: Any) -> None:
    _pem, encrypted = signing.new_key_pair()
    settings.TONGBAN_LICENCE_KEY_SECRET = "another-secret"
    with pytest.raises(signing.KeyUnavailable):
        signing.sign(encrypted, b"x")


# --- issuance -----------------------------------------------------------------------------------


def test_issue_gives_increasing_serials_valid_identifiers_and_signatures(world: World) -> None:
    first = issue(world.marriage, world.approver)
    second = issue(world.marriage, world.officer, name="王五")
    assert (first.serial, second.serial) == (1, 2)
    parsed = identifiers.parse(second.identifier)
    assert parsed == identifiers.Parsed(world.marriage.code, world.mzj.credit_code or "", 2, 1)
    for licence in (first, second):
        licence.refresh_from_db()
        assert selectors.signature_ok(licence)
        assert licence.origin == LicenceOrigin.MANUAL
        assert licence.number == licence.identifier.split(".")[-3]  # the serial when none is given
        assert selectors.verify_identifier(licence.identifier).verdict == Verdict.VALID
    assert AuditEvent.objects.filter(action="licence.issued", subject_id=str(second.pk)).count() == 1


def test_issue_refuses_bad_input_with_codes_and_writes_nothing(world: World) -> None:
    rid = make_resident_id()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"holder_id": rid[:-1] + ("0" if rid[-1] != "0" else "1")}, "holder_id_invalid", "holder_id"),
        (
            {"data": {"name": "张三", "id_number": rid, "registry": "x"}},
            "licence_field_required",
            "spouse_name",
        ),
        ({"data": {**person_data("张三", rid), "colour": "红"}}, "licence_field_unknown", "colour"),
        ({"holder_name": " "}, "holder_name_required", "holder_name"),
    ]
    for changes, code, field in cases:
        kwargs: dict[str, Any] = {
            "type_": world.marriage,
            "holder_id": rid,
            "holder_name": "张三",
            "data": person_data("张三", rid, registry="x"),
            "by": world.approver,
            **changes,
        }
        with pytest.raises(ValidationFailed) as caught:
            services.licence_issue(**kwargs)
        assert (caught.value.code, list(caught.value.fields)) == (code, [field])
    assert not Licence.objects.exists()


def test_only_the_issuing_department_issues(world: World) -> None:
    with pytest.raises(PermissionDenied) as caught:
        issue(world.marriage, world.other)
    assert caught.value.code == "not_issuing_department"
    with pytest.raises(PermissionDenied):
        issue(world.marriage, world.clerk)  # the department's window clerk has no issuing role
    issue(world.marriage, world.admin)  # an administrator over the department may
    assert Licence.objects.count() == 1


def test_missing_signing_key_refuses_issuance_and_writes_nothing(world: World) -> None:
    SigningKey.objects.filter(department=world.mzj).update(status=KeyStatus.RETIRED)
    audits = AuditEvent.objects.count()
    with pytest.raises(Conflict) as caught:
        issue(world.marriage, world.approver)
    assert caught.value.code == "signing_key_missing"
    assert world.mzj.name in str(caught.value.message)
    assert not Licence.objects.exists()
    assert not LicenceCounter.objects.exists()  # no serial spent
    assert AuditEvent.objects.count() == audits


# --- keys ---------------------------------------------------------------------------------------


def test_rotation_retires_the_old_key_which_still_verifies(world: World) -> None:
    old_key = selectors.active_key(world.mzj.pk)
    assert old_key is not None
    before = issue(world.marriage, world.approver)
    new_key = services.signing_key_rotate(department=world.mzj, by=world.admin, reason="年度轮换")
    after = issue(world.marriage, world.approver, name="王五")
    old_key.refresh_from_db()
    assert old_key.status == KeyStatus.RETIRED
    assert old_key.retired_at is not None
    assert SigningKey.objects.filter(department=world.mzj, status=KeyStatus.ACTIVE).get() == new_key
    assert (before.key_id, after.key_id) == (old_key.pk, new_key.pk)
    assert selectors.verify_identifier(before.identifier).verdict == Verdict.VALID
    assert selectors.verify_identifier(after.identifier).verdict == Verdict.VALID
    published = {k["kid"]: k["status"] for k in selectors.published_keys()}
    assert published[old_key.key_id] == KeyStatus.RETIRED
    assert published[new_key.key_id] == KeyStatus.ACTIVE
    event = AuditEvent.objects.get(action="licence.key_rotated", subject_id=str(new_key.pk))
    assert event.data["retired"] == [old_key.key_id]
    assert event.data["reason"] == "年度轮换"


def test_only_an_administrator_over_the_department_rotates_its_key(world: World) -> None:
    for user in (world.approver, world.county_admin):
        with pytest.raises(PermissionDenied) as caught:
            services.signing_key_rotate(department=world.mzj, by=user, reason="x")
        assert caught.value.code == "administrator_required"
    assert SigningKey.objects.filter(department=world.mzj).count() == 1


# --- revocation and expiry ----------------------------------------------------------------------


def test_revoke_needs_a_reason_happens_once_and_only_by_the_issuer(world: World) -> None:
    licence = issue(world.marriage, world.approver)
    with pytest.raises(ValidationFailed) as caught:
        services.licence_revoke(licence=licence, reason=" ", by=world.approver)
    assert caught.value.code == "reason_required"
    with pytest.raises(PermissionDenied) as denied:
        services.licence_revoke(licence=licence, reason="弄虚作假", by=world.other)
    assert denied.value.code == "not_issuing_department"
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.VALID
    services.licence_revoke(licence=licence, reason="以欺骗手段取得", by=world.approver)
    licence.refresh_from_db()
    assert (licence.status, licence.revoked_reason, licence.revoked_by) == (
        LicenceStatus.REVOKED,
        "以欺骗手段取得",
        world.approver,
    )
    with pytest.raises(Conflict) as again:
        services.licence_revoke(licence=licence, reason="再次", by=world.approver)
    assert again.value.code == "licence_already_revoked"
    assert selectors.verify_identifier(licence.identifier).verdict == Verdict.REVOKED
    assert selectors.signature_ok(licence)  # revocation does not touch the signed content


def _old_licence(world: World, *, valid_until: dt.date) -> Licence:
    """A licence issued long ago whose end date has passed (signed as the import does)."""
    new = services.NewLicence(
        type=world.food,
        holder_id="91341500MA2N0000X0",
        holder_name="六安老店",
        data={"name": "六安老店", "credit_code": "91341500MA2N0000X0"},
        issued_on=valid_until - dt.timedelta(days=365 * 5),
        valid_from=valid_until - dt.timedelta(days=365 * 5),
        valid_until=valid_until,
    )
    services.issue_prepared_batch([new], type_=world.food, batch=None, origin=LicenceOrigin.IMPORTED)
    return Licence.objects.get(type=world.food, holder_name="六安老店")


def test_the_expiry_job_marks_licences_past_their_end_date(world: World) -> None:
    ended = _old_licence(world, valid_until=today() - dt.timedelta(days=1))
    current = issue(world.marriage, world.approver)
    # Before the job runs, reads already say expired.
    assert selectors.verify_identifier(ended.identifier).verdict == Verdict.EXPIRED
    assert tasks.expire_licences() == 1
    ended.refresh_from_db()
    current.refresh_from_db()
    assert (ended.status, current.status) == (LicenceStatus.EXPIRED, LicenceStatus.VALID)
    assert selectors.signature_ok(ended)
    assert tasks.expire_licences() == 0  # idempotent
    assert AuditEvent.objects.filter(action="licence.expired").count() == 1


# --- authorisations and reads for a case --------------------------------------------------------


def _holder_and_licence(world: World) -> tuple[Any, Licence]:
    citizen: Any = CitizenFactory()
    licence = issue(world.marriage, world.approver, holder_id=citizen.resident_id, name=citizen.name)
    return citizen, licence


def _authorise(world: World, citizen: Any, licence: Licence, **kw: Any) -> LicenceAuthorisation:
    return services.authorisation_for_case(
        licence=licence,
        case=kw.pop("case", fake_case(world.scj)),
        purpose="办理食品经营许可",
        fields=["name"],
        by=citizen,
        holder=citizen,
        **kw,
    )


def test_someone_elses_licence_cannot_be_authorised_and_the_attempt_is_audited(world: World) -> None:
    _citizen, licence = _holder_and_licence(world)
    stranger: Any = CitizenFactory()
    with pytest.raises(PermissionDenied) as caught:
        _authorise(world, stranger, licence)
    assert caught.value.code == "licence_not_yours"
    assert not LicenceAuthorisation.objects.exists()
    event = AuditEvent.objects.get(action="licence.refused", subject_id=str(licence.pk))
    assert (event.outcome, event.actor_id, event.data["why"]) == ("denied", stranger.pk, "not_holder")


def test_revoked_or_expired_licences_cannot_be_authorised(world: World) -> None:
    citizen, licence = _holder_and_licence(world)
    services.licence_revoke(licence=licence, reason="撤销测试", by=world.approver)
    licence.refresh_from_db()
    with pytest.raises(Conflict) as revoked:
        _authorise(world, citizen, licence)
    assert revoked.value.code == "licence_revoked"

    expired = _old_licence(world, valid_until=today() - dt.timedelta(days=3))
    company: Any = EnterpriseFactory(credit_code=expired.holder_id)
    with pytest.raises(Conflict) as ended:
        _authorise(world, company, expired)
    assert ended.value.code == "licence_expired"
    assert not LicenceAuthorisation.objects.exists()


def _batch(world: World, citizen: Any, licences: list[Licence], **kw: Any) -> list[LicenceAuthorisation]:
    """``authorisations_for_case`` inside a transaction of its own, as the cases app's filing runs it."""
    with transaction.atomic():
        return services.authorisations_for_case(
            licences=licences,
            case=kw.pop("case", fake_case(world.scj)),
            purpose=kw.pop("purpose", "办理食品经营许可"),
            by=kw.pop("by", citizen),
            holder=citizen,
            **kw,
        )


def test_several_licences_authorised_at_once_get_one_authorisation_use_and_audit_event_each(
    world: World, django_assert_num_queries: Any
) -> None:
    citizen, first = _holder_and_licence(world)
    second = issue(world.marriage, world.approver, holder_id=citizen.resident_id, name=citizen.name)
    audited = AuditEvent.objects.count()
    with django_assert_num_queries(6):  # the lock, two INSERTs, one audit append, whatever the count
        auths = services.authorisations_for_case(
            licences=[second, first], case=fake_case(world.scj), purpose=" 办理食品经营许可 ", by=citizen,
            holder=citizen,
        )  # fmt: skip
    assert [a.licence_id for a in auths] == [second.pk, first.pk]  # in the order asked
    for auth in auths:
        assert (auth.kind, auth.case_id, auth.case_number, auth.department_id) == (
            "case", 4242, "SL2026000042", world.scj.pk,
        )  # fmt: skip
        assert auth.fields == world.marriage.field_keys
        assert auth.purpose == "办理食品经营许可"
        assert selectors.authorisation_active(auth)
        assert selectors.case_authorisation(auth.licence_id, 4242) == auth
        use = LicenceUse.objects.get(authorisation=auth)
        assert (use.licence_id, use.kind, use.case_number, use.department, use.actor) == (
            auth.licence_id, UseKind.CASE_PREFILL, "SL2026000042", world.scj, None,
        )  # fmt: skip
        event = AuditEvent.objects.get(action="licence.authorised", subject_id=str(auth.licence_id))
        assert (event.actor_id, event.data["authorisation"], event.data["case"]) == (
            citizen.pk,
            auth.pk,
            4242,
        )
    assert AuditEvent.objects.count() == audited + 2
    assert audit.verify().ok
    # A window clerk filing for the holder is the use's actor, as with one licence at a time.
    (auth,) = _batch(world, citizen, [first], by=world.clerk)
    assert LicenceUse.objects.get(authorisation=auth).actor == world.clerk
    assert (
        services.authorisations_for_case(
            licences=[], case=fake_case(world.scj), purpose="x", by=citizen, holder=citizen
        )
        == []
    )


def test_one_licence_that_cannot_be_used_refuses_the_whole_batch(world: World) -> None:
    citizen, valid = _holder_and_licence(world)
    revoked = issue(world.marriage, world.approver, holder_id=citizen.resident_id, name=citizen.name)
    services.licence_revoke(licence=revoked, reason="撤销测试", by=world.approver)
    _stranger, strangers = _holder_and_licence(world)
    authorised = AuditEvent.objects.filter(action="licence.authorised").count()
    # The licences as the applicant's offers read them, before the revocation: the lock reads again.
    stale = Licence.objects.select_related("type").get(pk=revoked.pk)
    stale.status = LicenceStatus.VALID
    with pytest.raises(Conflict) as caught:
        _batch(world, citizen, [valid, stale])
    assert caught.value.code == "licence_revoked"
    with pytest.raises(PermissionDenied) as caught_other:
        _batch(world, citizen, [valid, strangers])
    assert caught_other.value.code == "licence_not_yours"
    expired = _old_licence(world, valid_until=today() - dt.timedelta(days=2))
    company: Any = EnterpriseFactory(credit_code=expired.holder_id)
    with pytest.raises(Conflict) as caught_expired:
        _batch(world, company, [expired])
    assert caught_expired.value.code == "licence_expired"
    with pytest.raises(ValidationFailed):
        _batch(world, citizen, [valid], purpose="")
    assert not LicenceAuthorisation.objects.exists()
    assert not LicenceUse.objects.filter(kind=UseKind.CASE_PREFILL).exists()
    assert (
        AuditEvent.objects.filter(action="licence.authorised").count() == authorised
    )  # nothing half-written
    assert audit.verify().ok


def test_the_case_department_reads_the_licence_while_consent_lasts(world: World) -> None:
    citizen, licence = _holder_and_licence(world)
    auth = _authorise(world, citizen, licence)
    reviewer = world.other  # an approver of scj, the department handling the case
    services.licence_read_for_case(licence=licence, case_id=4242, case_number="SL2026000042", by=reviewer)
    use = LicenceUse.objects.get(licence=licence)
    assert (use.kind, use.department, use.authorisation, use.case_number) == (
        UseKind.CASE_REVIEW,
        world.scj,
        auth,
        "SL2026000042",
    )
    assert AuditEvent.objects.filter(action="licence.viewed", actor_id=reviewer.pk).count() == 1

    # Another department (even the issuer) has no authorisation for that case.
    with pytest.raises(PermissionDenied) as other:
        services.licence_read_for_case(
            licence=licence, case_id=4242, case_number="SL2026000042", by=world.approver
        )
    assert other.value.code == "licence_not_authorised"

    services.authorisation_withdraw(authorisation=auth, by=citizen)
    with pytest.raises(PermissionDenied) as withdrawn:
        services.licence_read_for_case(licence=licence, case_id=4242, case_number="SL2026000042", by=reviewer)
    assert withdrawn.value.code == "consent_withdrawn"
    assert LicenceUse.objects.filter(licence=licence).count() == 1
    refusals = AuditEvent.objects.filter(
        action="licence.refused", subject_id=str(licence.pk), outcome="denied"
    )
    assert [e.data.get("why") for e in refusals.order_by("seq")] == ["no_authorisation", "consent_withdrawn"]


def test_expired_consent_is_refused(world: World) -> None:
    citizen, licence = _holder_and_licence(world)
    auth = _authorise(world, citizen, licence)
    LicenceAuthorisation.objects.filter(pk=auth.pk).update(
        valid_until=timezone.now() - dt.timedelta(minutes=1)
    )
    with pytest.raises(PermissionDenied) as caught:
        services.licence_read_for_case(
            licence=licence, case_id=4242, case_number="SL2026000042", by=world.other
        )
    assert caught.value.code == "consent_expired"


def test_a_withdrawal_by_someone_else_is_refused(world: World) -> None:
    citizen, licence = _holder_and_licence(world)
    auth = _authorise(world, citizen, licence)
    stranger: Any = CitizenFactory()
    with pytest.raises(NotFound):
        services.authorisation_withdraw(authorisation=auth, by=stranger)
    auth.refresh_from_db()
    assert auth.revoked_at is None


def test_an_altered_registry_row_verifies_as_forged(world: World) -> None:
    licence = issue(world.marriage, world.approver)
    Licence.objects.filter(pk=licence.pk).update(holder_name="李鬼")
    assert selectors.verify_identifier(licence.identifier).verdict == Verdict.FORGED
    data = dict(licence.data, spouse_name="王六")
    Licence.objects.filter(pk=licence.pk).update(holder_name=licence.holder_name, data=data)
    assert selectors.verify_identifier(licence.identifier).verdict == Verdict.FORGED
    Licence.objects.filter(pk=licence.pk).update(data=licence.data)
    assert selectors.verify_identifier(licence.identifier).verdict == Verdict.VALID
