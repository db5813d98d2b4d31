"""The broker (a Redis of its own, apart from the cache's) dropped under a live Celery worker.

It is killed right after a burst of orders, while the worker is busy relaying their events to a
slow data platform (a task in progress, so unacknowledged: acks_late), kept down for some seconds
of checkouts, then started again, empty.
The web tier keeps selling without waiting on the dead broker (defect 4), the worker survives and
resumes by itself (defect 3), and every event reaches the data platform (beat's sweep replaces
the triggers lost with the broker).
"""

import time

import pytest

from apps.catalog.models import Product
from tests.factories import ProductFactory
from tests.faults.backends import RedisServer
from tests.faults.conftest import FAST_OUTBOX
from tests.faults.invariants import assert_shop_invariants, wait_for_outbox_to_settle
from tests.faults.shop import order, shoppers
from tests.faults.traffic import Log, run_clients, wait_until
from tests.nodes.cluster import node_environment

BURST = 10
OUTAGE_SECONDS = 8
# With the broker gone a request makes one publish attempt with a short timeout, then answers.
SLOWEST_ORDER_SECONDS = 5


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(log_dir=tmp_path, name="broker")
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_broker_dropped_under_a_live_worker(nodes, redis_server, broker, data_platform, fault_report):
    product = ProductFactory(stock=100, price=1_000)
    buyers = shoppers(3 * BURST, funds=5_000)
    env = node_environment(data_platform_url=data_platform.url, redis_url=redis_server.url, broker_url=broker.url, extra=FAST_OUTBOX)
    (server,), (worker,) = nodes.start(env)
    log = Log()

    def burst(index: int) -> None:
        run_clients(
            [
                lambda session, n=n, token=token: order(
                    log, session, server.url, what=f"order{index}", token=token, key=f"broker-{index}-{n}", product_id=product.pk
                )
                for n, (_, token) in enumerate(buyers[index * BURST : (index + 1) * BURST])
            ],
            threads=5,
        )

    data_platform.latency = 0.05  # about 0.1 s per event: the burst's 20 events keep the worker busy
    burst(0)
    assert wait_until(lambda: data_platform.receiver.deliveries, timeout=10, interval=0.02)
    broker.stop()
    busy = len(data_platform.receiver.deliveries) < len(buyers) + 2 * BURST  # the funding events, then the burst's
    down_at = time.monotonic()
    burst(1)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
    data_platform.latency = 0
    broker.start()
    back_at = time.monotonic()
    burst(2)
    settled = wait_for_outbox_to_settle(timeout=60)
    settled_after = time.monotonic() - back_at

    slowest = max(attempt.ended - attempt.started for attempt in log.select("order1"))
    fault_report.update(
        {
            "fault": f"broker Redis killed after a burst, down {OUTAGE_SECONDS} s under checkouts, restarted empty",
            "requests": len(log.select()),
            "errors (5xx or no answer)": dict(log.failing()),
            "answers": {what: dict(log.outcomes(what)) for what in ("order0", "order1", "order2")},
            "slowest order while the broker was down": f"{slowest:.2f} s",
            "worker relaying when the broker died": busy,
            "worker alive after": worker.alive,
            "every event delivered after the broker came back": f"{settled_after:.1f} s",
        }
    )
    assert busy
    assert worker.alive and "Unrecoverable error" not in worker.log(), nodes.logs()
    assert {what: log.outcomes(what) for what in ("order0", "order1", "order2")} == {what: {(201, None): BURST} for what in ("order0", "order1", "order2")}
    assert slowest < SLOWEST_ORDER_SECONDS
    assert settled, "outbox events still pending a minute after the broker came back\n" + nodes.logs()
    fault_report["invariants"] = assert_shop_invariants(initial_stock={product.pk: 100}, receiver=data_platform.receiver)
    assert Product.objects.get(pk=product.pk).stock == 100 - 3 * BURST
    assert all(node.alive for node in nodes.started), nodes.logs()
