import pytest
from django.db import transaction

from apps.outbox import services
from tests.outbox.helpers import PlatformStub


@pytest.fixture
def platform(settings):
    """A running stub platform, with DATA_PLATFORM_URL pointing at it."""
    with PlatformStub() as stub:
        settings.DATA_PLATFORM_URL = stub.url
        yield stub


@pytest.fixture
def make_event():
    """Publish one event the way services do: inside a transaction, for a saved aggregate."""

    def make(aggregate, *, type="order.paid", data=None):
        with transaction.atomic():
            return services.publish(type=type, aggregate=aggregate, data=data if data is not None else {"order_id": aggregate.pk})

    return make
