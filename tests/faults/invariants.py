"""The shop's invariants, checked exactly on the database after a fault, and the outbox's settling."""

from __future__ import annotations

import time
from collections import Counter

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from apps.catalog.models import Product
from apps.core.models import IdempotencyKey
from apps.coupons.models import Coupon, UserCoupon
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.wallets.models import Wallet, WalletTransaction
from tests.receiver import EventReceiver

# Orders in these states gave their stock (and coupon) back; every other order holds what it bought.
RELEASED_STATES = ("cancelled", "expired", "payment_failed")


def wait_for_outbox_to_settle(*, timeout: float) -> bool:
    """Wait until no outbox event is pending (each is sent or dead); False if some still are at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        connection.close()  # a fresh connection: the server may have been restarted meanwhile
        if not OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).exists():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)


def assert_shop_invariants(*, initial_stock: dict[int, int], receiver: EventReceiver, max_attempts: int | None = None) -> dict[str, int]:
    """Assert every invariant exactly; returns what was counted (for the fault table)."""
    connection.close()
    problems: list[str] = []

    # Stock: never below zero, and what left the shelf is exactly what the orders holding stock bought.
    sold = dict(OrderItem.objects.exclude(order__status__in=RELEASED_STATES).values_list("product_id").annotate(units=Sum("quantity")).order_by())
    for product_id, stock in Product.objects.filter(pk__in=initial_stock).values_list("pk", "stock"):
        if stock < 0 or initial_stock[product_id] - stock != sold.get(product_id, 0):
            problems.append(f"product {product_id}: stock {stock}, started at {initial_stock[product_id]}, orders hold {sold.get(product_id, 0)}")

    # Coupons: the counter is the rows, never beyond the campaign, one per user.
    issued = UserCoupon.objects.values("coupon_id").annotate(rows=Count("id"), users=Count("user_id", distinct=True))
    rows = {entry["coupon_id"]: entry for entry in issued}
    for coupon in Coupon.objects.all():
        entry = rows.get(coupon.pk, {"rows": 0, "users": 0})
        if not (coupon.issued_quantity == entry["rows"] == entry["users"] <= coupon.total_quantity):
            problems.append(
                f"coupon {coupon.pk}: issued_quantity {coupon.issued_quantity}, {entry['rows']} rows for {entry['users']} users, total {coupon.total_quantity}"
            )

    # Wallets: each balance is its ledger's sum and never negative; each wallet order was paid exactly once.
    ledger = dict(WalletTransaction.objects.values_list("wallet_id").annotate(total=Sum("amount")).order_by())
    for wallet_id, balance in Wallet.objects.values_list("pk", "balance"):
        if balance < 0 or balance != ledger.get(wallet_id, 0):
            problems.append(f"wallet {wallet_id}: balance {balance}, ledger {ledger.get(wallet_id, 0)}")
    payments = Counter(WalletTransaction.objects.filter(kind="payment").values_list("order_id", flat=True))
    paid_orders = dict(Order.objects.filter(paid_at__isnull=False, payment_method="wallet").values_list("pk", "total"))
    if set(payments) != set(paid_orders) or any(n != 1 for n in payments.values()):
        problems.append(f"wallet payments per order {dict(payments)} for paid wallet orders {sorted(paid_orders)}")
    for order_id, amount in WalletTransaction.objects.filter(kind="payment").values_list("order_id", "amount"):
        if order_id in paid_orders and amount != -paid_orders[order_id]:
            problems.append(f"order {order_id}: paid {-amount}, total {paid_orders[order_id]}")

    # Idempotency: every order was placed under exactly one key, and no key holds two orders.
    keyed = Counter(
        body["id"]
        for body in IdempotencyKey.objects.filter(response_status=201).values_list("response_body", flat=True)
        if isinstance(body, dict) and "items" in body
    )
    orders = set(Order.objects.values_list("pk", flat=True))
    if set(keyed) != orders or any(n != 1 for n in keyed.values()):
        problems.append(f"orders {sorted(orders)} against keys completed with an order {dict(keyed)}")

    # The outbox: nothing pending, each fact has its event, each sent event reached the platform
    # (signed), each dead one says why after its last attempt.
    events = list(OutboxEvent.objects.values_list("event_id", "type", "aggregate_id", "status", "attempts", "last_error"))
    by_status = Counter(status for _, _, _, status, _, _ in events)
    if by_status.get("pending"):
        problems.append(f"{by_status['pending']} outbox events still pending")
    sent_ids = {str(event_id) for event_id, _, _, status, _, _ in events if status == "sent"}
    missing = sent_ids - receiver.event_ids
    if missing:
        problems.append(f"{len(missing)} events marked sent never reached the data platform")
    if receiver.bad_signatures:
        problems.append(f"{receiver.bad_signatures} deliveries with a bad signature")
    limit = max_attempts or settings.OUTBOX_MAX_ATTEMPTS
    for event_id, type_, _, status, attempts, last_error in events:
        if status == "dead" and (attempts < limit or not last_error):
            problems.append(f"dead event {event_id} ({type_}) after {attempts} attempts, error {last_error!r}")
    types = Counter(type_ for _, type_, _, _, _, _ in events)
    paid_events = {aggregate_id for _, type_, aggregate_id, _, _, _ in events if type_ == "order.paid"}
    paid = set(Order.objects.filter(paid_at__isnull=False).values_list("pk", flat=True))
    if types["order.paid"] != len(paid) or paid_events != {str(pk) for pk in paid}:
        problems.append(f"{types['order.paid']} order.paid events for {len(paid)} paid orders")
    if types["coupon.issued"] != UserCoupon.objects.count():
        problems.append(f"{types['coupon.issued']} coupon.issued events for {UserCoupon.objects.count()} issued coupons")
    wallet_events = sum(n for type_, n in types.items() if type_.startswith("wallet."))
    if wallet_events != WalletTransaction.objects.count():
        problems.append(f"{wallet_events} wallet events for {WalletTransaction.objects.count()} wallet transactions")

    assert not problems, "invariants broken:\n" + "\n".join(problems)
    return {
        "orders": len(orders),
        "coupons issued": UserCoupon.objects.count(),
        "wallets": len(ledger),
        "events sent": by_status.get("sent", 0),
        "events dead": by_status.get("dead", 0),
    }
