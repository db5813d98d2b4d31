"""Card orders end to end: the shop on gunicorn with two Celery workers and beat, MariaDB, Redis and
the PG simulator, all real processes (tests/payments/card_shop.py); one shop for the whole module.

The simulator calls back to the gunicorn server; lost callbacks are found by the reconciler and
unpaid orders expired by beat's sweeps, every second here. The races between one order's callbacks,
its expiry and its cancellation run in this process, with threads against the same database.
Every test ends by looking for the card numbers it used in the database, the processes' logs and
every HTTP answer it got.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from celery import _state as celery_state
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from apps.catalog.models import Product
from apps.core.models import IdempotencyKey
from apps.coupons.models import UserCoupon
from apps.orders import services
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.payments import gateway, reconciliation
from apps.payments.breaker import SharedBreaker
from apps.payments.models import Payment
from apps.wallets.models import WalletTransaction
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory
from tests.orders.helpers import balance, world
from tests.payments.card_shop import (
    APPROVED,
    DECLINED,
    NEVER,
    NO_FUNDS,
    NOT_LUHN,
    PAYMENT_TIMEOUT_SECONDS,
    SILENT,
    CardShop,
    all_events_relayed,
    assert_no_card_number,
    database_dump,
    order_events,
    shopper,
    signed_callback,
    statuses,
    transaction_key,
    wait_for,
)
from tests.payments.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

FUNDS = 5_000
PRICE = 1_000
COUPON_OFF = 100


@pytest.fixture(scope="module")
def shop(django_db_setup, tmp_path_factory):
    card_shop = CardShop(tmp_path_factory.mktemp("card-shop"))
    try:
        card_shop.start()
        yield card_shop
    finally:
        card_shop.stop()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Replaces the suite's cache.clear(): that flushes the whole Redis database, which is also the
    nodes' Celery broker (with its queue bindings). Only the cache's own keys go, the breaker's too."""
    cache.delete_pattern("*")
    yield


@pytest.fixture(scope="module")
def paid_times(request):
    """Seconds from order to `paid` (by callback, simulator defaults: 50 ms latency, 1 s processing)."""
    times: list[float] = []
    yield times
    if len(times) >= 2:
        cuts = statistics.quantiles(times, n=20)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        line = f"card order → paid over {len(times)} orders: p50 {statistics.median(times):.2f} s, p95 {cuts[18]:.2f} s, max {max(times):.2f} s"
        if reporter:
            reporter.write_line(line)


def record_paid_time(paid_times: list[float], order_id: int) -> None:
    order = Order.objects.get(pk=order_id)
    paid_times.append((order.paid_at - order.created_at).total_seconds())


@pytest.fixture
def no_card_number_anywhere(shop, caplog):
    """After the test: no card number in the database, the logs (the processes' and this one's) or the answers received."""
    caplog.set_level(logging.DEBUG)
    yield
    dump = database_dump()
    assert "order.placed" in dump, "the dump holds none of the test's data"
    assert_no_card_number(("the database", dump), ("the logs", shop.logs()), ("this process's log", caplog.text), ("the HTTP answers", shop.http.answers()))


@pytest.fixture
def in_process_pg(shop, settings):
    """Services called in this process use the module's simulator; Celery runs eagerly here."""
    settings.PG_URL = shop.simulator.url
    settings.SITE_URL = "http://127.0.0.1:9"  # the cards used here never get a callback: the tests send them
    yield
    # An eager task sets Celery's process-wide "inside a task" flag and puts back the value it found:
    # tasks run eagerly by racing threads can leave it set, and every later result.get() would refuse.
    celery_state._set_task_join_will_block(False)


def card_buyer():
    """A shopper with money in the wallet, a product of their own (5 in stock) and a coupon worth COUPON_OFF."""
    user, token = shopper(funds=FUNDS)
    product = ProductFactory(price=PRICE, stock=5)
    coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=COUPON_OFF))
    return user, token, product, coupon


