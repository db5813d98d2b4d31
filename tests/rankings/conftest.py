from datetime import datetime

import pytest
from django.utils import timezone

from tests.payments.conftest import fast_retries, simulator  # noqa: F401  (fixtures: the PG simulator process)


class Clock:
    """`django.utils.timezone.now()` for the code under test: orders are paid at chosen moments."""

    def __init__(self):
        self.moment: datetime | None = None

    def now(self) -> datetime:
        return self.moment or self.real()

    real = staticmethod(timezone.now)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock


@pytest.fixture
def new_york(settings):
    """A shop whose days are New York's: midnight there is 04:00 or 05:00 UTC."""
    settings.TIME_ZONE = "America/New_York"
