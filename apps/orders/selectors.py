from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.orders.models import Order


def orders_for_user(*, user) -> QuerySet[Order]:
    """The user's orders, newest first (served by the order_user_newest index), items prefetched."""
    return Order.objects.filter(user=user).order_by("-created_at", "-id").prefetch_related("items")


def get_order_for_user(*, user, order_id: int) -> Order:
    """One of the user's orders; someone else's is NOT_FOUND, exactly like a missing one."""
    order = orders_for_user(user=user).filter(pk=order_id).select_related("user_coupon__coupon").first()
    if order is None:
        raise NotFound("Order not found.")
    return order
