"""Redis (cache, coupon gate, throttles, broker) stopped under a coupon rush and checkout traffic.

The shop's own Redis process is killed between two bursts and started again, empty, before a third.
With Redis gone the shop keeps selling from the database (defect 4 of the hardening issue): every
request of every burst gets the answer it would get with Redis up, /healthz says 503 meanwhile,
and once Redis is back everything recovers without restarting any process.
"""

import time
from collections import Counter

import pytest
import requests
from rest_framework.authtoken.models import Token

from apps.orders.models import Order
from apps.wallets.services import charge_wallet
from tests.factories import CouponFactory, ProductFactory, UserFactory
from tests.faults.conftest import FAST_OUTBOX
from tests.faults.invariants import assert_shop_invariants, wait_for_outbox_to_settle
from tests.faults.shop import storefront_login, with_production_password
from tests.faults.traffic import NO_ANSWER, Log, call, run_clients, wait_until
from tests.nodes.cluster import node_environment

PRICE = 1_000
FUNDS = 5_000
COUPONS = 40
RUSHERS_PER_BURST = 25
STOCK = 50
BUYERS_PER_BURST = 20


def _tokens(count: int) -> list[tuple]:
    return [(user, Token.objects.create(user=user).key) for user in UserFactory.create_batch(count)]


def _latency(attempts) -> str:
    return f"{max((a.ended - a.started for a in attempts), default=0):.2f} s"


@pytest.mark.django_db(transaction=True)
def test_redis_stopped_during_coupon_rush_and_checkouts(collected_static, nodes, redis_server, data_platform, fault_report):
    coupon = CouponFactory(total_quantity=COUPONS)
    product = ProductFactory(stock=STOCK, price=PRICE)
    rushers = _tokens(3 * RUSHERS_PER_BURST)
    buyers = _tokens(3 * BUYERS_PER_BURST)
    for user, _ in buyers:
        charge_wallet(user=user, amount=FUNDS)
    env = node_environment(data_platform_url=data_platform.url, redis_url=redis_server.url, extra=FAST_OUTBOX)
    (server,), workers = nodes.start(env, web_workers=4)
    url = server.url
    log = Log()
    browser_user = buyers[0][0]
    with_production_password(browser_user, "redis-outage-password")
    browser = storefront_login(url, user=browser_user, password="redis-outage-password")

    def burst(index: int) -> None:
        group = slice(index * RUSHERS_PER_BURST, (index + 1) * RUSHERS_PER_BURST)
        rush = [
            lambda session, token=token: call(log, session, f"coupon{index}", "POST", f"{url}/api/v1/coupons/{coupon.pk}/issue", token=token)
            for _, token in rushers[group]
        ]
        group = slice(index * BUYERS_PER_BURST, (index + 1) * BUYERS_PER_BURST)
        orders = [
            lambda session, token=token, n=n: call(
                log,
                session,
                f"order{index}",
                "POST",
                f"{url}/api/v1/orders",
                token=token,
                key=f"redis-outage-{index}-{n}",
                json={"items": [{"product_id": product.pk, "quantity": 1}]},
            )  # fmt: skip
            for n, (_, token) in enumerate(buyers[group])
        ]
        mixed = [job for pair in zip(rush, orders, strict=False) for job in pair] + rush[len(orders) :]
        run_clients(mixed, threads=20)

    def reads(label: str) -> None:
        """The catalog through the API and the storefront, anonymous and logged in (a session from before)."""
        run_clients(
            [
                lambda session: call(log, session, f"read{label}", "GET", f"{url}/api/v1/products/{product.pk}"),
                lambda session: call(log, session, f"read{label}", "GET", f"{url}/api/v1/products"),
                lambda session: call(log, session, f"read{label}", "GET", f"{url}/api/v1/coupons"),
                lambda session: call(log, session, f"page{label}", "GET", f"{url}/", allow_redirects=False),
                lambda session: call(log, session, f"page{label}", "GET", f"{url}/products/", allow_redirects=False),
                lambda session: call(log, session, f"page{label}", "GET", f"{url}/orders/", cookies=browser, allow_redirects=False),
            ],
            threads=6,
        )

    burst(0)
    redis_server.stop()
    burst(1)
    reads("-down")
    call(log, requests.Session(), "health-down", "GET", f"{url}/healthz")
    redis_server.start()
    recovered = wait_until(lambda: call(log, requests.Session(), "health-back", "GET", f"{url}/healthz").status == 200, timeout=20)
    burst(2)
    reads("-back")
    settled = wait_for_outbox_to_settle(timeout=60)

    fault_report.update(
        {
            "fault": "Redis (cache, gate, throttles, broker) killed between bursts, restarted empty",
            "requests": len(log.select()),
            "errors (5xx or no answer)": dict(log.failing()),
            "answers": {what: dict(log.outcomes(what)) for what in sorted({a.what for a in log.select()})},
            "slowest order while Redis was down": _latency(log.select("order1")),
        }
    )
    expected = {
        "coupon0": {(201, None): RUSHERS_PER_BURST},
        "order0": {(201, None): BUYERS_PER_BURST},
        # Redis down: the database decides, exactly as the gate would have.
        "coupon1": {(201, None): COUPONS - RUSHERS_PER_BURST, (409, "COUPON_SOLD_OUT"): 2 * RUSHERS_PER_BURST - COUPONS},
        "order1": {(201, None): BUYERS_PER_BURST},
        # Redis back, empty: the gate is rebuilt from the database, never from scratch.
        "coupon2": {(409, "COUPON_SOLD_OUT"): RUSHERS_PER_BURST},
        "order2": {(201, None): STOCK - 2 * BUYERS_PER_BURST, (409, "OUT_OF_STOCK"): 3 * BUYERS_PER_BURST - STOCK},
        "read-down": {(200, None): 3},
        "page-down": {(200, None): 3},
        # The session logged in before Redis died survives its restart (empty): the shopper is still logged in.
        "read-back": {(200, None): 3},
        "page-back": {(200, None): 3},
    }
    assert {what: log.outcomes(what) for what in expected} == {what: Counter(outcome) for what, outcome in expected.items()}, nodes.logs()
    assert log.outcomes("health-down") == {(503, None): 1}
    assert recovered, "/healthz did not answer 200 again after Redis came back"
    assert NO_ANSWER not in log.errors()
    assert settled, "outbox events still pending a minute after Redis came back\n" + nodes.logs()
    fault_report["invariants"] = assert_shop_invariants(initial_stock={product.pk: STOCK}, receiver=data_platform.receiver)
    assert server.alive and all(worker.alive for worker in workers), nodes.logs()


