"""Each order event is mailed exactly once: delivered twice, consumed by racing runs, or after the mail server was down.

The one exception is the documented one: a worker that dies between handing a mail to the server
and recording it leaves a claim whose lease runs out, and the mail is sent again (at least once,
never zero times); the copy has the same Message-ID.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.notifications import services as notifications
from apps.notifications.services import EMAIL_CONSUMER_NAME
from apps.orders import services
from apps.outbox import consumers, tasks
from apps.outbox import services as outbox_services
from apps.outbox.models import ConsumedEvent, OutboxEvent
from tests.concurrency import race
from tests.factories import ProductFactory, UserFactory
from tests.nodes.cluster import current_database_url
from tests.orders.helpers import fund
from tests.payments.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_trigger(monkeypatch):
    """Commits do not run the e-mail consumer: each test runs it when and how it says."""
    monkeypatch.setattr(outbox_services, "_trigger_consumer", lambda name: None)


@pytest.fixture
def minute_backoff(monkeypatch):
    """A failed send waits a minute before its retry (not a random share of one), so a test sees it waiting."""
    monkeypatch.setattr(consumers, "_backoff", lambda attempts: timedelta(minutes=1))


def paid_orders(count: int, *, shoppers: int = 4) -> list:
    users = [UserFactory() for _ in range(shoppers)]
    for user in users:
        fund(user, 1_000_000)
    product = ProductFactory(price=1000, stock=count)
    return [services.place_order(user=users[n % shoppers], lines=[services.OrderLine(product.pk, 1)]) for n in range(count)]


def confirmations(smtp_server) -> Counter:
    """How many confirmations each order number got."""
    return Counter(int(mail.subject.split("#")[1].split()[0]) for mail in smtp_server.mails() if mail.subject.endswith("is confirmed"))


def email_records() -> Counter:
    return Counter(ConsumedEvent.objects.filter(consumer=EMAIL_CONSUMER_NAME).values_list("status", flat=True))


def test_an_event_delivered_twice_is_mailed_once(smtp_server, no_trigger):
    orders = paid_orders(12)

    first = consumers.run(EMAIL_CONSUMER_NAME, batch_size=5)
    second = consumers.run(EMAIL_CONSUMER_NAME, batch_size=5)
    # The task redelivered by the broker, and beat's sweep, on top.
    tasks.consume_events(EMAIL_CONSUMER_NAME)
    tasks.sweep_consumers()

    assert (first.handled, second.handled) == (12, 0)
    assert confirmations(smtp_server) == {order.pk: 1 for order in orders}
    assert email_records() == {"done": 12}


def test_runs_racing_each_other_mail_each_event_exactly_once(smtp_server, no_trigger):
    orders = paid_orders(40)
    smtp_server.delay = 0.01  # sends overlap the other runs' claims

    results = race([lambda: consumers.run(EMAIL_CONSUMER_NAME, batch_size=5) for _ in range(6)], max_connections=6)

    assert not [result for result in results if isinstance(result, Exception)]
    assert sum(result.handled for result in results) == 40
    assert confirmations(smtp_server) == {order.pk: 1 for order in orders}
    assert email_records() == {"done": 40}


def test_a_mail_server_that_is_down_delays_the_mail_which_is_sent_later_once(smtp_server, minute_backoff):
    smtp_server.stop()
    [order] = paid_orders(1, shoppers=1)  # the consumer runs on commit and cannot connect

    record = ConsumedEvent.objects.get(consumer=EMAIL_CONSUMER_NAME)
    assert (record.status, record.attempts) == ("failed", 1)
    assert record.next_attempt_at > timezone.now() and "Connection refused" in record.last_error
    assert smtp_server.mails() == []

    smtp_server.start()
    tasks.sweep_consumers()  # beat, before the backoff is over: nothing yet
    assert smtp_server.mails() == []
    ConsumedEvent.objects.filter(pk=record.pk).update(next_attempt_at=timezone.now())  # its backoff is over
    tasks.sweep_consumers()  # beat
    tasks.sweep_consumers()

    assert confirmations(smtp_server) == {order.pk: 1}
    record.refresh_from_db()
    assert (record.status, record.attempts, record.last_error) == ("done", 1, "")


def test_a_mail_the_server_refuses_for_now_is_retried_then_parked_then_sent_when_staff_retry(smtp_server, settings, minute_backoff):
    settings.CONSUMER_MAX_ATTEMPTS = 2
    smtp_server.refuse_with = "451 4.3.0 Mail server temporarily rejected message"
    [order] = paid_orders(1, shoppers=1)
    record = ConsumedEvent.objects.get(consumer=EMAIL_CONSUMER_NAME)
    assert (record.status, record.attempts) == ("failed", 1)

    ConsumedEvent.objects.filter(pk=record.pk).update(next_attempt_at=timezone.now())
    consumers.run(EMAIL_CONSUMER_NAME)
    record.refresh_from_db()
    assert (record.status, record.attempts, record.next_attempt_at) == ("parked", 2, None)
    assert "temporarily rejected" in record.last_error
    assert smtp_server.mails() == []

    smtp_server.refuse_with = None
    assert consumers.retry_parked(record_ids=[record.pk]) == 1
    consumers.run(EMAIL_CONSUMER_NAME)

    assert confirmations(smtp_server) == {order.pk: 1}
    assert ConsumedEvent.objects.get(pk=record.pk).status == "done"


def test_a_claim_left_by_a_dead_sender_is_mailed_when_its_lease_runs_out_never_zero_times(smtp_server, no_trigger):
    orders = paid_orders(3, shoppers=1)
    stranded = OutboxEvent.objects.get(type="order.paid", aggregate_id=str(orders[0].pk))
    # A run claimed this event and died before sending (the lease is all it left).
    ConsumedEvent.objects.create(consumer=EMAIL_CONSUMER_NAME, event=stranded, status="claimed", next_attempt_at=timezone.now() + timedelta(minutes=2))

    consumers.run(EMAIL_CONSUMER_NAME)
    assert confirmations(smtp_server) == {orders[1].pk: 1, orders[2].pk: 1}

    ConsumedEvent.objects.filter(event=stranded).update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the lease ran out
    consumers.run(EMAIL_CONSUMER_NAME)

    assert confirmations(smtp_server) == {order.pk: 1 for order in orders}
    assert email_records() == {"done": 3}


def test_a_sender_dying_between_the_send_and_the_record_sends_the_same_mail_again(smtp_server, no_trigger, monkeypatch):
    [order] = paid_orders(1, shoppers=1)

    class WorkerDied(BaseException):
        """Stands for the process ending right after the mail server took the mail."""

    def send_then_die(event):
        notifications.send_for_event(event)
        raise WorkerDied

    dying = consumers.Consumer(name=EMAIL_CONSUMER_NAME, event_types=notifications.EMAIL_CONSUMER.event_types, handle=send_then_die, transactional=False)
    consumers.register(dying)
    try:
        with pytest.raises(WorkerDied):
            consumers.run(EMAIL_CONSUMER_NAME)
    finally:
        consumers.register(notifications.EMAIL_CONSUMER)
    assert email_records() == {"claimed": 1}

    ConsumedEvent.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the lease ran out
    consumers.run(EMAIL_CONSUMER_NAME)

    first, again = smtp_server.mails()
    assert confirmations(smtp_server) == {order.pk: 2}  # at least once: twice here, never zero times
    assert first.message["Message-ID"] == again.message["Message-ID"]  # a mail client can tell it is the same mail
    assert email_records() == {"done": 1}


WORKER = """
import django
django.setup()
from apps.outbox import consumers
print("started", flush=True)
while consumers.run("email", batch_size=5).handled:
    pass
"""


def test_a_worker_killed_mid_batch_leaves_no_order_unmailed(smtp_server, no_trigger):
    orders = paid_orders(30)
    smtp_server.delay = 0.05
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": current_database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "SITE_URL": "https://shop.example.com",
        "CONSUMER_CLAIM_SECONDS": "1",  # the killed worker's claims lapse quickly
    }
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: len(smtp_server.mails()) >= 8, timeout=60), worker.stderr.read() if worker.poll() is not None else ""
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    mailed_before_the_kill = len(smtp_server.mails())
    assert 8 <= mailed_before_the_kill < 30

    time.sleep(1.1)  # the dead worker's lease runs out
    smtp_server.delay = 0
    consumers.run(EMAIL_CONSUMER_NAME)

    counts = confirmations(smtp_server)
    assert set(counts) == {order.pk for order in orders}  # none lost
    assert sum(counts.values()) - len(orders) <= 1  # only a mail in flight at the kill may go twice
    assert email_records() == {"done": 30}
