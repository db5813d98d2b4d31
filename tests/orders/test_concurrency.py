"""Real threads against MariaDB: the invariants must hold exactly, whoever wins each race."""

import threading

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from apps.catalog import services as catalog_services
from apps.catalog.models import Product
from apps.core.errors import CouponNotApplicable, InsufficientBalance, OrderNotCancellable, OutOfStock
from apps.coupons.models import UserCoupon
from apps.orders import services
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.wallets.models import Wallet, WalletTransaction
from tests.concurrency import race
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import balance, fund, ledger_sum

pytestmark = pytest.mark.django_db(transaction=True)


def buy(user, lines, coupon_id=None):
    return lambda: services.place_order(user=user, lines=[services.OrderLine(pid, qty) for pid, qty in lines], user_coupon_id=coupon_id)


def test_fifty_buyers_race_for_ten_units():
    product = ProductFactory(price=1000, stock=10)
    buyers = [UserFactory() for _ in range(50)]
    coupons = {}
    for buyer in buyers:
        fund(buyer, 5000)
        coupons[buyer.pk] = UserCouponFactory(user=buyer, coupon=CouponFactory(discount_value=100)).pk

    results = race([buy(buyer, [(product.pk, 1)], coupons[buyer.pk]) for buyer in buyers])

    winners = [buyer for buyer, result in zip(buyers, results, strict=True) if isinstance(result, Order)]
    losers = [(buyer, result) for buyer, result in zip(buyers, results, strict=True) if not isinstance(result, Order)]
    assert len(winners) == 10
    assert all(isinstance(result, OutOfStock) for _, result in losers), [repr(r) for _, r in losers if not isinstance(r, OutOfStock)]
    assert len(losers) == 40
    assert all(result.details == {"product_id": product.pk, "requested": 1, "available": 0} for _, result in losers)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == 10
    assert OrderItem.objects.aggregate(units=Sum("quantity"))["units"] == 10
    assert OutboxEvent.objects.filter(type="order.paid").count() == 10
    for buyer in winners:
        assert balance(buyer) == 5000 - 900 == ledger_sum(buyer)
        assert UserCoupon.objects.get(pk=coupons[buyer.pk]).status == "used"
    for buyer, _ in losers:
        assert balance(buyer) == 5000 == ledger_sum(buyer)
        assert list(WalletTransaction.objects.filter(wallet__user=buyer).values_list("kind", flat=True)) == ["charge"]
        coupon = UserCoupon.objects.get(pk=coupons[buyer.pk])
        assert (coupon.status, coupon.used_order_id) == ("available", None)


def test_orders_sharing_products_in_opposite_orders_never_deadlock():
    a, b, c = ProductFactory(price=100, stock=1000), ProductFactory(price=200, stock=1000), ProductFactory(price=300, stock=1000)
    buyers = [UserFactory() for _ in range(24)]
    for buyer in buyers:
        fund(buyer, 100_000)
    shapes = [[(a.pk, 1), (b.pk, 2)], [(b.pk, 2), (a.pk, 1)], [(c.pk, 1), (b.pk, 1), (a.pk, 3)], [(a.pk, 3), (c.pk, 1), (b.pk, 1)]]
    workers = [buy(buyer, shapes[index % len(shapes)]) for index, buyer in enumerate(buyers)]

    results = race(workers)

    assert all(isinstance(result, Order) for result in results), [repr(r) for r in results if not isinstance(r, Order)]
    sold = {pid: 0 for pid in (a.pk, b.pk, c.pk)}
    for index in range(len(buyers)):
        for pid, qty in shapes[index % len(shapes)]:
            sold[pid] += qty
    assert dict(Product.objects.filter(pk__in=sold).values_list("pk", "stock")) == {pid: 1000 - units for pid, units in sold.items()}
    assert dict(OrderItem.objects.values("product_id").annotate(units=Sum("quantity")).values_list("product_id", "units")) == sold


def test_cancellations_and_new_orders_on_shared_products_add_up():
    a, b = ProductFactory(price=100, stock=500), ProductFactory(price=100, stock=500)
    old_buyers = [UserFactory() for _ in range(10)]
    new_buyers = [UserFactory() for _ in range(10)]
    for buyer in old_buyers + new_buyers:
        fund(buyer, 10_000)
    old_orders = [buy(buyer, [(a.pk, 2), (b.pk, 1)])() for buyer in old_buyers]
    assert dict(Product.objects.values_list("pk", "stock")) == {a.pk: 480, b.pk: 490}

    cancels = [
        lambda order=order, buyer=buyer: services.cancel_order(user=buyer, order_id=order.pk)
        for order, buyer in zip(old_orders, old_buyers, strict=True)
    ]
    results = race(cancels + [buy(buyer, [(b.pk, 3), (a.pk, 1)]) for buyer in new_buyers])

    assert all(isinstance(result, Order) for result in results), [repr(r) for r in results if not isinstance(r, Order)]
    assert dict(Product.objects.values_list("pk", "stock")) == {a.pk: 500 - 10, b.pk: 500 - 30}
    for buyer in old_buyers:
        assert balance(buyer) == 10_000 == ledger_sum(buyer)
    for buyer in new_buyers:
        assert balance(buyer) == 10_000 - 400 == ledger_sum(buyer)


