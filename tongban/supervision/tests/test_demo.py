"""The demo loader: the policy, one sweep over whatever cases exist, idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tongban.catalog.models import ServiceItem
from tongban.identity.models import User
from tongban.supervision import demo
from tongban.supervision.models import Alert, SupervisionPolicy, Sweep
from tongban.supervision.tests.conftest import accepted

pytestmark = pytest.mark.django_db


def test_demo_load_sweeps_and_is_idempotent(item: ServiceItem, approver: User) -> None:
    overdue = accepted(item, approver, due=timezone.localdate() - timedelta(days=30))
    first = demo.load()
    assert SupervisionPolicy.objects.filter(pk=1).exists()
    assert first["opened"] == 2  # the case's own clock and its stage's
    assert Alert.objects.filter(case=overdue, level=3, closed_at__isnull=True).count() == 2
    second = demo.load()
    assert (second["opened"], second["changed"], second["closed"]) == (0, 0, 0)
    assert second["open_alerts"] == 2
    assert Sweep.objects.count() == 2