def stock(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def coupon_state(coupon) -> tuple[str, int | None]:
    row = UserCoupon.objects.get(pk=coupon.pk)
    return row.status, row.used_order_id


def wallet_untouched(user) -> bool:
    kinds = list(WalletTransaction.objects.filter(wallet__user=user).values_list("kind", "amount"))
    return balance(user) == FUNDS and kinds == [("charge", FUNDS)]


def event_payload(order_id: int, type: str) -> dict:
    return OutboxEvent.objects.get(aggregate_type="orders.order", aggregate_id=str(order_id), type=type).payload


def simulator_delivered_callback(shop, key: str) -> bool:
    return f"callback for {key} delivered" in shop.simulator.output()


def test_each_outcome_ends_in_its_statuses_with_its_events_stock_coupon_and_wallet(shop, paid_times, no_card_number_anywhere):
    cases = {"approved": APPROVED, "declined": DECLINED, "no_funds": NO_FUNDS, "lost_callback": SILENT, "never_answered": NEVER}
    placed = {}
    user, token, product, coupon = card_buyer()
    refused = shop.http.place_card_order(token, product.pk, card=NOT_LUHN, user_coupon_id=coupon.pk)
    assert (refused.status_code, refused.json()["error"]["code"], list(refused.json()["error"]["details"])) == (400, "VALIDATION_ERROR", ["card"])
    assert not Order.objects.exists() and stock(product) == 5 and coupon_state(coupon) == ("available", None)
    for name, card in cases.items():
        user, token, product, coupon = card_buyer()
        response = shop.http.place_card_order(token, product.pk, card=card, quantity=2, user_coupon_id=coupon.pk, key=f"outcome-{name}")
        assert response.status_code == 201, response.text
        body = response.json()
        last4 = "".join(filter(str.isdigit, card))[-4:]
        assert (body["status"], body["subtotal"], body["discount"], body["total"], body["paid_at"]) == ("pending_payment", 2000, 100, 1900, None)
        assert body["payment"] == {"method": "card", "status": "pending", "card_brand": "visa", "card_last4": last4, "failure_reason": None}
        hold = parse_datetime(body["expires_at"]) - parse_datetime(body["created_at"])
        assert abs(hold.total_seconds() - PAYMENT_TIMEOUT_SECONDS) < 1
        assert stock(product) == 3 and coupon_state(coupon) == ("used", body["id"])
        placed[name] = (user, token, product, coupon, body["id"])

    def order_id(name):
        return placed[name][4]

    wait_for(order_id("approved"), ("paid", "approved"), timeout=10)
    wait_for(order_id("declined"), ("payment_failed", "declined"), timeout=10)
    wait_for(order_id("no_funds"), ("payment_failed", "declined"), timeout=10)
    wait_for(order_id("lost_callback"), ("paid", "approved"), timeout=15)
    record_paid_time(paid_times, order_id("approved"))

    # The lost callback was never sent: the reconciler asked the PG, no sooner than it should.
    lost = Payment.objects.get(order_id=order_id("lost_callback"))
    assert not simulator_delivered_callback(shop, lost.transaction_key)
    assert Order.objects.get(pk=order_id("lost_callback")).paid_at >= lost.requested_at + timedelta(seconds=1)

    # Never answered: expired by the sweep once past expires_at, the hold released, the payment voided at the PG too.
    never_id = order_id("never_answered")
    wait_for(never_id, ("expired", "voided"), timeout=PAYMENT_TIMEOUT_SECONDS + 10)
    never_order = Order.objects.get(pk=never_id)
    assert never_order.updated_at >= never_order.expires_at
    never_key = Payment.objects.get(order_id=never_id).transaction_key
    assert wait_until(lambda: shop.pg_status(never_key) == "refunded", timeout=10), "the expired order's payment was not voided at the PG"
    user, token, product, coupon, _ = placed["never_answered"]
    assert stock(product) == 5 and coupon_state(coupon) == ("available", None)

    # Then the PG approves it after all: the shop does not keep the money.
    body, signature = signed_callback(transaction_key=never_key, order_id=never_id, status="approved")
    late = shop.http.callback(body, signature)
    assert (late.status_code, late.json()) == (200, {"order_id": never_id, "status": "expired"})
    wait_for(never_id, ("expired", "refunded"), timeout=15)
    assert shop.pg_refund_calls(never_key) >= 2  # the void, then the refund of the approval
    assert stock(product) == 5 and coupon_state(coupon) == ("available", None)

    expected = {
        "approved": ("paid", "approved", None, 3, "used", ["order.placed", "order.paid"]),
        "declined": ("payment_failed", "declined", "card_declined", 5, "available", ["order.placed", "order.payment_failed"]),
        "no_funds": ("payment_failed", "declined", "insufficient_funds", 5, "available", ["order.placed", "order.payment_failed"]),
        "lost_callback": ("paid", "approved", None, 3, "used", ["order.placed", "order.paid"]),
        "never_answered": ("expired", "refunded", None, 5, "available", ["order.placed", "order.expired", "payment.refunded"]),
    }
    for name, (order_status, payment_status, reason, units_left, coupon_status, events) in expected.items():
        user, token, product, coupon, oid = placed[name]
        seen = shop.http.order(token, oid)
        got = (seen["status"], seen["payment"]["status"], seen["payment"]["failure_reason"], stock(product), coupon_state(coupon)[0], order_events(oid))
        assert got == (order_status, payment_status, reason, units_left, coupon_status, events), name
        assert (seen["paid_at"] is not None) == (order_status == "paid"), name
        assert wallet_untouched(user), name
        assert UserCoupon.objects.get(pk=coupon.pk).used_order_id == (oid if coupon_status == "used" else None), name
    for name in ("declined", "no_funds"):
        assert event_payload(order_id(name), "order.payment_failed")["failure_reason"] == expected[name][2]
    refund = event_payload(never_id, "payment.refunded")
    assert (refund["amount"], refund["transaction_key"]) == (1900, never_key)
    all_events_relayed(shop.receiver)


def test_cancel_while_pending_voids_the_payment_and_cancel_after_paid_refunds_it(shop, paid_times, no_card_number_anywhere):
    # While pending: the PG holds the payment (it never decides this card), the shopper cancels.
    user, token, product, coupon = card_buyer()
    pending = shop.http.place_card_order(token, product.pk, card=NEVER, user_coupon_id=coupon.pk).json()
    key = transaction_key(pending["id"])
    cancelled = shop.http.cancel(token, pending["id"])
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment"]["status"]) == ("cancelled", "voided")
    assert stock(product) == 5 and coupon_state(coupon) == ("available", None)
    assert wait_until(lambda: shop.pg_status(key) == "refunded", timeout=10), "the pending payment was not voided at the PG"
    assert shop.pg_refund_calls(key) >= 1
    assert statuses(pending["id"]) == ("cancelled", "voided")
    assert order_events(pending["id"]) == ["order.placed", "order.cancelled"]
    assert wallet_untouched(user)

    # After paid: the charge is refunded at the PG after the commit.
    user, token, product, coupon = card_buyer()
    paid = shop.http.place_card_order(token, product.pk, card=APPROVED, user_coupon_id=coupon.pk).json()
    wait_for(paid["id"], ("paid", "approved"), timeout=10)
    record_paid_time(paid_times, paid["id"])
    key = Payment.objects.get(order_id=paid["id"]).transaction_key
    assert shop.pg_status(key) == "approved"
    cancelled = shop.http.cancel(token, paid["id"])
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment"]["status"]) == ("cancelled", "refund_pending")
    assert cancelled.json()["cancelled_at"] is not None
    wait_for(paid["id"], ("cancelled", "refunded"), timeout=10)
    assert shop.pg_status(key) == "refunded" and shop.pg_refund_calls(key) >= 1
    assert order_events(paid["id"]) == ["order.placed", "order.paid", "order.cancelled", "payment.refunded"]
    assert event_payload(paid["id"], "payment.refunded")["amount"] == PRICE - COUPON_OFF
    assert stock(product) == 5 and coupon_state(coupon) == ("available", None)
    assert wallet_untouched(user)

    again = shop.http.cancel(token, paid["id"])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ORDER_NOT_CANCELLABLE")
    assert order_events(paid["id"])[-1] == "payment.refunded"
    all_events_relayed(shop.receiver)


def test_a_refund_that_fails_while_the_pg_is_down_is_retried_until_refunded(shop, no_card_number_anywhere):
    user, token, product, coupon = card_buyer()
    order = shop.http.place_card_order(token, product.pk, card=APPROVED, user_coupon_id=coupon.pk).json()
    wait_for(order["id"], ("paid", "approved"), timeout=10)
    payment = Payment.objects.get(order_id=order["id"])

    shop.pg_down()
    try:
        cancelled = shop.http.cancel(token, order["id"])
        assert (cancelled.status_code, cancelled.json()["payment"]["status"]) == (200, "refund_pending")
        assert wait_until(lambda: Payment.objects.get(pk=payment.pk).attempts >= 1, timeout=15), "no refund attempt failed"
        assert statuses(order["id"]) == ("cancelled", "refund_pending")
        assert shop.pg_status(payment.transaction_key) == "approved"  # the PG still holds the money
        assert shop.pg_refund_calls(payment.transaction_key) == 0
        assert f"payment {payment.pk}: refund failed" in shop.logs()
    finally:
        shop.pg_up()

    wait_for(order["id"], ("cancelled", "refunded"), timeout=20)
    assert shop.pg_status(payment.transaction_key) == "refunded" and shop.pg_refund_calls(payment.transaction_key) >= 1
    assert order_events(order["id"]) == ["order.placed", "order.paid", "order.cancelled", "payment.refunded"]
    assert stock(product) == 5 and coupon_state(coupon) == ("available", None)
    assert wallet_untouched(user)
    all_events_relayed(shop.receiver)


def _race(calls: list, *, head_start: set[int] = frozenset()) -> list:
    """Run every call in its own thread, released together (those in `head_start` a moment earlier)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            if index not in head_start:
                time.sleep(0.01)
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing call never returned"
    return results


class StockWatch:
    """Samples a product's stock from its own connection while a race runs; keeps the lowest value seen."""

    def __init__(self, product_id: int):
        self.product_id = product_id
        self.lowest: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)
        self._thread.start()

    def _watch(self):
        try:
            while not self._stop.is_set():
                value = Product.objects.filter(pk=self.product_id).values_list("stock", flat=True).first()
                self.lowest = value if self.lowest is None else min(self.lowest, value)
                self.samples += 1
                self._stop.wait(0.01)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _outcome(response) -> tuple[int, str | None]:
    return response.status_code, (response.json()["error"]["code"] if response.status_code >= 400 else None)


