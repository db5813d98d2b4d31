"""Brute force over the orders: what the rankings must equal."""

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem
from apps.rankings import selectors
from apps.rankings.models import ProductSalesDaily, ProductSalesMonthly, ProductSalesWeekly

Totals = dict[tuple[date, int], tuple[int, int]]


def expected_daily() -> Totals:
    tz = ZoneInfo(settings.TIME_ZONE)
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    for item in OrderItem.objects.select_related("order"):
        if item.order.status != Order.Status.PAID:
            continue
        day = item.order.paid_at.astimezone(tz).date()
        totals[(day, item.product_id)][0] += item.quantity
        totals[(day, item.product_id)][1] += item.line_total
    return {key: (units, revenue) for key, (units, revenue) in totals.items()}


def expected_rollup(period: str) -> Totals:
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    for (day, product_id), (units, revenue) in expected_daily().items():
        start, _ = selectors.period_bounds(period, day)
        totals[(start, product_id)][0] += units
        totals[(start, product_id)][1] += revenue
    return {key: (units, revenue) for key, (units, revenue) in totals.items()}


def actual(period: str) -> Totals:
    """A totals table without the rows that went back to zero after cancellations."""
    model, column = {"day": (ProductSalesDaily, "day"), "week": (ProductSalesWeekly, "week"), "month": (ProductSalesMonthly, "month")}[period]
    return {(getattr(row, column), row.product_id): (row.units_sold, row.revenue) for row in model.objects.all() if row.units_sold or row.revenue}


def _ranked(sums: dict[int, list[int]], size: int) -> list[tuple[int, int, int]]:
    active = set(Product.objects.filter(is_active=True).values_list("id", flat=True))
    ranked = sorted(((pid, u, r) for pid, (u, r) in sums.items() if u > 0 and pid in active), key=lambda e: (-e[1], -e[2], e[0]))
    return ranked[:size]


def expected_top(*, days: int, today: date, size: int = 50) -> list[tuple[int, int, int]]:
    first = today - timedelta(days=days - 1)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (day, product_id), (units, revenue) in expected_daily().items():
        if first <= day <= today:
            sums[product_id][0] += units
            sums[product_id][1] += revenue
    return _ranked(sums, size)


def expected_calendar(*, period: str, day: date, size: int = 50) -> list[tuple[int, int, int]]:
    start, end = selectors.period_bounds(period, day)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (sold_on, product_id), (units, revenue) in expected_daily().items():
        if start <= sold_on <= end:
            sums[product_id][0] += units
            sums[product_id][1] += revenue
    return _ranked(sums, size)
