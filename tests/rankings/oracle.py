"""Brute force over the orders: what the rankings must equal."""

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem
from apps.rankings.models import ProductSalesDaily


def expected_daily() -> dict[tuple[date, int], tuple[int, int]]:
    tz = ZoneInfo(settings.TIME_ZONE)
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    for item in OrderItem.objects.select_related("order"):
        order = item.order
        if order.status != Order.Status.PAID:
            continue
        day = (order.paid_at or order.created_at).astimezone(tz).date()
        totals[(day, item.product_id)][0] += item.quantity
        totals[(day, item.product_id)][1] += item.line_total
    return {key: (units, revenue) for key, (units, revenue) in totals.items()}


def actual_daily() -> dict[tuple[date, int], tuple[int, int]]:
    """The daily table without the rows that went back to zero after cancellations."""
    return {
        (row.day, row.product_id): (row.units_sold, row.revenue)
        for row in ProductSalesDaily.objects.all()
        if row.units_sold or row.revenue
    }


def expected_top(*, days: int, today: date, size: int = 50) -> list[tuple[int, int, int]]:
    active = set(Product.objects.filter(is_active=True).values_list("id", flat=True))
    first = today - timedelta(days=days - 1)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (day, product_id), (units, revenue) in expected_daily().items():
        if first <= day <= today and product_id in active:
            sums[product_id][0] += units
            sums[product_id][1] += revenue
    ranked = sorted(((pid, u, r) for pid, (u, r) in sums.items() if u > 0), key=lambda e: (-e[1], -e[2], e[0]))
    return ranked[:size]