def test_fifty_card_buyers_race_for_ten_units_and_declined_units_are_sold_again(shop, paid_times, no_card_number_anywhere):
    units = 10
    product = ProductFactory(price=PRICE, stock=units)
    buyers = [shopper() for _ in range(50)]
    declining = {index for index in range(len(buyers)) if index % 3 == 0}
    card = {index: (DECLINED if index % 2 else NO_FUNDS) if index in declining else APPROVED for index in range(len(buyers))}
    created: dict[int, int] = {}  # order id → buyer index

    def wave(indexes: list[int], *, head_start: set[int] = frozenset()) -> Counter:
        calls = [lambda index=index: (index, shop.http.place_card_order(buyers[index][1], product.pk, card=card[index])) for index in indexes]
        outcomes: Counter = Counter()
        for index, response in _race(calls, head_start={position for position, index in enumerate(indexes) if index in head_start}):
            outcomes[_outcome(response)] += 1
            if response.status_code == 201:
                created[response.json()["id"]] = index
        assert set(outcomes) <= {(201, None), (409, "OUT_OF_STOCK")}, outcomes
        assert wait_until(lambda: not Order.objects.filter(status="pending_payment").exists(), timeout=20), "orders still pending"
        return outcomes

    watch = StockWatch(product.pk)
    try:
        # The declining third starts a moment first, so some of them are sure to win a unit.
        first = wave(list(range(len(buyers))), head_start=declining)
        left_after_first = stock(product)
        failed_in_first = Order.objects.filter(status="payment_failed").count()
        assert failed_in_first >= 1, "no declining card won a unit: the test proves nothing"
        assert left_after_first == units - Order.objects.filter(status="paid").count()
        # The second wave: everyone with a good card who has nothing yet.
        second_wave = [index for index in range(len(buyers)) if index not in declining and index not in created.values()]
        second = wave(second_wave)
    finally:
        watch.stop()

    assert watch.samples > 10 and watch.lowest >= 0
    assert second[(201, None)] == left_after_first
    assert stock(product) == 0
    paid = list(Order.objects.filter(status="paid"))
    failed = list(Order.objects.filter(status="payment_failed"))
    assert len(paid) == units
    assert OrderItem.objects.filter(order__status="paid").aggregate(units=Sum("quantity"))["units"] == units
    assert len({order.user_id for order in paid}) == units
    # Every order that held a unit was paid, or failed and gave its unit back to be sold again.
    assert Order.objects.count() == len(created) == first[(201, None)] + second[(201, None)] == units + len(failed)
    assert all(created[order.pk] not in declining for order in paid)
    assert all(created[order.pk] in declining for order in failed)
    for order in paid:
        assert (order_events(order.pk), Payment.objects.get(order=order).status) == (["order.placed", "order.paid"], "approved")
        record_paid_time(paid_times, order.pk)
    for order in failed:
        payment = Payment.objects.get(order=order)
        assert (order_events(order.pk), payment.status) == (["order.placed", "order.payment_failed"], "declined")
        assert payment.failure_reason == ("card_declined" if card[created[order.pk]] == DECLINED else "insufficient_funds")
    all_events_relayed(shop.receiver)


