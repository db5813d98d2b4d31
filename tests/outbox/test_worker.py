import os
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import transaction

from apps.outbox import services
from apps.outbox.models import OutboxEvent
from config.celery import app as celery_app
from tests.factories import UserFactory


def _forget_broker_connections():
    """Drop pooled connections made with the previous broker URL (what Celery does after a fork)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def celery_worker():
    """A real worker thread consuming from Redis, with eager mode off for the test.

    The broker is CELERY_BROKER_URL when set, else the suite's Redis.
    """
    broker_url = os.environ.get("CELERY_BROKER_URL") or settings.REDIS_URL
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=broker_url, task_always_eager=False)
    _forget_broker_connections()
    celery_app.control.purge()  # relay messages left by earlier tests would only add noise
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        celery_app.conf.update(saved)
        _forget_broker_connections()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_relays_an_event_published_by_a_committed_transaction(platform, celery_worker):
    runs = []

    def record_run(sender, task, **kwargs):
        runs.append((task.name, task.request.is_eager, threading.current_thread() is threading.main_thread()))

    task_postrun.connect(record_run, weak=False)
    try:
        _publish_and_wait(platform)
    finally:
        task_postrun.disconnect(record_run)
    # Run by the worker thread from a Redis message, not eagerly by the committing thread.
    assert ("apps.outbox.tasks.relay_outbox", False, False) in runs
    assert all(not is_eager for _, is_eager, _ in runs)


def _publish_and_wait(platform):
    with transaction.atomic():
        event = services.publish(type="wallet.charged", aggregate=UserFactory(), data={"amount": 700})
        assert OutboxEvent.objects.get(pk=event.pk).status == OutboxEvent.Status.PENDING

    # No beat runs here: only the on-commit trigger, through Redis, can get it delivered.
    deadline = time.monotonic() + 20
    while not platform.received and time.monotonic() < deadline:
        time.sleep(0.05)

    assert [body["id"] for body in platform.received] == [str(event.event_id)]
    deadline = time.monotonic() + 5
    while OutboxEvent.objects.get(pk=event.pk).status != OutboxEvent.Status.SENT and time.monotonic() < deadline:
        time.sleep(0.05)
    assert OutboxEvent.objects.get(pk=event.pk).status == OutboxEvent.Status.SENT
