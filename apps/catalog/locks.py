"""Row locks of the catalog: always ordered by primary key and evaluated at once."""

from collections.abc import Iterable

from apps.catalog.models import Product


def lock_products(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the products in ascending id order, so flows sharing products queue instead of deadlocking."""
    ids = sorted(set(product_ids))
    return {product.pk: product for product in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