def _post_callback(body: bytes, signature: str):
    response = APIClient().post(gateway.CALLBACK_PATH, data=body, content_type="application/json", HTTP_X_PG_SIGNATURE=signature)
    return response.status_code, response.json()


def _pending_card_order(user, product, coupon) -> Order:
    """A card order the PG has accepted and never decides: its outcome is whatever the test delivers."""
    order = services.place_order(user=user, lines=[services.OrderLine(product.pk, 1)], user_coupon_id=coupon.pk, payment_method="card", card_number=NEVER)
    transaction_key(order.pk, timeout=10)
    return order


@pytest.mark.parametrize(("outcome", "reason", "final", "units_left", "coupon_status"), [
    ("approved", None, ("paid", "approved"), 4, "used"),
    ("declined", "card_declined", ("payment_failed", "declined"), 5, "available"),
])  # fmt: skip
def test_the_same_callback_delivered_five_times_at_once_moves_the_order_once(
    shop, in_process_pg, no_card_number_anywhere, outcome, reason, final, units_left, coupon_status
):
    user, _, product, coupon = card_buyer()
    order = _pending_card_order(user, product, coupon)
    key = Payment.objects.get(order=order).transaction_key
    body, signature = signed_callback(transaction_key=key, order_id=order.pk, status=outcome, reason=reason)

    answers = _race([lambda: _post_callback(body, signature)] * 5)

    assert answers == [(200, {"order_id": order.pk, "status": final[0]})] * 5
    assert statuses(order.pk) == final
    assert order_events(order.pk) == ["order.placed", "order.paid" if outcome == "approved" else "order.payment_failed"]
    assert stock(product) == units_left and coupon_state(coupon)[0] == coupon_status
    assert Payment.objects.get(order=order).failure_reason == reason
    assert wallet_untouched(user)


