"""notify(): stored with the caller's change, sent only once that change commits, never breaking it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from tongban.core.errors import NotFound, ValidationFailed
from tongban.identity.tests.factories import CitizenFactory
from tongban.notifications import channels, selectors, services
from tongban.notifications.models import Message

pytestmark = pytest.mark.django_db


def test_commit_sends_sms_with_the_text(citizen: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        message = services.notify(
            recipient=citizen,
            topic="case.accepted",
            title="您的申请已受理",
            body="受理编号 A001",
            link="/x/",
        )
        assert channels.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert channels.outbox == [
        {"phone": citizen.phone, "text": "【六安市政务服务网】您的申请已受理：受理编号 A001"}
    ]
    stored = Message.objects.get(pk=message.pk)
    assert (stored.topic, stored.title, stored.link, stored.read_at) == (
        "case.accepted",
        "您的申请已受理",
        "/x/",
        None,
    )


def _notify_then_fail(recipient: Any) -> None:
    with transaction.atomic():
        services.notify(recipient=recipient, topic="case.accepted", title="t", body="b")
        raise RuntimeError("the change failed")


def test_rollback_sends_nothing(citizen: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _notify_then_fail(citizen)
    assert callbacks == []
    assert channels.outbox == []
    assert not Message.objects.exists()


def test_subject_is_recorded_by_type_and_id(citizen: Any, django_capture_on_commit_callbacks: Any) -> None:
    other: Any = CitizenFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notify(recipient=citizen, topic="t", title="t", body="", subject=other)
    assert (message.subject_type, message.subject_id) == ("identity.user", str(other.pk))


def test_sms_false_or_no_phone_sends_no_sms(citizen: Any, django_capture_on_commit_callbacks: Any) -> None:
    no_phone: Any = CitizenFactory(phone="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notify(recipient=citizen, topic="t", title="t", body="b", sms=False)
        services.notify(recipient=no_phone, topic="t", title="t", body="b")
    assert callbacks == []
    assert channels.outbox == []
    assert Message.objects.count() == 2


def test_email_is_sent_when_the_recipient_has_an_address(django_capture_on_commit_callbacks: Any) -> None:
    user: Any = CitizenFactory(email="zhang@example.cn", phone="")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipient=user, topic="t", title="办结通知", body="您的申请已办结")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["zhang@example.cn"]
    assert "办结通知" in mail.outbox[0].subject
    assert mail.outbox[0].body == "您的申请已办结"


def test_a_failing_channel_breaks_neither_the_caller_nor_the_other_channel(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    user: Any = CitizenFactory(email="zhang@example.cn")

    def broken(phone: str, text: str) -> None:
        raise ConnectionError("gateway down")

    monkeypatch.setattr(channels, "send_sms", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipient=user, topic="t", title="t", body="b")
    assert len(mail.outbox) == 1
    assert Message.objects.filter(recipient=user).count() == 1


def test_an_external_link_is_refused(citizen: Any) -> None:
    for link in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        with pytest.raises(ValidationFailed) as caught:
            services.notify(recipient=citizen, topic="t", title="t", body="b", link=link)
        assert caught.value.code == "message_link_invalid"
    assert not Message.objects.exists()


def test_mark_read_and_mark_all(citizen: Any) -> None:
    first = services.notify(recipient=citizen, topic="t", title="1", body="")
    services.notify(recipient=citizen, topic="t", title="2", body="")
    assert selectors.unread_count(citizen) == 2
    services.message_mark_read(message_id=first.pk, by=citizen)
    assert selectors.unread_count(citizen) == 1
    assert [m.title for m in selectors.messages_for(citizen, unread_only=True)] == ["2"]
    assert services.messages_mark_all_read(by=citizen) == 1
    assert selectors.unread_count(citizen) == 0
    assert [m.title for m in selectors.messages_for(citizen)] == ["2", "1"]


def test_someone_elses_message_cannot_be_marked(citizen: Any) -> None:
    message = services.notify(recipient=citizen, topic="t", title="t", body="")
    intruder: Any = CitizenFactory()
    with pytest.raises(NotFound):
        services.message_mark_read(message_id=message.pk, by=intruder)
    services.messages_mark_all_read(by=intruder)
    message.refresh_from_db()
    assert message.read_at is None


def test_file_backend_appends_json_lines(tmp_path: Path) -> None:
    backend = channels.FileBackend(tmp_path)
    backend.send_sms("13800000001", "第一条")
    backend.send_sms("13800000002", "第二条")
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(line["phone"], line["text"]) for line in lines] == [
        ("13800000001", "第一条"),
        ("13800000002", "第二条"),
    ]


def test_console_backend_masks_the_number(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="tongban.notifications"):
        channels.ConsoleBackend().send_sms("13812345678", "您好")
    logged = " ".join(str(record.msg) for record in caplog.records)
    assert "138****5678" in logged
    assert "13812345678" not in logged


def test_backend_is_chosen_by_setting(settings: Any) -> None:
    settings.TONGBAN_SMS_BACKEND = "console"
    assert isinstance(channels.sms_backend(), channels.ConsoleBackend)
    settings.TONGBAN_SMS_BACKEND = "locmem"
    assert isinstance(channels.sms_backend(), channels.LocmemBackend)
