"""The global lock order (cart → products → coupon → wallet → order) keeps mixed flows deadlock-free.

Real threads on MariaDB: places and cancels on orders that share products, one shopper's coupon and
one wallet, plus cart changes racing checkouts from that cart. No lock error ever reaches a caller
and every invariant holds exactly afterwards.
"""

import itertools

import pytest
from django.db import OperationalError
from django.db.models import Sum

from apps.cart.models import CartItem
from apps.cart.services import add_to_cart
from apps.catalog.models import Product
from apps.core.errors import ConcurrentUpdate, CouponNotApplicable, DomainError, OrderNotCancellable, ValidationError
from apps.orders import services
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from tests.concurrency import race
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import balance, fund, ledger_sum

pytestmark = pytest.mark.django_db(transaction=True)


def _sold(product_id: int) -> int:
    paid = OrderItem.objects.filter(product_id=product_id, order__status=Order.Status.PAID)
    return paid.aggregate(total=Sum("quantity"))["total"] or 0


def test_places_and_cancels_sharing_products_coupon_and_wallet_never_surface_a_lock_error():
    a, b, c = (ProductFactory(price=300, stock=40) for _ in range(3))
    shopper = UserFactory()
    fund(shopper, 100_000)
    coupon = UserCouponFactory(user=shopper, coupon=CouponFactory(discount_type="fixed", discount_value=100))
    # Orders to cancel: one of them holds the shared coupon, so cancelling it gives the coupon back.
    to_cancel = [services.place_order(user=shopper, lines=[services.OrderLine(a.pk, 1), services.OrderLine(b.pk, 1)], user_coupon_id=coupon.pk)]
    to_cancel += [services.place_order(user=shopper, lines=[services.OrderLine(c.pk, 1), services.OrderLine(a.pk, 2)]) for _ in range(5)]

    orderings = itertools.cycle([[a.pk, b.pk, c.pk], [c.pk, b.pk, a.pk], [b.pk, a.pk], [c.pk, a.pk]])
    workers = []
    for index in range(24):
        ids = next(orderings)
        coupon_id = coupon.pk if index % 3 == 0 else None
        workers.append(lambda ids=ids, coupon_id=coupon_id: services.place_order(
            user=shopper, lines=[services.OrderLine(pid, 1) for pid in ids], user_coupon_id=coupon_id
        ))
    for order in to_cancel:
        workers += [lambda order=order: services.cancel_order(user=shopper, order_id=order.pk)] * 2

    results = race(workers)

    unexpected = [r for r in results if isinstance(r, OperationalError | ConcurrentUpdate) or (
        isinstance(r, Exception) and not isinstance(r, CouponNotApplicable | OrderNotCancellable))]
    assert unexpected == []
    assert sum(isinstance(r, OrderNotCancellable) for r in results) == len(to_cancel)  # each cancelled exactly once
    for product in (a, b, c):
        assert Product.objects.get(pk=product.pk).stock == 40 - _sold(product.pk)
    paid_total = Order.objects.filter(user=shopper, status=Order.Status.PAID).aggregate(total=Sum("total"))["total"] or 0
    assert balance(shopper) == ledger_sum(shopper) == 100_000 - paid_total
    coupon.refresh_from_db()
    holders = list(Order.objects.filter(user_coupon=coupon, status=Order.Status.PAID).values_list("pk", flat=True))
    assert len(holders) <= 1
    assert (coupon.status, coupon.used_order_id) == (("used", holders[0]) if holders else ("available", None))
    assert OutboxEvent.objects.filter(type="order.paid").count() == Order.objects.count()
    assert OutboxEvent.objects.filter(type="order.cancelled").count() == Order.objects.filter(status=Order.Status.CANCELLED).count()


def test_cart_adds_racing_checkouts_from_that_cart_never_surface_a_lock_error():
    product = ProductFactory(price=100, stock=500)
    shopper = UserFactory()
    fund(shopper, 100_000)
    add_to_cart(user=shopper, product_id=product.pk, quantity=1)

    workers = []
    for index in range(30):
        if index % 3 == 0:
            workers.append(lambda: services.place_order(user=shopper, from_cart=True))
        else:
            workers.append(lambda: add_to_cart(user=shopper, product_id=product.pk, quantity=1))

    results = race(workers)

    lock_errors = [r for r in results if isinstance(r, OperationalError | ConcurrentUpdate)]
    assert lock_errors == []
    others = [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    assert others == []
    # An empty cart is the only refusal a checkout may meet here; adds never fail.
    assert all(isinstance(r, ValidationError) and "from_cart" in r.details for r in results if isinstance(r, DomainError))
    adds = sum(isinstance(r, CartItem) for r in results) + 1
    ordered = _sold(product.pk)
    in_cart = CartItem.objects.filter(cart__user=shopper).aggregate(total=Sum("quantity"))["total"] or 0
    assert ordered + in_cart == adds  # every unit added is either still in the cart or in exactly one order
    assert Product.objects.get(pk=product.pk).stock == 500 - ordered
    assert balance(shopper) == ledger_sum(shopper) == 100_000 - 100 * ordered