def test_a_callback_racing_the_expiry_job_and_a_cancel_ends_the_hold_once(shop, in_process_pg, no_card_number_anywhere):
    rounds = 8
    product = ProductFactory(price=PRICE, stock=rounds)
    for round_number in range(rounds):
        user, _ = shopper(funds=FUNDS)
        coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=COUPON_OFF))
        order = _pending_card_order(user, product, coupon)
        key = Payment.objects.get(order=order).transaction_key
        outcome = "approved" if round_number % 2 else "declined"
        body, signature = signed_callback(transaction_key=key, order_id=order.pk, status=outcome, reason=None if outcome == "approved" else "card_declined")
        shopper_client = APIClient()
        shopper_client.force_authenticate(user=user)

        def cancel(client=shopper_client, order_id=order.pk):
            response = client.post(f"/api/v1/orders/{order_id}/cancel")
            return response.status_code, response.json().get("error", {}).get("code")

        def deliver(body=body, signature=signature):
            return _post_callback(body, signature)

        # Due now, right before the race (beat's sweep may join it too).
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        callback, _, cancelled = _race([deliver, reconciliation.expire_overdue_orders, cancel])

        assert wait_until(lambda order=order: statuses(order.pk)[1] != "refund_pending", timeout=10), "a refund never completed"
        order_status, payment_status = statuses(order.pk)
        events = order_events(order.pk)
        assert callback[0] == 200
        assert cancelled in {(200, None), (409, "ORDER_NOT_CANCELLABLE")}
        assert (cancelled == (200, None)) == (order_status == "cancelled")
        ended = [event for event in events if event in ("order.payment_failed", "order.expired", "order.cancelled")]
        assert len(ended) == 1, events
        allowed = {
            ("payment_failed", "declined"): [["order.placed", "order.payment_failed"]],
            ("expired", "voided"): [["order.placed", "order.expired"]],
            ("expired", "refunded"): [["order.placed", "order.expired", "payment.refunded"]],
            ("cancelled", "voided"): [["order.placed", "order.cancelled"]],
            ("cancelled", "refunded"): [
                ["order.placed", "order.cancelled", "payment.refunded"],
                ["order.placed", "order.paid", "order.cancelled", "payment.refunded"],
            ],
        }
        assert events in allowed.get((order_status, payment_status), []), (order_status, payment_status, events)
        if outcome == "declined":
            assert "payment.refunded" not in events
        assert coupon_state(coupon) == ("available", None)
        assert wallet_untouched(user)
        assert stock(product) == rounds  # the order's unit came back, exactly once


