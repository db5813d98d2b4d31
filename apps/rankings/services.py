"""The rankings consumer and the rebuild: every write to the sales tables and the Redis sets.

The consumer (registered as "rankings" in apps.py) handles `order.paid` (+units, +revenue on the
payment day in settings.TIME_ZONE) and `order.cancelled` of an order that had been paid (the same
amounts taken off that day; a cancelled order that was never paid has no `paid_at` and changes
nothing). `order.payment_failed` and `order.expired` are not subscribed: both leave
`pending_payment`, so they never undo a sale, and not reading them saves a record per event.

`handle_order_event` runs inside the consumer framework's transaction that records the event as
handled, so the daily row and the weekly and monthly rollups change exactly once per event; the
per-day Redis sets follow after the commit (apps.rankings.live).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from apps.core.transactions import after_commit
from apps.orders.models import Order, OrderItem
from apps.outbox.models import ConsumedEvent, OutboxEvent
from apps.rankings import live, selectors
from apps.rankings.locks import share_rebuild_gate, take_rebuild_gate
from apps.rankings.models import ProductSalesDaily, ProductSalesMonthly, ProductSalesWeekly

logger = logging.getLogger(__name__)

CONSUMER_NAME = "rankings"
SALE_SIGNS = {"order.paid": 1, "order.cancelled": -1}
EVENT_TYPES = frozenset(SALE_SIGNS)
UPSERT_CHUNK = 500

Lines = dict[int, tuple[int, int]]  # product id → (units, revenue)


class SaleNotCounted(RuntimeError):
    """A cancellation arrived before the sale it takes back was counted: the consumer retries it later."""


def handle_order_event(event: OutboxEvent) -> None:
    """The consumer's handler: one order event's sale added to (or taken off) its payment day."""
    data = event.payload
    if not data.get("paid_at"):
        return  # a pending card order cancelled before payment: nothing was counted
    sign = SALE_SIGNS[event.type]
    day = selectors.sales_day(datetime.fromisoformat(data["paid_at"]))
    lines: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for item in data["items"]:
        lines[int(item["product_id"])][0] += sign * int(item["quantity"])
        lines[int(item["product_id"])][1] += sign * int(item["line_total"])
    share_rebuild_gate()
    record_sales(day=day, lines={product_id: (units, revenue) for product_id, (units, revenue) in lines.items()})


def record_sales(*, day: date, lines: Lines) -> None:
    """Add signed (units, revenue) per product to `day`, its week and its month; inside the caller's transaction.

    Rows change in one order (daily, weekly, monthly; ascending product id within each), so two
    consumer transactions never wait for each other in a cycle. The day's Redis sets are told the
    new totals after the commit.
    """
    ordered = sorted(lines.items())
    _add(ProductSalesDaily, "day", day, ordered, versioned=True)
    _add(ProductSalesWeekly, "week", selectors.week_start(day), ordered)
    _add(ProductSalesMonthly, "month", selectors.month_start(day), ordered)
    totals = list(
        ProductSalesDaily.objects.filter(day=day, product_id__in=[product_id for product_id, _ in ordered])
        .order_by("product_id")
        .values_list("product_id", "units_sold", "revenue", "version")
    )
    after_commit(live.write_day, day, totals)


def _add(model, column: str, period: date, lines: list[tuple[int, tuple[int, int]]], *, versioned: bool = False) -> None:
    """Additions in multi-row upserts; a subtraction is a guarded UPDATE of the row it was counted in.

    (The database checks a candidate row's CHECK constraint before it looks for the duplicate key,
    so a negative delta cannot go through an upsert.)
    """
    additions = [(product_id, units, revenue) for product_id, (units, revenue) in lines if units >= 0 and revenue >= 0]
    _upsert(model, column, period, additions, versioned=versioned, absolute=False)
    for product_id, (units, revenue) in lines:
        if units >= 0 and revenue >= 0:
            continue
        changes = {"units_sold": F("units_sold") + units, "revenue": F("revenue") + revenue, "updated_at": timezone.now()}
        if versioned:
            changes["version"] = F("version") + 1
        updated = model.objects.filter(**{column: period}, product_id=product_id, units_sold__gte=max(0, -units), revenue__gte=max(0, -revenue)).update(
            **changes
        )
        if updated != 1:
            raise SaleNotCounted(f"{model._meta.verbose_name} of product {product_id} for {period} lack the sale being taken back")


def _upsert(model, column: str, period: date, rows: list[tuple[int, int, int]], *, versioned: bool, absolute: bool) -> None:
    """Insert (product, units, revenue) rows of `period`, or add to (absolute: replace) the existing ones."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    names = [column, "product_id", "units_sold", "revenue", "updated_at", *(["version"] if versioned else [])]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    day = connection.ops.adapt_datefield_value(period)
    if connection.vendor == "mysql":

        def new(name):
            return f"VALUES({qn(name)})"

        def old(name):
            return qn(name)

        conflict = "ON DUPLICATE KEY UPDATE"
    else:

        def new(name):
            return f"excluded.{qn(name)}"

        def old(name):
            return f"{table}.{qn(name)}"

        conflict = f"ON CONFLICT ({qn(column)}, {qn('product_id')}) DO UPDATE SET"
    sets = [f"{qn(name)} = {new(name) if absolute else f'{old(name)} + {new(name)}'}" for name in ("units_sold", "revenue")]
    sets.append(f"{qn('updated_at')} = {new('updated_at')}")
    if versioned:
        sets.append(f"{qn('version')} = {old('version')} + 1")
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[start : start + UPSERT_CHUNK]
            params = [value for product_id, units, revenue in chunk for value in (day, product_id, units, revenue, now, *([1] if versioned else []))]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(qn(name) for name in names)}) VALUES {', '.join([placeholders] * len(chunk))} {conflict} {', '.join(sets)}",
                params,
            )


