from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from apps.cart.services import add_to_cart
from apps.catalog import services as catalog_services
from apps.catalog.models import Product
from apps.core.errors import (
    ConcurrentUpdate,
    CouponNotApplicable,
    InsufficientBalance,
    NotFound,
    OrderNotCancellable,
    OutOfStock,
    ProductUnavailable,
    ValidationError,
)
from apps.coupons.models import UserCoupon
from apps.orders import services
from apps.orders.models import Order
from apps.outbox.models import OutboxEvent
from apps.wallets.models import WalletTransaction
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import balance, fund, ledger_sum, world


def as_lines(items):
    return None if items is None else [services.OrderLine(**item) for item in items]


def place(user, items, coupon=None, **kwargs):
    return services.place_order(user=user, lines=as_lines(items), user_coupon_id=coupon, **kwargs)


@pytest.mark.django_db
def test_place_order_merges_lines_takes_stock_coupon_and_money_and_writes_the_event(user):
    tea, cup = ProductFactory(price=1200, stock=10, name="Tea"), ProductFactory(price=300, stock=5, name="Cup")
    user_coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="percent", discount_value=10))
    fund(user, 10_000)

    order = place(user, [{"product_id": cup.pk, "quantity": 1}, {"product_id": tea.pk, "quantity": 2}, {"product_id": cup.pk, "quantity": 2}], user_coupon.pk)

    assert (order.status, order.subtotal, order.discount, order.total) == ("paid", 3300, 330, 2970)
    assert order.paid_at is not None and order.cancelled_at is None
    assert order.user_coupon_id == user_coupon.pk
    lines = [(i.product_id, i.product_name, i.unit_price, i.quantity, i.line_total) for i in order.items.all()]
    assert sorted(lines) == sorted([(tea.pk, "Tea", 1200, 2, 2400), (cup.pk, "Cup", 300, 3, 900)])
    assert dict(Product.objects.filter(pk__in=[tea.pk, cup.pk]).values_list("pk", "stock")) == {tea.pk: 8, cup.pk: 2}
    assert balance(user) == 10_000 - 2970 == ledger_sum(user)
    payment = WalletTransaction.objects.get(kind="payment")
    assert (payment.amount, payment.order_id) == (-2970, order.pk)
    user_coupon.refresh_from_db()
    assert (user_coupon.status, user_coupon.used_order_id) == ("used", order.pk)
    event = OutboxEvent.objects.get(type="order.paid")
    assert (event.aggregate_type, event.aggregate_id) == ("orders.order", str(order.pk))
    assert event.payload["total"] == 2970 and event.payload["user_id"] == user.pk
    assert sorted((i["product_id"], i["quantity"], i["line_total"]) for i in event.payload["items"]) == sorted([(tea.pk, 2, 2400), (cup.pk, 3, 900)])


@pytest.mark.django_db
def test_order_items_keep_the_name_and_price_paid(user):
    product = ProductFactory(price=500, name="Old name")
    fund(user, 5000)
    order = place(user, [{"product_id": product.pk, "quantity": 1}])
    Product.objects.filter(pk=product.pk).update(price=900, name="New name")
    item = Order.objects.get(pk=order.pk).items.get()
    assert (item.product_name, item.unit_price, item.line_total) == ("Old name", 500, 500)


@pytest.mark.django_db
def test_from_cart_orders_the_cart_and_empties_it(user):
    first, second = ProductFactory(price=100, stock=3), ProductFactory(price=200, stock=3)
    add_to_cart(user=user, product_id=first.pk, quantity=2)
    add_to_cart(user=user, product_id=second.pk, quantity=1)
    fund(user, 1000)

    order = services.place_order(user=user, from_cart=True)

    assert sorted(order.items.values_list("product_id", "quantity")) == sorted([(first.pk, 2), (second.pk, 1)])
    assert order.total == 400
    assert not user.cart.items.exists()


@pytest.mark.django_db
def test_a_fully_discounted_order_takes_no_money(user):
    product = ProductFactory(price=300)
    user_coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=1000))
    order = place(user, [{"product_id": product.pk, "quantity": 1}], user_coupon.pk)
    assert (order.subtotal, order.discount, order.total) == (300, 300, 0)
    assert not WalletTransaction.objects.exists()


def _refused(user, error, items=None, coupon=None, from_cart=False, **kwargs):
    before = world()
    with pytest.raises(error) as excinfo:
        services.place_order(user=user, lines=None if from_cart else as_lines(items or []), from_cart=from_cart, user_coupon_id=coupon, **kwargs)
    assert world() == before
    return excinfo.value


