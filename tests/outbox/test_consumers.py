"""Consumer groups over the outbox (apps.outbox.consumers): each event handled exactly once per consumer.

A recording consumer writes one DevReceivedEvent row per handling (the table does not dedupe), so
"exactly once" is counted in the database, with real threads and a real process killed mid-batch.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from apps.devtools.models import DevReceivedEvent
from apps.outbox import consumers, relay, services
from apps.outbox.models import ConsumedEvent, ConsumerPosition, OutboxEvent
from tests.concurrency import race
from tests.factories import ProductFactory
from tests.nodes.cluster import current_database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
NAME = "recorder"


def record(event: OutboxEvent) -> None:
    DevReceivedEvent.objects.create(event_id=event.event_id, type=event.type, data=event.payload)


@pytest.fixture
def recorder(monkeypatch):
    """A transactional consumer of product.stock_adjusted events; runs only when a test says so."""
    monkeypatch.setattr(services, "_trigger_consumer", lambda name: None)
    consumer = consumers.Consumer(name=NAME, event_types=frozenset({"product.stock_adjusted"}), handle=record)
    consumers.register(consumer)
    yield consumer
    consumers._registry.pop(NAME, None)


def publish_many(count: int, product=None) -> list[OutboxEvent]:
    product = product or ProductFactory()
    with transaction.atomic():
        return [services.publish(type="product.stock_adjusted", aggregate=product, data={"n": n}) for n in range(count)]


def handled_counts() -> dict:
    return dict(DevReceivedEvent.objects.values_list("event_id").annotate(n=Count("id")).order_by())


def test_every_event_is_handled_once_however_often_the_consumer_runs(recorder):
    events = publish_many(450)

    first = consumers.run(NAME, batch_size=100)
    second = consumers.run(NAME, batch_size=100)

    assert (first.handled, second.handled) == (450, 0)
    assert handled_counts() == {event.event_id: 1 for event in events}
    assert ConsumerPosition.objects.get(consumer=NAME).cursor == events[-1].pk
    assert ConsumedEvent.objects.filter(consumer=NAME, status="done").count() == 450


def test_runs_racing_each_other_handle_each_event_exactly_once(recorder):
    events = publish_many(300)

    results = race([lambda: consumers.run(NAME, batch_size=25) for _ in range(6)])

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.handled for r in results) == 300
    assert handled_counts() == {event.event_id: 1 for event in events}


def test_an_event_committed_after_the_cursor_passed_it_is_still_handled(recorder):
    product = ProductFactory()
    early_inserted, let_commit = threading.Event(), threading.Event()
    late = {}

    def slow_transaction():
        try:
            with transaction.atomic():
                late["event"] = services.publish(type="product.stock_adjusted", aggregate=product, data={"late": True})
                early_inserted.set()
                let_commit.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    assert early_inserted.wait(timeout=10)
    later = publish_many(1, product)[0]
    assert later.pk > late["event"].pk

    consumers.run(NAME)  # reads the later event: the earlier one is not committed yet
    let_commit.set()
    thread.join()
    assert handled_counts() == {later.event_id: 1}

    consumers.run(NAME)

    assert handled_counts() == {later.event_id: 1, late["event"].event_id: 1}


def test_a_failing_event_is_retried_then_parked_without_holding_back_the_others(recorder, settings, monkeypatch):
    settings.CONSUMER_MAX_ATTEMPTS = 3
    events = publish_many(5)
    poison = events[1]

    def record_or_fail(event):
        if event.pk == poison.pk:
            raise RuntimeError("cannot handle this one")
        record(event)

    consumers.register(consumers.Consumer(name=NAME, event_types=recorder.event_types, handle=record_or_fail))
    report = consumers.run(NAME)
    assert (report.handled, report.failed) == (4, 1)
    failing = ConsumedEvent.objects.get(consumer=NAME, event=poison)
    assert (failing.status, failing.attempts) == ("failed", 1) and failing.next_attempt_at > timezone.now()

    for attempt in (2, 3):
        ConsumedEvent.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())  # its backoff is over
        consumers.run(NAME)
        failing.refresh_from_db()
        assert failing.attempts == attempt
    assert (failing.status, failing.next_attempt_at) == ("parked", None)
    assert "cannot handle this one" in failing.last_error

    consumers.register(recorder)  # the bug is fixed; staff retry the parked event
    assert consumers.retry_parked(record_ids=[failing.pk]) == 1
    consumers.run(NAME)

    assert handled_counts() == {event.event_id: 1 for event in events}
    assert ConsumedEvent.objects.get(pk=failing.pk).status == "done"


def test_a_non_transactional_consumer_handles_again_a_claim_whose_handler_died(monkeypatch):
    monkeypatch.setattr(services, "_trigger_consumer", lambda name: None)
    consumers.register(consumers.Consumer(name=NAME, event_types=frozenset({"product.stock_adjusted"}), handle=record, transactional=False))
    try:
        events = publish_many(3)
        # A run claimed the first event and died before its handler finished (the lease is what it left).
        ConsumedEvent.objects.create(consumer=NAME, event=events[0], status="claimed", next_attempt_at=timezone.now() + timedelta(minutes=2))

        consumers.run(NAME)
        assert handled_counts() == {events[1].event_id: 1, events[2].event_id: 1}

        ConsumedEvent.objects.filter(event=events[0]).update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the lease ran out
        consumers.run(NAME)
    finally:
        consumers._registry.pop(NAME, None)

    assert handled_counts() == {event.event_id: 1 for event in events}
    assert set(ConsumedEvent.objects.filter(consumer=NAME).values_list("status", flat=True)) == {"done"}


def test_retention_waits_for_every_consumer(recorder, settings):
    settings.OUTBOX_RETENTION_DAYS = 1
    settings.CONSUMER_SETTLE_SECONDS = 0
    events = publish_many(4)
    old = timezone.now() - timedelta(days=2)
    OutboxEvent.objects.update(status=OutboxEvent.Status.SENT, sent_at=old, created_at=old)

    assert relay.purge_sent_events() == 0  # the recorder has not read them

    consumers.run(NAME)
    assert relay.purge_sent_events() == 4
    assert not ConsumedEvent.objects.filter(event_id__in=[event.pk for event in events]).exists()


WORKER = """
import sys, time, django
django.setup()
from apps.devtools.models import DevReceivedEvent
from apps.outbox import consumers

