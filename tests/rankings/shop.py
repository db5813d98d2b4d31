"""Orders placed and moved through apps.orders.services, as shoppers, the PG and the expiry job move them."""

from datetime import timedelta

from django.utils import timezone

from apps.orders import services
from apps.orders.models import Order
from apps.payments.models import Payment
from tests.payments.conftest import wait_until

APPROVED = "4242 4242 4242 4242"


def wallet_order(user, lines) -> Order:
    """Paid at once from the wallet: `lines` = [(product, quantity), ...]."""
    return services.place_order(user=user, lines=[services.OrderLine(product.pk, quantity) for product, quantity in lines])


def card_order(user, lines) -> Order:
    """Pending until the PG's answer; the request reached the simulator once the transaction key is known."""
    order = services.place_order(
        user=user, lines=[services.OrderLine(product.pk, quantity) for product, quantity in lines], payment_method="card", card_number=APPROVED
    )
    assert wait_until(lambda: Payment.objects.filter(order=order, transaction_key__isnull=False).exists(), timeout=10)
    return order


def answer(order: Order, *, approved: bool) -> Order:
    """The PG's callback, applied as the callback endpoint would."""
    key = Payment.objects.get(order=order).transaction_key
    return services.record_payment_outcome(order_id=order.pk, transaction_key=key, approved=approved, reason=None if approved else "card_declined")


def expire(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = services.expire_order(order_id=order.pk)
    assert expired is not None
    return expired


def cancel(order: Order) -> Order:
    return services.cancel_order(user=order.user, order_id=order.pk)
