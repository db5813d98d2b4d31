"""Reads of the sales rankings: cached top lists first, the daily table as the fallback.

A top list is a list of (product_id, units, revenue) tuples, best first: more units, then more
revenue, then the lower product id. Only active products with at least one unit sold are listed.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.catalog.models import Product
from apps.rankings.models import ProductSalesDaily

TOP_LIST_SIZE = 50
MAX_DAYS = 30

TopList = list[tuple[int, int, int]]


@dataclass(frozen=True)
class PopularProduct:
    rank: int
    product: Product
    quantity_sold: int
    revenue: int


def local_today() -> date:
    """Today's calendar day in settings.TIME_ZONE (not the request's time zone)."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def sales_day(moment: datetime) -> date:
    """The calendar day in settings.TIME_ZONE that a sale made at `moment` counts for."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    """The aware moment `day` begins in settings.TIME_ZONE."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def top_list_key(*, days: int, today: date) -> str:
    return f"rankings:top:v1:{days}:{today.isoformat()}"


def compute_top_list(*, days: int, today: date, size: int = TOP_LIST_SIZE) -> TopList:
    """Aggregate the daily table over the `days` calendar days ending with `today`."""
    rows = (
        ProductSalesDaily.objects.filter(day__gte=today - timedelta(days=days - 1), day__lte=today, product__is_active=True)
        .values("product_id")
        .annotate(units=Sum("units_sold"), sales=Sum("revenue"))
        .filter(units__gt=0)
        .order_by("-units", "-sales", "product_id")[:size]
    )
    return [(row["product_id"], int(row["units"]), int(row["sales"])) for row in rows]


def top_list(*, days: int) -> TopList:
    """The published top list of the last `days` days; computed (and kept briefly) when none is cached."""
    today = local_today()
    key = top_list_key(days=days, today=today)
    cached = cache.get(key)
    if cached is not None:
        return cached
    computed = compute_top_list(days=days, today=today)
    # add(), not set(): a list the aggregation task publishes meanwhile is newer and must win.
    cache.add(key, computed, timeout=settings.RANKINGS_INTERVAL_SECONDS)
    return computed


def popular_products(*, days: int, limit: int) -> list[PopularProduct]:
    """The best-selling active products of the last `days` days, ranked.

    One product query for the first `limit` entries; another only if some of them stopped being
    active since the list was published (their places go to the next entries).
    """
    entries = top_list(days=days)
    ranked: list[PopularProduct] = []
    start = 0
    while len(ranked) < limit and start < len(entries):
        chunk = entries[start : start + limit - len(ranked)]
        start += len(chunk)
        products = Product.objects.filter(is_active=True).select_related("category").in_bulk([product_id for product_id, _, _ in chunk])
        for product_id, units, revenue in chunk:
            if product_id in products:
                ranked.append(PopularProduct(rank=len(ranked) + 1, product=products[product_id], quantity_sold=units, revenue=revenue))
    return ranked


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