@pytest.mark.django_db
def test_out_of_stock_changes_nothing(user):
    plenty, scarce = ProductFactory(stock=50), ProductFactory(stock=2)
    user_coupon = UserCouponFactory(user=user)
    fund(user, 100_000)
    exc = _refused(user, OutOfStock, [{"product_id": plenty.pk, "quantity": 1}, {"product_id": scarce.pk, "quantity": 3}], user_coupon.pk)
    assert exc.details == {"product_id": scarce.pk, "requested": 3, "available": 2}
    assert not OutboxEvent.objects.filter(type="order.paid").exists()


@pytest.mark.django_db
def test_merged_lines_are_checked_against_the_stock_together(user):
    product = ProductFactory(stock=3)
    fund(user, 100_000)
    exc = _refused(user, OutOfStock, [{"product_id": product.pk, "quantity": 2}, {"product_id": product.pk, "quantity": 2}])
    assert exc.details == {"product_id": product.pk, "requested": 4, "available": 3}


@pytest.mark.django_db
def test_unknown_or_inactive_product_is_unavailable_and_changes_nothing(user):
    good, hidden = ProductFactory(), ProductFactory(is_active=False)
    fund(user, 100_000)
    exc = _refused(user, ProductUnavailable, [{"product_id": good.pk, "quantity": 1}, {"product_id": hidden.pk, "quantity": 1}])
    assert exc.details == {"product_id": hidden.pk}
    exc = _refused(user, ProductUnavailable, [{"product_id": 999_999_999, "quantity": 1}])
    assert exc.details == {"product_id": 999_999_999}


@pytest.mark.django_db
def test_insufficient_balance_changes_nothing(user):
    product = ProductFactory(price=700, stock=5)
    user_coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_value=100))
    fund(user, 1000)
    exc = _refused(user, InsufficientBalance, [{"product_id": product.pk, "quantity": 2}], user_coupon.pk)
    assert exc.details == {"balance": 1000, "required": 1300}


@pytest.mark.django_db
def test_no_wallet_at_all_is_insufficient_balance(user):
    product = ProductFactory(price=700)
    exc = _refused(user, InsufficientBalance, [{"product_id": product.pk, "quantity": 1}])
    assert exc.details == {"balance": 0, "required": 700}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_coupon",
    [
        pytest.param(lambda user: UserCouponFactory(user=user, status="used"), id="used"),
        pytest.param(lambda user: UserCouponFactory(user=user, expires_at=timezone.now() - timedelta(seconds=1)), id="expired"),
        pytest.param(lambda user: UserCouponFactory(user=user, coupon=CouponFactory(min_order_amount=10_000)), id="below-minimum"),
    ],
)
def test_coupon_not_applicable_changes_nothing(user, make_coupon):
    product = ProductFactory(price=1000)
    fund(user, 100_000)
    user_coupon = make_coupon(user)
    _refused(user, CouponNotApplicable, [{"product_id": product.pk, "quantity": 1}], user_coupon.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("someone_elses", [True, False], ids=["someone-elses", "unknown"])
def test_someone_elses_or_an_unknown_coupon_is_not_found_and_changes_nothing(user, someone_elses):
    product = ProductFactory(price=1000)
    fund(user, 100_000)
    user_coupon_id = UserCouponFactory().pk if someone_elses else 987_654_321
    _refused(user, NotFound, [{"product_id": product.pk, "quantity": 1}], user_coupon_id)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "items",
    [
        pytest.param([], id="empty"),
        pytest.param([{"product_id": 1, "quantity": 600}, {"product_id": 1, "quantity": 600}], id="merged-over-max"),
        pytest.param([{"product_id": pid, "quantity": 1} for pid in range(1, 102)], id="too-many-lines"),
    ],
)
def test_lines_beyond_the_orders_limits_are_validation_errors_and_change_nothing(user, items):
    """The input layer checks each line's type and range; the service owns the rules over merged lines."""
    ProductFactory(stock=5000)
    fund(user, 100_000)
    exc = _refused(user, ValidationError, items)
    assert "items" in exc.details


@pytest.mark.django_db
def test_unknown_payment_methods_and_bad_card_numbers_are_refused(user):
    product = ProductFactory()
    fund(user, 100_000)
    exc = _refused(user, ValidationError, [{"product_id": product.pk, "quantity": 1}], payment_method="cash")
    assert "payment_method" in exc.details
    exc = _refused(user, ValidationError, [{"product_id": product.pk, "quantity": 1}], payment_method="card", card_number="4242 4242 4242 4241")
    assert "card" in exc.details and "4242" not in exc.message


