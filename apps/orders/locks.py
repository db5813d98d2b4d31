"""Row locks of the order flow: always ordered by primary key and evaluated at once."""

from apps.orders.models import Order


def lock_order(*, order_id: int, user=None) -> Order | None:
    """Lock one order row (one of `user`'s when given); None when there is no such order."""
    orders = Order.objects.select_for_update().filter(pk=order_id)
    if user is not None:
        orders = orders.filter(user=user)
    return orders.order_by("pk").first()
