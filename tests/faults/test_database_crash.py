"""MariaDB killed (kill -9) and restarted on the same data directory during a checkout rush.

The database is a server of the test's own, migrated, that the app processes and this test use.
Shoppers retry an order with the same Idempotency-Key until it settles, as mobile clients do.

What is acceptable, precisely:
- an attempt that overlaps the outage (from the kill until the restarted server accepts
  connections) may answer 500 or 503: the shop cannot write without its database;
- it must still answer: no hung or dropped connection, at any time;
- an attempt started after the server is back answers exactly as if nothing had happened (no 5xx),
  from the same gunicorn, worker and beat processes, none restarted;
- every shopper's checkout settles, each with at most one order (the key's), and InnoDB's crash
  recovery leaves every invariant exact.
"""

import threading
import time
from collections import Counter

import pytest
import requests

from apps.orders.models import Order
from tests.factories import ProductFactory
from tests.faults.conftest import FAST_OUTBOX
from tests.faults.invariants import assert_shop_invariants, wait_for_outbox_to_settle
from tests.faults.shop import order_until_settled, shoppers
from tests.faults.traffic import NO_ANSWER, Log, call, run_clients, wait_until
from tests.nodes.cluster import node_environment

BUYERS = 60
STOCK = 40
KILL_AFTER_SETTLED = 15
DOWN_SECONDS = 3


@pytest.mark.django_db(transaction=True)
def test_mariadb_killed_and_restarted_during_checkouts(own_database, nodes, redis_server, data_platform, fault_report):
    product = ProductFactory(stock=STOCK, price=1_000)
    buyers = shoppers(BUYERS, funds=5_000)
    env = node_environment(data_platform_url=data_platform.url, redis_url=redis_server.url, database_url=own_database.database_url, extra=FAST_OUTBOX)
    (server,), workers = nodes.start(env, web_workers=4)
    log = Log()
    settled_count = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + 150

    def checkout(session, n, token):
        final = order_until_settled(log, session, server.url, deadline=deadline, what="order", token=token, key=f"db-crash-{n}", product_id=product.pk)
        with lock:
            settled_count["n"] += 1
        return final

    finals: list = []
    clients = threading.Thread(
        target=lambda: finals.extend(
            run_clients([lambda session, n=n, token=token: checkout(session, n, token) for n, (_, token) in enumerate(buyers)], threads=8)
        )
    )
    clients.start()
    assert wait_until(lambda: settled_count["n"] >= KILL_AFTER_SETTLED, timeout=60, interval=0.02), nodes.logs()
    killed_at = time.monotonic()
    own_database.kill()
    time.sleep(DOWN_SECONDS)
    own_database.start()
    back_at = time.monotonic()
    clients.join(timeout=200)
    assert not clients.is_alive(), "a shopper is still waiting for an answer"
    healthy = call(log, requests.Session(), "health", "GET", f"{server.url}/healthz")
    settling_since = time.monotonic()
    settled = wait_for_outbox_to_settle(timeout=90)

    during = [a for a in log.select("order") if a.overlaps(killed_at, back_at)]
    after = log.select("order", started_after=back_at)
    fault_report.update(
        {
            "fault": f"MariaDB kill -9 after {KILL_AFTER_SETTLED} settled checkouts, restarted {DOWN_SECONDS} s later (crash recovery)",
            "requests": len(log.select()),
            "errors (5xx or no answer)": dict(log.failing()),
            "answers during the outage": dict(Counter(a.outcome for a in during)),
            "answers after it": dict(Counter(a.outcome for a in after)),
            "final outcomes": dict(Counter(final.outcome for final in finals)),
            # A relay run cut by the crash between claiming events and marking them sent leaves them
            # claimed until the claim's lease (60 s) lapses; then they are sent again.
            "outbox settled after the checkouts": f"{time.monotonic() - settling_since:.1f} s",
        }
    )
    assert during, "no checkout met the outage"
    assert NO_ANSWER not in log.errors(), nodes.logs()
    assert not [a for a in after if a.status >= 500], nodes.logs()
    assert all(a.status < 500 or a.status in (500, 503) for a in during)
    assert Counter(final.outcome for final in finals) == {(201, None): STOCK, (409, "OUT_OF_STOCK"): BUYERS - STOCK}, nodes.logs()
    # Every 201 a shopper saw for its key names the same order, and that order is the shopper's only one.
    seen = {}
    for attempt in log.select("order"):
        if attempt.status == 201:
            seen.setdefault(attempt.resource_id, 0)
            seen[attempt.resource_id] += 1
    orders = dict(Order.objects.values_list("pk", "user_id"))
    assert set(seen) == set(orders)
    assert sorted(Counter(orders.values()).values()) == [1] * STOCK
    assert healthy.status == 200
    assert settled, nodes.logs()
    fault_report["invariants"] = assert_shop_invariants(initial_stock={product.pk: STOCK}, receiver=data_platform.receiver)
    assert all(node.alive for node in nodes.started), nodes.logs()