@pytest.mark.django_db
def test_empty_cart_is_a_validation_error(user):
    fund(user, 100_000)
    exc = _refused(user, ValidationError, from_cart=True)
    assert "from_cart" in exc.details


@pytest.mark.django_db
def test_cancel_restores_stock_refunds_exactly_and_restores_the_coupon(user):
    first, second = ProductFactory(price=1000, stock=4), ProductFactory(price=250, stock=4)
    user_coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_value=400))
    fund(user, 5000)
    order = place(user, [{"product_id": first.pk, "quantity": 2}, {"product_id": second.pk, "quantity": 3}], user_coupon.pk)
    assert order.total == 2350 and balance(user) == 2650

    cancelled = services.cancel_order(user=user, order_id=order.pk, actor=user)

    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert dict(Product.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "stock")) == {first.pk: 4, second.pk: 4}
    assert balance(user) == 5000 == ledger_sum(user)
    refund = WalletTransaction.objects.get(kind="refund")
    assert (refund.amount, refund.order_id) == (2350, order.pk)
    user_coupon.refresh_from_db()
    assert (user_coupon.status, user_coupon.used_order_id) == ("available", None)
    event = OutboxEvent.objects.get(type="order.cancelled")
    assert (event.aggregate_id, event.payload["cancelled_by"], event.payload["total"]) == (str(order.pk), user.pk, 2350)


@pytest.mark.django_db
def test_cancel_after_the_coupon_expired_leaves_it_expired(user):
    product = ProductFactory(price=1000)
    user_coupon = UserCouponFactory(user=user)
    fund(user, 5000)
    order = place(user, [{"product_id": product.pk, "quantity": 1}], user_coupon.pk)
    UserCoupon.objects.filter(pk=user_coupon.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    services.cancel_order(user=user, order_id=order.pk)
    user_coupon.refresh_from_db()
    assert user_coupon.status == "expired"


@pytest.mark.django_db
def test_cancelling_twice_is_refused_and_changes_nothing(user):
    product = ProductFactory(price=1000)
    fund(user, 5000)
    order = place(user, [{"product_id": product.pk, "quantity": 1}])
    services.cancel_order(user=user, order_id=order.pk)
    before = world()
    with pytest.raises(OrderNotCancellable):
        services.cancel_order(user=user, order_id=order.pk)
    assert world() == before


@pytest.mark.django_db
def test_another_users_order_cannot_be_cancelled(user):
    product = ProductFactory(price=1000)
    other = UserFactory()
    fund(other, 5000)
    order = place(other, [{"product_id": product.pk, "quantity": 1}])
    before = world()
    with pytest.raises(NotFound):
        services.cancel_order(user=user, order_id=order.pk)
    with pytest.raises(NotFound):
        services.cancel_order(user=user, order_id=987_654_321)
    assert world() == before


@pytest.mark.django_db(transaction=True)
def test_a_lock_conflict_is_retried_as_a_whole_transaction(monkeypatch):
    user = UserFactory()
    product = ProductFactory(price=100, stock=5)
    fund(user, 1000)
    real_lock = catalog_services.lock_products
    calls = []

    def deadlock_once(*, product_ids):
        calls.append(1)
        locked = real_lock(product_ids=product_ids)
        if len(calls) == 1:
            Product.objects.filter(pk=product.pk).update(stock=0)  # undone by the rollback
            raise OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")
        return locked

    monkeypatch.setattr(catalog_services, "lock_products", deadlock_once)
    order = place(user, [{"product_id": product.pk, "quantity": 2}])

    assert len(calls) == 2
    assert order.total == 200
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3


@pytest.mark.django_db(transaction=True)
def test_lock_conflicts_that_persist_end_as_concurrent_update_with_nothing_changed(monkeypatch, settings):
    settings.ORDER_LOCK_RETRIES = 3
    user = UserFactory()
    product = ProductFactory(price=100, stock=5)
    fund(user, 1000)
    calls = []

    def always_time_out(*, product_ids):
        calls.append(1)
        raise OperationalError(1205, "Lock wait timeout exceeded; try restarting transaction")

    monkeypatch.setattr(catalog_services, "lock_products", always_time_out)
    before = world()
    with pytest.raises(ConcurrentUpdate):
        place(user, [{"product_id": product.pk, "quantity": 2}])
    assert len(calls) == 3
    assert world() == before