def test_one_users_concurrent_orders_never_overdraw_the_wallet():
    buyer = UserFactory()
    fund(buyer, 1000)
    products = [ProductFactory(price=300, stock=5) for _ in range(10)]
    coupons = [UserCouponFactory(user=buyer, coupon=CouponFactory(discount_value=10)) for _ in range(10)]

    results = race([buy(buyer, [(product.pk, 1)], coupon.pk) for product, coupon in zip(products, coupons, strict=True)])

    paid = [index for index, result in enumerate(results) if isinstance(result, Order)]
    refused = [index for index, result in enumerate(results) if isinstance(result, InsufficientBalance)]
    assert len(paid) == 3, [repr(r) for r in results]
    assert len(refused) == 7
    assert balance(buyer) == 1000 - 3 * 290 == ledger_sum(buyer)
    assert Wallet.objects.get(user=buyer).balance >= 0
    for index in paid:
        assert Product.objects.get(pk=products[index].pk).stock == 4
        assert UserCoupon.objects.get(pk=coupons[index].pk).status == "used"
    for index in refused:
        assert Product.objects.get(pk=products[index].pk).stock == 5
        coupon = UserCoupon.objects.get(pk=coupons[index].pk)
        assert (coupon.status, coupon.used_order_id) == ("available", None)
    assert WalletTransaction.objects.filter(kind="payment").count() == 3
    assert OutboxEvent.objects.filter(type="order.paid").count() == 3


def test_one_coupon_used_by_two_concurrent_orders_wins_once():
    buyer = UserFactory()
    fund(buyer, 10_000)
    first, second = ProductFactory(price=1000, stock=5), ProductFactory(price=1000, stock=5)
    user_coupon = UserCouponFactory(user=buyer, coupon=CouponFactory(discount_value=300))

    results = race([buy(buyer, [(first.pk, 1)], user_coupon.pk), buy(buyer, [(second.pk, 1)], user_coupon.pk)])

    winners = [result for result in results if isinstance(result, Order)]
    losers = [result for result in results if isinstance(result, CouponNotApplicable)]
    assert len(winners) == 1 and len(losers) == 1, [repr(r) for r in results]
    order = winners[0]
    assert Order.objects.count() == 1
    user_coupon.refresh_from_db()
    assert (user_coupon.status, user_coupon.used_order_id) == ("used", order.pk)
    assert balance(buyer) == 10_000 - 700 == ledger_sum(buyer)
    ordered = order.items.get().product_id
    assert dict(Product.objects.values_list("pk", "stock")) == {first.pk: 4 if ordered == first.pk else 5, second.pk: 4 if ordered == second.pk else 5}


def test_concurrent_cancels_of_one_order_refund_once():
    buyer = UserFactory()
    fund(buyer, 5000)
    product = ProductFactory(price=1500, stock=3)
    user_coupon = UserCouponFactory(user=buyer, coupon=CouponFactory(discount_value=500))
    order = buy(buyer, [(product.pk, 2)], user_coupon.pk)()
    assert balance(buyer) == 2500

    results = race([lambda: services.cancel_order(user=buyer, order_id=order.pk) for _ in range(8)])

    assert sum(isinstance(result, Order) for result in results) == 1
    assert sum(isinstance(result, OrderNotCancellable) for result in results) == 7, [repr(r) for r in results]
    assert balance(buyer) == 5000 == ledger_sum(buyer)
    assert WalletTransaction.objects.filter(kind="refund").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3
    assert UserCoupon.objects.get(pk=user_coupon.pk).status == "available"
    assert OutboxEvent.objects.filter(type="order.cancelled").count() == 1


def test_the_same_idempotency_key_sent_concurrently_orders_once():
    buyer = UserFactory()
    fund(buyer, 10_000)
    product = ProductFactory(price=1000, stock=50)
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}

    def send():
        client = APIClient()
        client.force_authenticate(user=buyer)
        return client.post("/api/v1/orders", body, format="json", headers={"Idempotency-Key": "same-tap"})

    responses = race([send for _ in range(6)])

    outcomes = sorted((response.status_code, response.json().get("error", {}).get("code")) for response in responses)
    assert Order.objects.count() == 1
    assert all(outcome in {(201, None), (409, "IDEMPOTENCY_IN_PROGRESS")} for outcome in outcomes), outcomes
    assert {response.json()["id"] for response in responses if response.status_code == 201} == {Order.objects.get().pk}
    assert balance(buyer) == 9000 == ledger_sum(buyer)
    assert Product.objects.get(pk=product.pk).stock == 49


def test_a_real_deadlock_is_retried_and_never_reaches_the_caller(monkeypatch):
    """Make InnoDB deadlock for real (locks deliberately taken in the lines' order, not by id): the
    victim's whole transaction is rerun and both shoppers get their order."""
    a, b = ProductFactory(price=100, stock=10), ProductFactory(price=100, stock=10)
    first, second = UserFactory(), UserFactory()
    fund(first, 1000)
    fund(second, 1000)
    both_hold_one = threading.Barrier(2)
    attempts = []
    state = threading.local()

    def lock_in_line_order(*, product_ids):
        attempts.append(1)
        for position, pid in enumerate(product_ids):
            Product.objects.select_for_update().filter(pk=pid).get()
            if position == 0 and not getattr(state, "retrying", False):
                state.retrying = True
                both_hold_one.wait(timeout=10)
        return {product.pk: product for product in Product.objects.filter(pk__in=list(product_ids))}

    monkeypatch.setattr(catalog_services, "lock_products", lock_in_line_order)

    results = race([buy(first, [(a.pk, 1), (b.pk, 1)]), buy(second, [(b.pk, 1), (a.pk, 1)])])

    assert all(isinstance(result, Order) for result in results), [repr(r) for r in results]
    assert len(attempts) >= 3  # one transaction was chosen as the deadlock victim and ran again
    assert dict(Product.objects.values_list("pk", "stock")) == {a.pk: 8, b.pk: 8}
    assert balance(first) == balance(second) == 800
