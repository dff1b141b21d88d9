from __future__ import annotations

from collections.abc import Iterator

import pytest

from tongban.notifications import channels


@pytest.fixture(autouse=True)
def _empty_sms_outbox() -> Iterator[None]:
    channels.outbox.clear()
    yield
    channels.outbox.clear()