def slow_record(event):
    DevReceivedEvent.objects.create(event_id=event.event_id, type=event.type, data=event.payload)
    time.sleep(0.01)

consumers.register(consumers.Consumer(name=sys.argv[1], event_types=frozenset({"product.stock_adjusted"}), handle=slow_record))
print("started", flush=True)
while consumers.run(sys.argv[1], batch_size=20).handled:
    pass
print("finished", flush=True)
"""


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing_when_restarted(recorder):
    events = publish_many(400)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": current_database_url()}

    def start():
        return subprocess.Popen([sys.executable, "-c", WORKER, NAME], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start()
    deadline = time.monotonic() + 60
    while DevReceivedEvent.objects.count() < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    partly = DevReceivedEvent.objects.count()
    assert 50 <= partly < 400

    second = start()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err

    assert handled_counts() == {event.event_id: 1 for event in events}


def test_an_integrity_error_of_the_handler_is_a_failure_not_a_handled_event(recorder):
    events = publish_many(2)
    fails = {"left": 1}

    def duplicate_once(event):
        if event.pk == events[0].pk and fails["left"]:
            fails["left"] -= 1
            record(event)
            DevReceivedEvent.objects.create(id=DevReceivedEvent.objects.get(event_id=event.event_id).pk, event_id=event.event_id, type="x")
        record(event)

    consumers.register(consumers.Consumer(name=NAME, event_types=recorder.event_types, handle=duplicate_once))
    report = consumers.run(NAME)
    assert (report.handled, report.failed) == (1, 1)
    assert ConsumedEvent.objects.get(consumer=NAME, event=events[0]).status == "failed"

    ConsumedEvent.objects.filter(consumer=NAME, event=events[0]).update(next_attempt_at=timezone.now())
    consumers.run(NAME)

    assert handled_counts() == {event.event_id: 1 for event in events}
