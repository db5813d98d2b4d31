"""Row locks of the order flow: always ordered by primary key and evaluated at once."""

from collections.abc import Iterable

from apps.catalog.models import Product
from apps.orders.models import Order


def lock_products(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the products in ascending id order, so orders sharing products queue instead of deadlocking."""
    ids = sorted(set(product_ids))
    return {product.pk: product for product in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_order(*, order_id: int, user=None) -> Order | None:
    """Lock one order row (one of `user`'s when given); None when there is no such order."""
    orders = Order.objects.select_for_update().filter(pk=order_id)
    if user is not None:
        orders = orders.filter(user=user)
    return orders.order_by("pk").first()