@pytest.mark.django_db(transaction=True)
def test_same_idempotency_key_retried_concurrently_while_redis_is_down(nodes, redis_server, data_platform, fault_report):
    """Many retries of one order (same key, same body) from many threads while Redis is down: one order."""
    product = ProductFactory(stock=5, price=PRICE)
    user = UserFactory()
    token = Token.objects.create(user=user).key
    charge_wallet(user=user, amount=FUNDS)
    env = node_environment(data_platform_url=data_platform.url, redis_url=redis_server.url, extra=FAST_OUTBOX)
    (server,), workers = nodes.start(env, web_workers=4)
    log = Log()
    body = {"items": [{"product_id": product.pk, "quantity": 2}]}

    def retry_until_answered(session):
        """A client that retries while the first attempt is in progress, up to 30 s."""
        for _ in range(150):
            attempt = call(log, session, "order", "POST", f"{server.url}/api/v1/orders", token=token, key="one-order-please", json=body)
            if attempt.outcome != (409, "IDEMPOTENCY_IN_PROGRESS"):
                return attempt
            time.sleep(0.2)
        return attempt

    redis_server.stop()
    finals = run_clients([retry_until_answered] * 16, threads=16)
    redis_server.start()
    again = call(log, requests.Session(), "order-after", "POST", f"{server.url}/api/v1/orders", token=token, key="one-order-please", json=body)
    settled = wait_for_outbox_to_settle(timeout=60)

    fault_report.update(
        {
            "fault": "Redis killed; 16 threads post one Idempotency-Key and body to /orders",
            "requests": len(log.select()),
            "errors (5xx or no answer)": dict(log.failing()),
            "answers": dict(log.outcomes()),
            "orders": Order.objects.count(),
        }
    )
    assert set(log.outcomes("order")) <= {(201, None), (409, "IDEMPOTENCY_IN_PROGRESS")}, nodes.logs()
    assert [final.outcome for final in finals] == [(201, None)] * 16
    assert len({final.resource_id for final in finals}) == 1
    assert sum(not final.replayed for final in finals) == 1
    assert (again.outcome, again.replayed, again.resource_id) == ((201, None), True, finals[0].resource_id)
    assert list(Order.objects.values_list("pk", flat=True)) == [finals[0].resource_id]
    product.refresh_from_db()
    user.wallet.refresh_from_db()
    assert (product.stock, user.wallet.balance) == (3, FUNDS - 2 * PRICE)
    assert settled, nodes.logs()
    fault_report["invariants"] = assert_shop_invariants(initial_stock={product.pk: 5}, receiver=data_platform.receiver)
    assert server.alive and all(worker.alive for worker in workers), nodes.logs()
