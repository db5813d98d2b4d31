"""Reads of the sales rankings.

Popular products (a window of the last N days): the per-day Redis sorted sets combined (apps.rankings.live),
or, on the embedded default without Redis, the daily table summed. Calendar rankings (a day, an ISO
week, a month): one indexed read of the daily, weekly or monthly table. Neither reads orders, and
neither grows with the history. Ranked by units, then revenue, then the lower product id; only
active products with at least one unit sold are listed.
"""

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from redis.exceptions import RedisError

from apps.catalog.models import Product
from apps.rankings import live
from apps.rankings.models import ProductSalesDaily, ProductSalesMonthly, ProductSalesWeekly

logger = logging.getLogger(__name__)

MAX_DAYS = 30
MAX_LIMIT = 50
TOP_LIST_SIZE = MAX_LIMIT
# The Redis list is read longer than the longest answer, so inactive products near the top do not shorten it.
LIVE_LIST_SIZE = 2 * TOP_LIST_SIZE
FALLBACK_CACHE_SECONDS = 1

TopList = list[tuple[int, int, int]]  # (product id, units, revenue), best first


@dataclass(frozen=True)
class RankedProduct:
    rank: int
    product: Product
    quantity_sold: int
    revenue: int


class Period:
    DAY, WEEK, MONTH = "day", "week", "month"
    CHOICES = (DAY, WEEK, MONTH)


@dataclass(frozen=True)
class CalendarRanking:
    period: str
    start: date
    end: date
    results: list[RankedProduct]


def local_today() -> date:
    """Today's calendar day in settings.TIME_ZONE (not the request's time zone)."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def sales_day(moment: datetime) -> date:
    """The calendar day in settings.TIME_ZONE that a sale made at `moment` counts for."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    """The aware moment `day` begins in settings.TIME_ZONE."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """First and last day of the day, ISO week or month containing `day` (OverflowError past year 9999)."""
    if period == Period.DAY:
        return day, day
    if period == Period.WEEK:
        start = week_start(day)
        return start, start + timedelta(days=6)
    if period == Period.MONTH:
        return month_start(day), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    raise ValueError(f"unknown period {period!r}")


PERIOD_TABLES = {Period.DAY: (ProductSalesDaily, "day"), Period.WEEK: (ProductSalesWeekly, "week"), Period.MONTH: (ProductSalesMonthly, "month")}


def compute_top_list(*, days: int, today: date, size: int = TOP_LIST_SIZE) -> TopList:
    """Sum the daily table over the `days` calendar days ending with `today` (the embedded default's read)."""
    rows = (
        ProductSalesDaily.objects.filter(day__gte=today - timedelta(days=days - 1), day__lte=today, product__is_active=True)
        .values("product_id")
        .annotate(units=Sum("units_sold"), sales=Sum("revenue"))
        .filter(units__gt=0)
        .order_by("-units", "-sales", "product_id")[:size]
    )
    return [(row["product_id"], int(row["units"]), int(row["sales"])) for row in rows]


def top_list(*, days: int) -> TopList:
    """The best sellers of the last `days` days, today included: from Redis, or from the daily table kept for a second."""
    today = local_today()
    if live.client() is not None:
        window = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
        try:
            entries = live.top_of_window(window, size=LIVE_LIST_SIZE)
        except RedisError:
            logger.warning("popular products: Redis unavailable, reading the daily table", exc_info=True)
            entries = None
        if entries is not None:
            return entries
        return compute_top_list(days=days, today=today)
    key = f"rankings:top:{days}:{today.isoformat()}"
    entries = cache.get(key)
    if entries is None:
        entries = compute_top_list(days=days, today=today)
        cache.set(key, entries, timeout=FALLBACK_CACHE_SECONDS)
    return entries


def popular_products(*, days: int, limit: int) -> list[RankedProduct]:
    """The best-selling active products of the last `days` days, ranked.

    One product query for the first `limit` entries; another only if some of them are no longer
    active (their places go to the next entries).
    """
    entries = top_list(days=days)
    ranked: list[RankedProduct] = []
    start = 0
    while len(ranked) < limit and start < len(entries):
        chunk = entries[start : start + limit - len(ranked)]
        start += len(chunk)
        products = Product.objects.filter(is_active=True).select_related("category").in_bulk([product_id for product_id, _, _ in chunk])
        for product_id, units, revenue in chunk:
            if product_id in products:
                ranked.append(RankedProduct(rank=len(ranked) + 1, product=products[product_id], quantity_sold=units, revenue=revenue))
    return ranked


def calendar_ranking(*, period: str, day: date, limit: int) -> CalendarRanking:
    """The best sellers of the day, ISO week or month containing `day`: one query on that period's table and its top index."""
    start, end = period_bounds(period, day)
    model, column = PERIOD_TABLES[period]
    rows = (
        model.objects.filter(**{column: start}, units_sold__gt=0, product__is_active=True)
        .select_related("product__category")
        .order_by("-units_sold", "-revenue", "product_id")[:limit]
    )
    results = [RankedProduct(rank=rank, product=row.product, quantity_sold=row.units_sold, revenue=row.revenue) for rank, row in enumerate(rows, start=1)]
    return CalendarRanking(period=period, start=start, end=end, results=results)


def order_by_popularity(queryset: QuerySet[Product], *, days: int = MAX_DAYS) -> QuerySet[Product]:
    """Order products by units sold over the last `days` days (then revenue, then id), unsold last.

    For the product list's `sort=popular`; it reads the daily table, never orders.
    """
    today = local_today()
    window = ProductSalesDaily.objects.filter(product=OuterRef("pk"), day__gte=today - timedelta(days=days - 1), day__lte=today)
    per_product = window.order_by().values("product")
    return queryset.annotate(
        popular_units=Coalesce(Subquery(per_product.annotate(total=Sum("units_sold")).values("total")), 0),
        popular_revenue=Coalesce(Subquery(per_product.annotate(total=Sum("revenue")).values("total")), 0),
    ).order_by("-popular_units", "-popular_revenue", "id")