def test_bad_or_missing_callback_signature_is_refused_and_changes_nothing(shop, no_card_number_anywhere):
    user, token, product, coupon = card_buyer()
    order = shop.http.place_card_order(token, product.pk, card=NEVER, user_coupon_id=coupon.pk).json()
    key = transaction_key(order["id"])
    body, signature = signed_callback(transaction_key=key, order_id=order["id"], status="approved")
    other_body, other_signature = signed_callback(transaction_key=key, order_id=order["id"], status="declined", reason="card_declined")
    before = {**world(), "payments": list(Payment.objects.values_list("pk", "status", "transaction_key"))}

    refused = [
        shop.http.callback(body, None),
        shop.http.callback(body, ""),
        shop.http.callback(body, gateway.sign(body, secret="not-the-pg-secret")),
        shop.http.callback(body, other_signature),  # a genuine signature, of another body
        shop.http.callback(body, signature.removeprefix("sha256=")),
        shop.http.callback(body, signature[:-1] + ("0" if signature[-1] != "0" else "1")),
    ]
    for response in refused:
        assert (response.status_code, response.json()["error"]["code"]) == (401, "INVALID_SIGNATURE")
    assert {**world(), "payments": list(Payment.objects.values_list("pk", "status", "transaction_key"))} == before
    for leaked in (f"paid with {NEVER}", "card 4242 4242 4242 4242 declined"):  # the check below would see one
        with pytest.raises(AssertionError):
            assert_no_card_number(("a sample", leaked))

    unknown_order, unknown_signature = signed_callback(transaction_key=key, order_id=order["id"] + 1000, status="approved")
    wrong_key, wrong_key_signature = signed_callback(transaction_key="pg_not_this_one", order_id=order["id"], status="approved")
    for answer in (shop.http.callback(unknown_order, unknown_signature), shop.http.callback(wrong_key, wrong_key_signature)):
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert {**world(), "payments": list(Payment.objects.values_list("pk", "status", "transaction_key"))} == before

    accepted = shop.http.callback(body, signature)
    assert (accepted.status_code, accepted.json()) == (200, {"order_id": order["id"], "status": "paid"})
    assert shop.http.callback(other_body, other_signature).json() == {"order_id": order["id"], "status": "paid"}  # too late: no change
    assert statuses(order["id"]) == ("paid", "approved")
    assert order_events(order["id"]) == ["order.placed", "order.paid"]
    all_events_relayed(shop.receiver)


