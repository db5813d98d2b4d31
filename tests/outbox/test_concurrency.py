import threading
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection

from apps.outbox import relay
from apps.outbox.models import OutboxEvent

AGGREGATES = 50
EVENTS_PER_AGGREGATE = 10


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_deliver_each_of_500_events_exactly_once_in_aggregate_order(platform):
    # Interleaved: aggregate 0 seq 0, aggregate 1 seq 0, ..., aggregate 0 seq 1, ...
    OutboxEvent.objects.bulk_create(
        OutboxEvent(type="wallet.charged", aggregate_type="wallets.wallet", aggregate_id=str(aggregate), payload={"aggregate": aggregate, "seq": seq})
        for seq in range(EVENTS_PER_AGGREGATE)
        for aggregate in range(AGGREGATES)
    )
    expected_ids = {str(event_id) for event_id in OutboxEvent.objects.values_list("event_id", flat=True)}
    assert len(expected_ids) == 500
    start = threading.Barrier(2)
    sent_by_relay = [0, 0]
    errors = []

    def run_relay(index):
        try:
            start.wait()
            deadline = time.monotonic() + 60
            while OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).exists() and time.monotonic() < deadline:
                sent_by_relay[index] += relay.relay_due_events(batch_size=20).sent
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_relay, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    received_ids = [body["id"] for body in platform.received]
    assert Counter(received_ids).most_common(1)[0][1] == 1  # nothing twice
    assert set(received_ids) == expected_ids  # nothing missing
    assert len(platform.calls) == 500
    assert sum(sent_by_relay) == 500
    assert all(sent_by_relay), sent_by_relay  # both relays really took part
    sequences = defaultdict(list)
    for body in platform.received:
        sequences[body["data"]["aggregate"]].append(body["data"]["seq"])
    assert sequences == {aggregate: list(range(EVENTS_PER_AGGREGATE)) for aggregate in range(AGGREGATES)}
    assert set(OutboxEvent.objects.values_list("status", "attempts")) == {(OutboxEvent.Status.SENT, 1)}
