"""A request never waits on a dead or hung broker (issue 11, defect 4): the on-commit relay trigger
fails within about a second, the committed work stands, and beat's sweep delivers the event later."""

import logging
import socket
import time

import pytest
from django.db import transaction

from apps.outbox import services
from apps.outbox.models import OutboxEvent
from config.celery import app as celery_app
from tests.config.redis_server import free_port
from tests.factories import UserFactory


def _forget_broker_connections():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_at():
    """Points the Celery app (eager mode off) at a given broker URL for the test."""
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}

    def point(url: str) -> None:
        celery_app.conf.update(broker_url=url, task_always_eager=False)
        _forget_broker_connections()

    yield point
    celery_app.conf.update(saved)
    _forget_broker_connections()


@pytest.fixture
def hung_broker_url():
    """A broker that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def _publish_and_commit() -> tuple[OutboxEvent, float]:
    started = time.monotonic()
    with transaction.atomic():
        event = services.publish(type="wallet.charged", aggregate=UserFactory(), data={"amount": 700})
    return event, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["refused", "hung"])
def test_committing_with_the_broker_down_takes_no_more_than_a_second(broker, broker_at, hung_broker_url, caplog):
    broker_at(f"redis://127.0.0.1:{free_port()}/0" if broker == "refused" else hung_broker_url)

    with caplog.at_level(logging.WARNING):
        first, first_seconds = _publish_and_commit()
        second, second_seconds = _publish_and_commit()

    assert first_seconds < 1.5 and second_seconds < 1.5, (first_seconds, second_seconds)
    assert set(OutboxEvent.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {OutboxEvent.Status.PENDING}
    assert any(record.levelno >= logging.WARNING for record in caplog.records), "the failed trigger is logged"
