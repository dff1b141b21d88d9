"""The message centre page, its mark-read actions and the unread badge in the header."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.identity.tests.factories import CitizenFactory
from tongban.notifications import services
from tongban.notifications.models import Message

pytestmark = pytest.mark.django_db

LIST = reverse("notices:list")


def stranger() -> Any:
    return CitizenFactory()


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_own_messages_newest_first_with_badge(citizen: Any) -> None:
    services.notify(recipient=citizen, topic="t", title="较早的消息", body="")
    services.notify(recipient=citizen, topic="t", title="最新的消息", body="正文")
    services.notify(recipient=stranger(), topic="t", title="别人的消息", body="")
    response = logged_in(citizen).get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("最新的消息") < html.index("较早的消息")
    assert "别人的消息" not in html
    assert html.count("message-unread") == 2
    assert 'class="badge badge-count">2' in html


def test_visitors_are_sent_to_login() -> None:
    response = Client().get(LIST)
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]


def test_open_marks_read_and_follows_the_link(citizen: Any) -> None:
    message = services.notify(recipient=citizen, topic="t", title="t", body="", link="/services/")
    response = logged_in(citizen).post(reverse("notices:read", args=[message.pk]), {"open": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/services/"
    message.refresh_from_db()
    assert message.read_at is not None


def test_mark_all_read(citizen: Any) -> None:
    for n in range(3):
        services.notify(recipient=citizen, topic="t", title=f"m{n}", body="")
    response = logged_in(citizen).post(reverse("notices:read_all"))
    assert response.status_code == 302
    assert not Message.objects.filter(recipient=citizen, read_at__isnull=True).exists()
    assert "badge-count" not in logged_in(citizen).get(LIST).content.decode()


def test_someone_elses_message_is_not_found(citizen: Any) -> None:
    message = services.notify(recipient=citizen, topic="t", title="t", body="", link="/services/")
    response = logged_in(stranger()).post(reverse("notices:read", args=[message.pk]), {"open": "1"})
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.read_at is None


def test_header_badge_costs_one_query(citizen: Any, django_assert_max_num_queries: Any) -> None:
    services.notify(recipient=citizen, topic="t", title="t", body="")
    client = logged_in(citizen)
    client.get(reverse("portal:home"))  # warm the session
    with django_assert_max_num_queries(4):  # session, user, roles check is free for citizens, one COUNT
        response = client.get(reverse("portal:home"))
    assert 'class="badge badge-count">1' in response.content.decode()
