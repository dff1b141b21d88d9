"""The demo's stand-ins for 民政局's and 人社局's systems answer like an upstream system would."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.exchange.demo_upstream import demo_api_key
from tongban.exchange.tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_stand_ins_need_their_key_and_answer_from_the_population(client: Client) -> None:
    married = f.person(name="张伟", marital_status="20")
    single = f.person(name="李娜", gender="2", marital_status="10")
    path = "/demo-upstream/mzj/marriages/"
    assert client.get(path + married.resident_id).status_code == 401
    wrong = {"Authorization": f"Bearer {demo_api_key('rsj')}"}
    assert client.get(path + married.resident_id, headers=wrong).status_code == 401
    headers = {"Authorization": f"Bearer {demo_api_key('mzj')}"}
    answer = client.get(path + married.resident_id, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["marital_status"] == "20"
    assert answer.json()["registered_on"] > married.birth_date.isoformat()
    assert client.get(path + single.resident_id, headers=headers).status_code == 404
    insured = client.get(
        "/demo-upstream/rsj/insurance/" + married.resident_id,
        headers={"Authorization": f"Bearer {demo_api_key('rsj')}"},
    )
    assert insured.status_code == 200
    assert insured.json()["insured"] is True
