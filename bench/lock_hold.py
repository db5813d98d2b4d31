"""How long a checkout holds the hot product's row lock: from the moment the lock is granted to the COMMIT that releases it.

Run inside Django on the bench database (bench/call.py). Threads, each with its own connection and
its own shopper, POST /api/v1/orders for one unit of the product through Django's test client: the
whole request path a gunicorn worker runs (token authentication, the idempotency claim, place_order,
the answer's serialization, the idempotency completion), in process, so the two moments can be
timed where they happen:

- granted: when apps.catalog.locks.lock_products returns (the SELECT ... FOR UPDATE answered), as
  apps.catalog.services.lock_stock_for calls it;
- released: when the connection's commit() returns (InnoDB releases row locks at COMMIT).

Everything between the two is time other buyers of the product wait in line; the time spent waiting
for the lock is reported beside it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from django.db import close_old_connections, connection
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.catalog import services as catalog_services
from bench.invariants import percentiles
from bench.seed import bench_users

_timing = threading.local()


@contextmanager
def _timed_product_locks(product_id: int):
    """Record, in the calling thread, when the lock on `product_id` was asked for and when it was granted."""
    original = catalog_services.lock_products

    def lock_products(*, product_ids):
        asked = time.perf_counter()
        locked = original(product_ids=product_ids)
        if product_id in locked:
            _timing.asked, _timing.granted = asked, time.perf_counter()
        return locked

    catalog_services.lock_products = lock_products
    try:
        yield
    finally:
        catalog_services.lock_products = original


def _time_commits_of_this_thread(holds: list[float], waits: list[float]) -> None:
    """Wrap this thread's connection's commit(): a commit after a granted lock closes one hold."""
    commit = connection.commit

    def timed_commit():
        commit()
        granted = getattr(_timing, "granted", None)
        if granted is not None:
            holds.append(time.perf_counter() - granted)
            waits.append(granted - _timing.asked)
            _timing.granted = None

    connection.commit = timed_commit


def measure_hot_row_lock(*, product_id: int, shopper_prefix: str, threads: int, orders_per_thread: int, nonce: str) -> dict:
    """`threads` shoppers buy one unit of `product_id` `orders_per_thread` times each, all at once; the hold
    and wait times of its row lock in milliseconds (count, p50, p95, max), and the answers by status."""
    users = list(bench_users(shopper_prefix)[:threads])
    tokens = dict(Token.objects.filter(user__in=users).values_list("user_id", "key"))
    holds: list[float] = []
    waits: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(len(users))
    body = {"items": [{"product_id": product_id, "quantity": 1}]}

    def buyer(index: int, user) -> None:
        mine_holds: list[float] = []
        mine_waits: list[float] = []
        mine_statuses: dict[str, int] = {}
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {tokens[user.pk]}")
        try:
            _time_commits_of_this_thread(mine_holds, mine_waits)
            barrier.wait()
            for number in range(orders_per_thread):
                response = client.post(
                    "/api/v1/orders", body, content_type="application/json", headers={"Idempotency-Key": f"lock-{nonce}-{index}-{number}"}
                )
                key = str(response.status_code)
                mine_statuses[key] = mine_statuses.get(key, 0) + 1
        finally:
            connection.close()
            with lock:
                holds.extend(mine_holds)
                waits.extend(mine_waits)
                for key, n in mine_statuses.items():
                    statuses[key] = statuses.get(key, 0) + n

    close_old_connections()
    with _timed_product_locks(product_id):
        pool = [threading.Thread(target=buyer, args=(index, user)) for index, user in enumerate(users)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    return {
        "threads": len(users),
        "statuses": statuses,
        "hold_ms": {key: value * 1000 if key != "count" else value for key, value in percentiles(holds).items()},
        "wait_ms": {key: value * 1000 if key != "count" else value for key, value in percentiles(waits).items()},
    }