def test_a_pg_failing_forty_percent_of_requests_after_two_seconds_still_gets_orders_paid(shop, no_card_number_anywhere):
    flaky = shop.start_simulator(PG_SIM_FAILURE_RATE=0.4, PG_SIM_LATENCY_MS=2000, PG_SIM_PROCESSING_MS=300)
    shop.route_pg_to(flaky)
    placed = []
    try:
        # Batches of two (one per worker) until the PG has failed at least once (64% of batches see a failure).
        for _ in range(6):
            batch = []
            for _ in range(2):
                user, token, product, coupon = card_buyer()
                response = shop.http.place_card_order(token, product.pk, card=APPROVED, user_coupon_id=coupon.pk)
                assert response.status_code == 201, response.text
                batch.append((user, product, coupon, response.json()["id"]))
            for *_, order_id in batch:
                wait_for(order_id, ("paid", "approved"), timeout=PAYMENT_TIMEOUT_SECONDS + 5)
            placed += batch
            if "simulated failure (500)" in flaky.output():
                break
        assert "simulated failure (500)" in flaky.output()
        assert SharedBreaker(gateway.BREAKER_NAME).state().name == "closed"
    finally:
        shop.route_pg_to(shop.simulator)

    for user, product, coupon, order_id in placed:
        assert order_events(order_id) == ["order.placed", "order.paid"]
        assert stock(product) == 4 and coupon_state(coupon) == ("used", order_id)
        assert wallet_untouched(user)
    all_events_relayed(shop.receiver)


def test_with_the_pg_down_the_breaker_opens_card_orders_get_503_at_once_and_it_closes_after(shop, paid_times, no_card_number_anywhere):
    breaker = SharedBreaker(gateway.BREAKER_NAME)
    product = ProductFactory(price=PRICE, stock=20)
    user, token = shopper(funds=FUNDS)
    during_outage = []
    shop.pg_down()
    try:
        # Orders placed before the shop knows: accepted, and their payment requests fail.
        for _ in range(6):
            response = shop.http.place_card_order(token, product.pk, card=APPROVED)
            assert response.status_code == 201, response.text
            during_outage.append(response.json()["id"])
        assert wait_until(lambda: breaker.state().name == "open", timeout=20, interval=0.1), f"the breaker did not open: {breaker.state()}"

        before = {**world(), "payments": Payment.objects.count(), "keys": IdempotencyKey.objects.count()}
        started = time.monotonic()
        refused = shop.http.place_card_order(token, product.pk, card=APPROVED, key="while-the-pg-is-down")
        elapsed = time.monotonic() - started
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "PAYMENT_UNAVAILABLE")
        assert 1 <= int(refused.headers["Retry-After"]) <= 2
        assert elapsed < 1.5, f"the refusal took {elapsed:.2f} s"
        assert {**world(), "payments": Payment.objects.count(), "keys": IdempotencyKey.objects.count()} == before
        wallet = shop.http.call("POST", "/api/v1/orders", token=token, json={"items": [{"product_id": product.pk, "quantity": 1}]})
        assert (wallet.status_code, wallet.json()["status"]) == (201, "paid")  # the wallet does not need the PG
    finally:
        shop.pg_up()

    # Retried payment requests find the PG back: the breaker half-opens, one trial call closes it.
    assert wait_until(lambda: breaker.state().name == "closed", timeout=20, interval=0.1), f"the breaker did not close: {breaker.state()}"
    after = shop.http.place_card_order(token, product.pk, card=APPROVED)
    assert after.status_code == 201, after.text
    wait_for(after.json()["id"], ("paid", "approved"), timeout=10)
    record_paid_time(paid_times, after.json()["id"])

    # The orders of the outage: paid once their request went through, or expired (stock back) if it never did.
    assert wait_until(lambda: not Order.objects.filter(pk__in=during_outage, status="pending_payment").exists(), timeout=PAYMENT_TIMEOUT_SECONDS + 10)
    ends = Counter(statuses(order_id) for order_id in during_outage)
    assert set(ends) <= {("paid", "approved"), ("expired", "voided")}, ends
    assert ends[("paid", "approved")] >= 1, ends
    held = Order.objects.filter(status="paid").count()  # the card orders paid, and the wallet order
    assert stock(product) == 20 - held
    assert balance(user) == FUNDS - PRICE
    all_events_relayed(shop.receiver)
