from __future__ import annotations

import pytest

from tongban.core.errors import Conflict, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity import services
from tongban.identity.models import User
from tongban.identity.tests.factories import make_resident_id

pytestmark = pytest.mark.django_db


def test_citizen_register_creates_l1_account_and_audits() -> None:
    rid = make_resident_id()
    user = services.citizen_register(
        resident_id=rid.lower(), name="张三", phone="13800000000", password="Good-pass-1"
    )
    assert user.resident_id == rid.upper()
    assert user.real_name_level == 1
    assert user.check_password("Good-pass-1")
    assert AuditEvent.objects.filter(action="account.register", actor_id=user.pk).exists()


def test_citizen_register_rejects_bad_check_digit_and_writes_nothing() -> None:
    rid = make_resident_id()
    wrong = rid[:17] + ("0" if rid[17] != "0" else "1")
    with pytest.raises(ValidationFailed) as info:
        services.citizen_register(resident_id=wrong, name="张三", phone="13800000000", password="Good-pass-1")
    assert info.value.code == "resident_id_checksum"
    assert "resident_id" in info.value.fields
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_registration_is_a_conflict(citizen: User) -> None:
    assert citizen.resident_id
    with pytest.raises(Conflict) as info:
        services.citizen_register(
            resident_id=citizen.resident_id, name="李四", phone="13800000001", password="Good-pass-1"
        )
    assert info.value.code == "account_exists"
    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short1", "onlyletterspassword", "12345678901"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        services.citizen_register(
            resident_id=make_resident_id(), name="王五", phone="13800000002", password=password
        )
    assert info.value.code == "password_weak"
    assert not User.objects.exists()
