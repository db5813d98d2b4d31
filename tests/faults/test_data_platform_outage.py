"""The data platform down, then back; and a worker SIGKILLed in the middle of a relay run.

The platform sits behind a link the test cuts (connection refused) and restores on the same
address. Events end delivered or visibly dead, never lost: those that ran out of attempts during
the outage are dead with their error, those still being retried are delivered once it is back, and
the dead ones are delivered when staff send them again (the admin's action, through its service).
"""

import time

import pytest
from django.utils import timezone

from apps.outbox import services as outbox
from apps.outbox.models import OutboxEvent
from tests.factories import ProductFactory
from tests.faults.conftest import FAST_OUTBOX
from tests.faults.invariants import assert_shop_invariants, wait_for_outbox_to_settle
from tests.faults.shop import order, shoppers
from tests.faults.traffic import Log, run_clients, wait_until
from tests.nodes.cluster import node_environment

MAX_ATTEMPTS = 4


def _events_between(start, end) -> list[OutboxEvent]:
    """The events written between two instants (an order's order.paid and wallet.debited)."""
    return list(OutboxEvent.objects.filter(created_at__gte=start, created_at__lte=end))


@pytest.mark.django_db(transaction=True)
def test_data_platform_down_then_back(nodes, redis_server, data_platform, fault_report):
    product = ProductFactory(stock=100, price=1_000)
    buyers = shoppers(30, funds=5_000)
    # The circuit breaker is set aside (its own tests cover it): every sweep then tries every due
    # event, so running out of attempts during the outage does not depend on the breaker's timing.
    tuning = {**FAST_OUTBOX, "OUTBOX_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "OUTBOX_BREAKER_THRESHOLD": "100000"}
    env = node_environment(data_platform_url=data_platform.url, redis_url=redis_server.url, extra=tuning)
    (server,), _ = nodes.start(env)
    log = Log()

    def burst(what: str, group: list) -> tuple:
        """Orders from `group`; returns the instants between which their events were written."""
        start = timezone.now()
        run_clients(
            [
                lambda session, n=n, token=token: order(log, session, server.url, what=what, token=token, key=f"{what}-{n}", product_id=product.pk)
                for n, (_, token) in enumerate(group)
            ],
            threads=5,
        )
        return start, timezone.now()

    assert wait_for_outbox_to_settle(timeout=30), nodes.logs()  # the funding events, platform up
    data_platform.down()
    early = burst("order-early", buyers[:10])
    all_dead = wait_until(lambda: all(e.status == "dead" for e in _events_between(*early)), timeout=30)
    late = burst("order-late", buyers[10:20])
    tried = wait_until(lambda: all(e.attempts >= 1 for e in _events_between(*late)), timeout=10, interval=0.05)
    data_platform.up()
    after = burst("order-after", buyers[20:])
    settled = wait_for_outbox_to_settle(timeout=30)
    early_events, late_events, after_events = _events_between(*early), _events_between(*late), _events_between(*after)

    fault_report.update(
        {
            "fault": f"data platform unreachable (connection refused), events dead after {MAX_ATTEMPTS} attempts, then back",
            "requests": len(log.select()),
            "errors (5xx or no answer)": dict(log.failing()),
            "answers": dict(log.outcomes()),
            "events of orders during the outage": f"{len(early_events) + len(late_events)}",
            "dead after the outage": sum(e.status == "dead" for e in early_events + late_events),
        }
    )
    assert log.outcomes() == {(201, None): 30}
    assert all_dead and tried, nodes.logs()
    assert settled, nodes.logs()
    assert [(e.status, e.attempts) for e in early_events] == [("dead", MAX_ATTEMPTS)] * 20
    assert all("refused" in e.last_error.lower() for e in early_events), {e.last_error for e in early_events}
    # Written late in the outage: each failed at least once, then was delivered once the platform was
    # back, or (the jitter of the backoff can spend its attempts first) is dead like the early ones.
    assert {e.status for e in late_events} <= {"sent", "dead"} and min(e.attempts for e in late_events) >= 1
    assert any(e.status == "sent" and e.attempts >= 2 for e in late_events), [(e.status, e.attempts) for e in late_events]
    assert {e.status for e in after_events} == {"sent"}
    # Dead is visible (status, attempts, error) and nothing is lost: dead events are still there, undelivered.
    assert not {str(e.event_id) for e in early_events} & data_platform.receiver.event_ids
    fault_report["invariants before the resend"] = assert_shop_invariants(
        initial_stock={product.pk: 100}, receiver=data_platform.receiver, max_attempts=MAX_ATTEMPTS
    )

    dead = [e.pk for e in early_events + late_events if e.status == "dead"]
    assert outbox.resend_dead_events(event_ids=dead) == len(dead)
    assert wait_for_outbox_to_settle(timeout=30), nodes.logs()
    fault_report["invariants after the resend"] = assert_shop_invariants(initial_stock={product.pk: 100}, receiver=data_platform.receiver)
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"sent"}
    assert all(node.alive for node in nodes.started), nodes.logs()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_relay(nodes, redis_server, data_platform, fault_report):
    """A worker SIGKILLed while posting a batch: a second worker delivers everything, the killed
    worker's claimed batch once its lease lapses (at least once: some events arrive twice)."""
    shoppers(120, funds=1_000)  # 120 wallet.charged events waiting for a worker
    data_platform.latency = 0.05  # about 0.1 s per event: a batch of 100 takes seconds
    env = node_environment(data_platform_url=data_platform.url, redis_url=redis_server.url, extra=FAST_OUTBOX)
    _, (first,) = nodes.start(env, servers=0)
    mid_batch = wait_until(lambda: len(data_platform.receiver.deliveries) >= 10, timeout=60, interval=0.05)
    first.kill()
    killed_at = time.monotonic()
    delivered_before_kill = len(data_platform.receiver.deliveries)
    data_platform.latency = 0
    nodes.start(env, servers=0, beat=False)
    settled = wait_for_outbox_to_settle(timeout=100)
    ids = {str(event_id) for event_id in OutboxEvent.objects.values_list("event_id", flat=True)}

    fault_report.update(
        {
            "fault": "Celery worker SIGKILLed mid-relay (batch of 100 in flight), a second worker started",
            "events": len(ids),
            "delivered before the kill": delivered_before_kill,
            "deliveries in all (at least once)": len(data_platform.receiver.deliveries),
            "all delivered after": f"{time.monotonic() - killed_at:.1f} s",
        }
    )
    assert mid_batch and delivered_before_kill < len(ids), nodes.logs()
    assert settled, nodes.logs()
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"sent"}
    assert data_platform.receiver.event_ids == ids
    fault_report["invariants"] = assert_shop_invariants(initial_stock={}, receiver=data_platform.receiver)
    assert all(node.alive for node in nodes.started if node is not first), nodes.logs()
