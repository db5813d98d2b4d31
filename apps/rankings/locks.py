from collections.abc import Iterable
from datetime import date

from apps.rankings.models import RankedOrder


def lock_ranked_orders(*, order_ids: Iterable[int]) -> dict[int, tuple[str, date | None]]:
    """Lock the counted-state rows of these orders (ascending order id): {order_id: (status, day)}."""
    rows = RankedOrder.objects.select_for_update().filter(order_id__in=list(order_ids)).order_by("order_id")
    return {order_id: (status, day) for order_id, status, day in rows.values_list("order_id", "counted_status", "counted_day")}