@dataclass(frozen=True)
class RebuildResult:
    orders: int
    days: int
    events_marked: int


def rebuild_rankings() -> RebuildResult:
    """Recompute the daily, weekly and monthly tables from the paid orders (by payment day), then the Redis sets.

    One REPEATABLE READ transaction that holds the rebuild gate, so no consumer transaction commits
    meanwhile; it reads the orders and the outbox in one snapshot and records every rankings event
    of that snapshot as handled: those events are in the recomputed totals, and the consumer picks
    up exactly the ones committed after it. Daily rows keep rising versions (rows no longer sold are
    set to zero, not deleted), so Redis never mistakes a rebuilt total for an old one.
    """
    if connection.in_atomic_block:
        raise RuntimeError("rebuild_rankings needs a transaction of its own")
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    with transaction.atomic():
        take_rebuild_gate()
        daily, orders = _totals_from_orders()
        days = set(ProductSalesDaily.objects.values_list("day", flat=True).distinct()) | {day for day, _ in daily}
        ProductSalesDaily.objects.update(units_sold=0, revenue=0, version=F("version") + 1, updated_at=timezone.now())
        weekly: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
        monthly: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
        by_day: dict[date, list[tuple[int, int, int]]] = defaultdict(list)
        for (day, product_id), (units, revenue) in sorted(daily.items()):
            by_day[day].append((product_id, units, revenue))
            for totals in (weekly[(selectors.week_start(day), product_id)], monthly[(selectors.month_start(day), product_id)]):
                totals[0] += units
                totals[1] += revenue
        for day, rows in by_day.items():
            _upsert(ProductSalesDaily, "day", day, rows, versioned=True, absolute=True)
        for model, column, totals in ((ProductSalesWeekly, "week", weekly), (ProductSalesMonthly, "month", monthly)):
            model.objects.all().delete()
            rows = [model(**{column: period}, product_id=pid, units_sold=units, revenue=revenue) for (period, pid), (units, revenue) in totals.items()]
            model.objects.bulk_create(rows, batch_size=UPSERT_CHUNK)
        marked = _mark_events_handled()
    if live.client() is not None:
        live.forget_days(sorted(days))
    return RebuildResult(orders=orders, days=len(days), events_marked=marked)


def _totals_from_orders() -> tuple[dict[tuple[date, int], tuple[int, int]], int]:
    """{(payment day, product): (units, revenue)} over the paid orders, and how many orders that is."""
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    orders = set()
    lines = OrderItem.objects.filter(order__status=Order.Status.PAID).values_list(
        "order_id", "order__paid_at", "order__created_at", "product_id", "quantity", "line_total"
    )
    for order_id, paid_at, created_at, product_id, quantity, line_total in lines.iterator(chunk_size=5000):
        orders.add(order_id)
        entry = totals[(selectors.sales_day(paid_at or created_at), product_id)]
        entry[0] += quantity
        entry[1] += line_total
    return {key: (units, revenue) for key, (units, revenue) in totals.items()}, len(orders)


def _mark_events_handled() -> int:
    """Record every rankings event of the snapshot as handled by the consumer (their effect is in the rebuilt totals)."""
    done = ConsumedEvent.objects.filter(consumer=CONSUMER_NAME, event_id=OuterRef("pk"), status=ConsumedEvent.Status.DONE)
    pending = list(OutboxEvent.objects.filter(type__in=EVENT_TYPES).filter(~Exists(done)).values_list("pk", flat=True))
    if not pending:
        return 0
    for start in range(0, len(pending), UPSERT_CHUNK):
        ConsumedEvent.objects.filter(consumer=CONSUMER_NAME, event_id__in=pending[start : start + UPSERT_CHUNK]).update(
            status=ConsumedEvent.Status.DONE, next_attempt_at=None, last_error="", updated_at=timezone.now()
        )
    ConsumedEvent.objects.bulk_create(
        [ConsumedEvent(consumer=CONSUMER_NAME, event_id=pk, status=ConsumedEvent.Status.DONE) for pk in pending],
        ignore_conflicts=True,
        batch_size=UPSERT_CHUNK,
    )
    return len(pending)
