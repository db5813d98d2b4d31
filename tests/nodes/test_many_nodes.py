"""Many nodes: two gunicorn servers and two Celery workers, separate processes sharing one MariaDB
database and one Redis, as two machines behind a load balancer would. A coupon rush and a hot
checkout are spread over both servers by concurrent HTTP clients; the invariants must hold exactly
and every outbox event must reach the data platform through the workers.
"""

import threading
import time
from collections import Counter

import pytest
import requests
from django.db.models import Count, Sum
from rest_framework.authtoken.models import Token

from apps.coupons.models import UserCoupon
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.wallets.models import Wallet, WalletTransaction
from apps.wallets.services import charge_wallet
from tests.factories import CouponFactory, ProductFactory, UserFactory

RUSH_USERS = 300
COUPONS = 100
BUYERS = 60
STOCK = 20
PRICE = 1_000
FUNDS = 5_000


def _tokens(count: int) -> list:
    users = UserFactory.create_batch(count)
    return [(user, Token.objects.create(user=user).key) for user in users]


def _race(calls, *, threads: int) -> Counter:
    """Run the calls from `threads` threads released together; returns the outcome counts."""
    barrier = threading.Barrier(threads)
    outcomes: Counter = Counter()
    lock = threading.Lock()
    chunks = [calls[i::threads] for i in range(threads)]

    def run(chunk):
        session = requests.Session()
        barrier.wait()
        for call in chunk:
            outcome = call(session)
            with lock:
                outcomes[outcome] += 1

    pool = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "a client thread is still waiting for an answer"
    return outcomes


def _outcome(response: requests.Response) -> tuple[int, str | None]:
    code = response.json()["error"]["code"] if response.status_code >= 400 else None
    return response.status_code, code


@pytest.mark.django_db(transaction=True)
def test_coupon_rush_and_hot_checkout_across_two_servers_and_two_workers(cluster):
    servers = [server.url for server in cluster.servers]
    coupon = CouponFactory(total_quantity=COUPONS)
    product = ProductFactory(stock=STOCK, price=PRICE)
    rushers = _tokens(RUSH_USERS)
    buyers = _tokens(BUYERS)
    for user, _ in buyers:
        charge_wallet(user=user, amount=FUNDS)

    # Coupon rush: every user asks once; requests alternate between the two servers.
    def issue(index, token):
        def call(session):
            url = f"{servers[index % 2]}/api/v1/coupons/{coupon.pk}/issue"
            return (index % 2, *_outcome(session.post(url, headers={"Authorization": f"Token {token}"}, timeout=60)))

        return call

    rush = _race([issue(i, token) for i, (_, token) in enumerate(rushers)], threads=50)
    totals = Counter()
    for (_, status, code), n in rush.items():
        totals[(status, code)] += n
    assert totals == {(201, None): COUPONS, (409, "COUPON_SOLD_OUT"): RUSH_USERS - COUPONS}, rush
    assert {server for server, _, _ in rush} == {0, 1}
    coupon.refresh_from_db()
    assert coupon.issued_quantity == COUPONS
    assert UserCoupon.objects.filter(coupon=coupon).count() == COUPONS
    assert UserCoupon.objects.filter(coupon=coupon).values("user").distinct().count() == COUPONS

    # Hot checkout: every buyer orders one unit at once, spread over both servers.
    def order(index, token):
        def call(session):
            response = session.post(
                f"{servers[index % 2]}/api/v1/orders",
                json={"items": [{"product_id": product.pk, "quantity": 1}]},
                headers={"Authorization": f"Token {token}", "Idempotency-Key": f"many-nodes-{index}"},
                timeout=60,
            )
            return _outcome(response)

        return call

    checkout = _race([order(i, token) for i, (_, token) in enumerate(buyers)], threads=BUYERS)
    assert checkout == {(201, None): STOCK, (409, "OUT_OF_STOCK"): BUYERS - STOCK}
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.count() == STOCK
    assert OrderItem.objects.filter(product=product).aggregate(n=Sum("quantity"))["n"] == STOCK
    ledger = dict(WalletTransaction.objects.values("wallet_id").annotate(s=Sum("amount")).values_list("wallet_id", "s"))
    wallets = list(Wallet.objects.values_list("pk", "balance"))
    assert len(wallets) == BUYERS
    assert all(balance == ledger[pk] for pk, balance in wallets)
    assert sorted(balance for _, balance in wallets) == sorted([FUNDS - PRICE] * STOCK + [FUNDS] * (BUYERS - STOCK))

    # The outbox: every event of both servers (and of the funding above) reaches the data platform,
    # relayed by the workers only (this process has no DATA_PLATFORM_URL), correctly signed.
    expected_events = {"coupon.issued": COUPONS, "wallet.charged": BUYERS, "order.paid": STOCK, "wallet.debited": STOCK}
    assert dict(OutboxEvent.objects.values_list("type").annotate(n=Count("id")).order_by()) == expected_events
    deadline = time.monotonic() + 60
    while OutboxEvent.objects.exclude(status=OutboxEvent.Status.SENT).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dict(OutboxEvent.objects.values_list("status").annotate(n=Count("id")).order_by()) == {"sent": sum(expected_events.values())}, (
        cluster.logs()
    )
    assert cluster.receiver.bad_signatures == 0
    assert cluster.receiver.event_ids == {str(event_id) for event_id in OutboxEvent.objects.values_list("event_id", flat=True)}
    assert cluster.receiver.types_of_distinct_events() == expected_events
    relayed = [node.name for node in cluster.workers if "outbox relay:" in node.log()]
    assert relayed, cluster.logs()
    assert all(server.proc.poll() is None for server in cluster.servers), cluster.logs()
