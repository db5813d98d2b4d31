"""The card order state machine at the service level, against the PG simulator (a real process) and MariaDB.

Celery runs eagerly here: the PG request and refunds happen right after each commit, in this process.
The callbacks the simulator sends go nowhere (no shop is listening): each test applies the PG's
answer itself, as the callback endpoint or the reconciler would.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.catalog.models import Product
from apps.core.errors import NotFound, OrderNotCancellable
from apps.coupons.models import UserCoupon
from apps.orders import services
from apps.orders.models import Order
from apps.outbox.models import OutboxEvent
from apps.payments.models import Payment
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import balance, fund
from tests.payments.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

APPROVED = "4242 4242 4242 4242"


@pytest.fixture(autouse=True)
def gateway_is_the_simulator(simulator, fast_retries):
    fast_retries.PG_URL = simulator.url
    fast_retries.SITE_URL = "http://127.0.0.1:9"  # nobody listens: callbacks are applied by the tests


def card_order(user, product, *, quantity=1, coupon=None, number=APPROVED) -> Order:
    return services.place_order(
        user=user, lines=[services.OrderLine(product.pk, quantity)], user_coupon_id=coupon, payment_method="card", card_number=number
    )


def events(order) -> list[str]:
    return list(OutboxEvent.objects.filter(aggregate_type="orders.order", aggregate_id=str(order.pk)).order_by("pk").values_list("type", flat=True))


def requested_payment(order) -> Payment:
    """The payment once the PG has accepted the request (the eager task ran after the commit)."""
    assert wait_until(lambda: Payment.objects.filter(order=order, transaction_key__isnull=False).exists(), timeout=10)
    return Payment.objects.get(order=order)


def test_a_card_order_holds_stock_and_coupon_until_the_pg_approves_it():
    user, product = UserFactory(), ProductFactory(price=1000, stock=3)
    coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=100))

    order = card_order(user, product, quantity=2, coupon=coupon.pk)

    assert (order.status, order.total, order.paid_at) == ("pending_payment", 1900, None)
    assert order.expires_at is not None and order.expires_at > timezone.now()
    assert Product.objects.get(pk=product.pk).stock == 1
    assert UserCoupon.objects.get(pk=coupon.pk).status == "used"
    payment = requested_payment(order)
    assert (payment.method, payment.status, payment.amount, payment.card_brand, payment.card_last4) == ("card", "pending", 1900, "visa", "4242")

    paid = services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)
    again = services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)

    assert (paid.status, again.status) == ("paid", "paid") and paid.paid_at is not None
    assert Payment.objects.get(pk=payment.pk).status == "approved"
    assert events(order) == ["order.placed", "order.paid"]
    assert Product.objects.get(pk=product.pk).stock == 1
    assert balance(user) == 0  # the wallet is not touched by a card order


def test_a_decline_fails_the_order_and_gives_back_stock_and_coupon_once():
    user, product = UserFactory(), ProductFactory(price=1000, stock=3)
    coupon = UserCouponFactory(user=user)
    order = card_order(user, product, coupon=coupon.pk, number="4000000000000002")
    payment = requested_payment(order)

    failed = services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=False, reason="card_declined")
    services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=False, reason="card_declined")

    assert failed.status == "payment_failed"
    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == ("declined", "card_declined")
    assert Product.objects.get(pk=product.pk).stock == 3
    assert UserCoupon.objects.get(pk=coupon.pk).status == "available"
    assert events(order) == ["order.placed", "order.payment_failed"]


def test_an_unknown_transaction_or_order_is_not_found_and_changes_nothing():
    user, product = UserFactory(), ProductFactory(price=1000, stock=3)
    order = card_order(user, product)
    requested_payment(order)
    with pytest.raises(NotFound):
        services.record_payment_outcome(order_id=order.pk, transaction_key="not-this-one", approved=True)
    with pytest.raises(NotFound):
        services.record_payment_outcome(order_id=987_654_321, transaction_key="whatever", approved=True)
    assert Order.objects.get(pk=order.pk).status == "pending_payment"


def test_expiry_releases_the_hold_and_a_late_approval_is_refunded_at_the_pg():
    user, product = UserFactory(), ProductFactory(price=1000, stock=3)
    order = card_order(user, product, number="4000000000000259")
    payment = requested_payment(order)
    assert services.expire_order(order_id=order.pk) is None  # not due yet
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    expired = services.expire_order(order_id=order.pk)
    assert services.expire_order(order_id=order.pk) is None  # once

    assert expired.status == "expired"
    assert Product.objects.get(pk=product.pk).stock == 3
    assert Payment.objects.get(pk=payment.pk).status == "voided"

    late = services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)

    assert late.status == "expired"
    assert wait_until(lambda: Payment.objects.get(pk=payment.pk).status == "refunded", timeout=10)
    assert events(order) == ["order.placed", "order.expired", "payment.refunded"]
    assert Product.objects.get(pk=product.pk).stock == 3


def test_cancel_while_pending_voids_and_cancel_after_paid_refunds():
    user, product = UserFactory(), ProductFactory(price=1000, stock=5)
    pending = card_order(user, product)
    pending_payment = requested_payment(pending)
    paid = card_order(user, product)
    paid_payment = requested_payment(paid)
    services.record_payment_outcome(order_id=paid.pk, transaction_key=paid_payment.transaction_key, approved=True)

    cancelled_pending = services.cancel_order(user=user, order_id=pending.pk)
    cancelled_paid = services.cancel_order(user=user, order_id=paid.pk)

    assert cancelled_pending.status == cancelled_paid.status == "cancelled"
    assert Payment.objects.get(pk=pending_payment.pk).status == "voided"
    assert wait_until(lambda: Payment.objects.get(pk=paid_payment.pk).status == "refunded", timeout=10)
    assert Product.objects.get(pk=product.pk).stock == 5
    assert events(paid) == ["order.placed", "order.paid", "order.cancelled", "payment.refunded"]
    with pytest.raises(OrderNotCancellable):
        services.cancel_order(user=user, order_id=paid.pk)
    # An approval for the voided payment arriving after the cancel is refunded too.
    services.record_payment_outcome(order_id=pending.pk, transaction_key=pending_payment.transaction_key, approved=True)
    assert wait_until(lambda: Payment.objects.get(pk=pending_payment.pk).status == "refunded", timeout=10)


def test_a_fully_discounted_card_order_is_paid_at_once_without_the_pg():
    user, product = UserFactory(), ProductFactory(price=300, stock=5)
    coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=1000))
    fund(user, 100)

    order = card_order(user, product, coupon=coupon.pk)

    assert (order.status, order.total) == ("paid", 0)
    assert not Payment.objects.filter(order=order).exists()
    assert events(order) == ["order.paid"]
