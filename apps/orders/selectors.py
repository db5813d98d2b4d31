from dataclasses import dataclass

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.orders.models import Order
from apps.payments.models import Payment


def orders_for_user(*, user) -> QuerySet[Order]:
    """The user's orders, newest first (served by the order_user_newest index), items and card payment fetched."""
    return Order.objects.filter(user=user).order_by("-created_at", "-id").select_related("payment").prefetch_related("items")


@dataclass(frozen=True)
class PaymentSummary:
    """API.md's Payment of an order."""

    method: str
    status: str
    card_brand: str | None = None
    card_last4: str | None = None
    failure_reason: str | None = None


def payment_of(order: Order) -> PaymentSummary:
    """A card order's Payment row; a wallet order's money moves with the order itself (paid at once, refunded on cancel)."""
    payment = getattr(order, "payment", None) if order.payment_method == Order.PaymentMethod.CARD else None
    if payment is not None:
        return PaymentSummary(
            method=payment.method,
            status=payment.status,
            card_brand=payment.card_brand,
            card_last4=payment.card_last4,
            failure_reason=payment.failure_reason,
        )
    refunded = order.status == Order.Status.CANCELLED and order.total > 0
    return PaymentSummary(method=order.payment_method, status=Payment.Status.REFUNDED if refunded else Payment.Status.APPROVED)


def get_order_for_user(*, user, order_id: int) -> Order:
    """One of the user's orders; someone else's is NOT_FOUND, exactly like a missing one."""
    order = orders_for_user(user=user).filter(pk=order_id).select_related("user_coupon__coupon").first()
    if order is None:
        raise NotFound("Order not found.")
    return order
