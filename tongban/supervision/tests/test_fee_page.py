"""The fee form on the staff case page (portal casework) records through ``case_fee_record``."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.catalog.models import ServiceItem
from tongban.core.models import AuditEvent
from tongban.identity.models import User
from tongban.supervision.tests.conftest import accepted, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


def test_fee_form_records_and_flags_a_fee_outside_the_catalogue(
    item: ServiceItem, approver: User, county_approver: User
) -> None:
    case = accepted(item, approver)
    client = client_for(approver)
    page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert f'action="/staff/cases/{case.pk}/fees/"' in page
    bad = client.post(f"/staff/cases/{case.pk}/fees/", {"fee-amount": "abc", "fee-basis": "工本费"})
    assert bad.status_code == 400
    assert not case.fees.exists()
    done = client.post(f"/staff/cases/{case.pk}/fees/", {"fee-amount": "35.50", "fee-basis": "工本费"})
    assert done.status_code == 302
    fee = case.fees.get()
    assert (str(fee.amount), fee.in_catalogue) == ("35.50", False)  # the item charges nothing
    assert AuditEvent.objects.filter(action="case.fee_recorded", subject_id=str(case.pk)).exists()
    assert "Not in the catalogue" in client.get(f"/staff/cases/{case.pk}/").content.decode()
    outsider = client_for(county_approver).post(
        f"/staff/cases/{case.pk}/fees/", {"fee-amount": "1", "fee-basis": "x"}
    )
    assert outsider.status_code in (403, 404)
    assert case.fees.count() == 1
