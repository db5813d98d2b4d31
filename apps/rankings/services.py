"""Sales aggregation: fold paid and cancelled orders into ProductSalesDaily, then publish top lists.

Correctness does not rest on the watermark or on the Redis lock. Every order the aggregation has
looked at has a RankedOrder row saying what it counted for it; a run computes, per order, the
difference between what the order should contribute now and what was counted, and applies that
difference and the new counted state in one transaction while holding the RankedOrder row locks.
Repeating a run, overlapping runs, or two runs at once therefore never count anything twice.

The watermark only bounds the cost: a run reads orders whose `updated_at` is at least the previous
watermark minus RANKINGS_OVERLAP_SECONDS. The overlap covers transactions that took their
timestamp before an earlier run and committed after it.
"""

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import ConcurrentUpdate, ValidationError
from apps.orders.models import Order, OrderItem
from apps.rankings import selectors
from apps.rankings.locks import lock_ranked_orders
from apps.rankings.models import AggregationWatermark, ProductSalesDaily, RankedOrder

logger = logging.getLogger(__name__)

WATERMARK_NAME = "sales"
LOCK_KEY = "rankings:aggregate:lock"
TOP_LIST_TIMEOUT = 24 * 60 * 60
UPSERT_CHUNK = 500


@dataclass(frozen=True)
class AggregationResult:
    ran: bool  # False when another run held the lock
    orders_read: int = 0
    orders_changed: int = 0


def contribution_day(*, status: str, paid_at: datetime | None, created_at: datetime) -> date | None:
    """The day an order's lines count for: its payment day if it is paid, else nothing."""
    if status != Order.Status.PAID:
        return None
    return selectors.sales_day(paid_at or created_at)


@contextmanager
def _exclusive_run(*, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Hold the cluster-wide aggregation lock in the cache (Redis); yields whether it was acquired.

    The lock saves duplicate work; the RankedOrder row locks are what keep concurrent runs correct,
    so a lock that expires during a very long run is harmless.
    """
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    acquired = cache.add(LOCK_KEY, token, timeout=settings.RANKINGS_LOCK_SECONDS)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.2)
        acquired = cache.add(LOCK_KEY, token, timeout=settings.RANKINGS_LOCK_SECONDS)
    try:
        yield acquired
    finally:
        if acquired and cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)


def aggregate_sales(*, batch_size: int | None = None) -> AggregationResult:
    """One incremental run: count orders changed since the watermark, then publish the top lists."""
    with _exclusive_run() as acquired:
        if not acquired:
            logger.info("sales aggregation skipped: another run holds the lock")
            return AggregationResult(ran=False)
        read, changed = _aggregate_changed_orders(batch_size=batch_size or settings.RANKINGS_BATCH_SIZE)
        publish_top_lists()
    logger.info("sales aggregation: %s orders read, %s changed", read, changed)
    return AggregationResult(ran=True, orders_read=read, orders_changed=changed)


def _aggregate_changed_orders(*, batch_size: int) -> tuple[int, int]:
    started_at = timezone.now()
    watermark = AggregationWatermark.objects.filter(name=WATERMARK_NAME).values_list("watermark", flat=True).first()
    # Orders stamped after this run started wait for the next run, so a clock running ahead on
    # one server can never push the watermark past orders that other servers stamp later.
    changed = Order.objects.filter(updated_at__lte=started_at)
    if watermark is not None:
        changed = changed.filter(updated_at__gte=watermark - timedelta(seconds=settings.RANKINGS_OVERLAP_SECONDS))
    changed = changed.order_by("updated_at", "id").values_list("updated_at", "id", "status", "paid_at", "created_at")
    read = changed_count = 0
    page = changed
    while True:
        rows = list(page[:batch_size])
        if not rows:
            break
        last_updated_at, last_id = rows[-1][:2]
        stale = _stale_orders({pk: _state(status, paid_at, created_at) for _, pk, status, paid_at, created_at in rows})
        changed_count += _count_orders(order_ids=stale, advance_watermark_to=last_updated_at)
        read += len(rows)
        if len(rows) < batch_size:
            break
        page = changed.filter(updated_at__gte=last_updated_at).filter(Q(updated_at__gt=last_updated_at) | Q(id__gt=last_id))
    return read, changed_count


def _state(status: str, paid_at: datetime | None, created_at: datetime) -> tuple[str, date | None]:
    """What the counted state of an order in this state must be: (status, day it counts for)."""
    return status, contribution_day(status=status, paid_at=paid_at, created_at=created_at)


def _stale_orders(states: dict[int, tuple[str, date | None]]) -> list[int]:
    """The orders whose counted state differs from `states`, found with a plain read.

    Most orders a run reads (the overlap) were counted by the previous run: they need neither a
    lock nor a write. A change that lands after this read carries a newer updated_at, so a later
    run reads it again.
    """
    rows = RankedOrder.objects.filter(order_id__in=list(states)).values_list("order_id", "counted_status", "counted_day")
    counted = {pk: (status, day) for pk, status, day in rows}
    return [pk for pk, state in states.items() if counted.get(pk) != state]


def _count_orders(*, order_ids: list[int], advance_watermark_to: datetime | None = None) -> int:
    """Bring the counted state of these orders up to date; returns how many of them changed."""
    order_ids = sorted(set(order_ids))
    moves = {}
    if order_ids:
        # Placeholders ("nothing counted yet") committed on their own, so the transaction below only
        # has to lock existing rows, always in ascending order: no lock upgrades, no deadlocks.
        RankedOrder.objects.bulk_create([RankedOrder(order_id=pk) for pk in order_ids], ignore_conflicts=True)
    with transaction.atomic():
        if order_ids:
            counted = lock_ranked_orders(order_ids=order_ids)
            # Re-read under the row locks: a run that waited for another sees at least what it saw.
            orders = Order.objects.filter(pk__in=order_ids).values_list("id", "status", "paid_at", "created_at")
            current = {pk: _state(status, paid_at, created_at) for pk, status, paid_at, created_at in orders}
            moves = {pk: (counted[pk], state) for pk, state in current.items() if pk in counted and counted[pk] != state}
            if moves:
                _apply_moves(moves)
        if advance_watermark_to is not None:
            _advance_watermark(advance_watermark_to)
    return len(moves)


def _apply_moves(moves: dict[int, tuple[tuple[str, date | None], tuple[str, date | None]]]) -> None:
    """Subtract what was counted, add what counts now, and record the new counted state."""
    deltas: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    moved_lines = {pk for pk, ((_, old_day), (_, new_day)) in moves.items() if old_day != new_day}
    lines = OrderItem.objects.filter(order_id__in=moved_lines).values_list("order_id", "product_id", "quantity", "line_total")
    for order_id, product_id, quantity, line_total in lines:
        (_, old_day), (_, new_day) = moves[order_id]
        if old_day is not None:
            deltas[(old_day, product_id)][0] -= quantity
            deltas[(old_day, product_id)][1] -= line_total
        if new_day is not None:
            deltas[(new_day, product_id)][0] += quantity
            deltas[(new_day, product_id)][1] += line_total
    _add_to_daily(deltas)
    by_state: dict[tuple[str, date | None], list[int]] = defaultdict(list)
    for pk, (_, new_state) in moves.items():
        by_state[new_state].append(pk)
    now = timezone.now()
    for (status, day), pks in by_state.items():
        RankedOrder.objects.filter(order_id__in=pks).update(counted_status=status, counted_day=day, updated_at=now)


def _add_to_daily(deltas: dict[tuple[date, int], list[int]]) -> None:
    """Add signed deltas to ProductSalesDaily, strictly in (day, product) order (no lock cycles).

    Additions go in multi-row upserts. A delta with a negative part (a cancellation) is an UPDATE
    of a row that must exist, since what it takes away was counted there: the database checks
    a candidate row's CHECK constraint before it looks for the duplicate key.
    """
    additions: list[tuple[date, int, int, int]] = []
    for (day, product_id), (units, revenue) in sorted(deltas.items()):
        if units >= 0 and revenue >= 0:
            if units or revenue:
                additions.append((day, product_id, units, revenue))
            continue
        _upsert_additions(additions)
        additions = []
        updated = ProductSalesDaily.objects.filter(day=day, product_id=product_id).update(
            units_sold=F("units_sold") + units, revenue=F("revenue") + revenue, updated_at=timezone.now()
        )
        if updated != 1:
            raise RuntimeError(f"daily sales of product {product_id} on {day} are missing; run rebuild_rankings for that day")
    _upsert_additions(additions)


def _upsert_additions(rows: list[tuple[date, int, int, int]]) -> None:
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(ProductSalesDaily._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "mysql":
        conflict = (
            f"ON DUPLICATE KEY UPDATE {qn('units_sold')} = {qn('units_sold')} + VALUES({qn('units_sold')}), "
            f"{qn('revenue')} = {qn('revenue')} + VALUES({qn('revenue')}), {qn('updated_at')} = VALUES({qn('updated_at')})"
        )
    else:
        conflict = (
            f"ON CONFLICT ({qn('day')}, {qn('product_id')}) DO UPDATE SET "
            f"{qn('units_sold')} = {table}.{qn('units_sold')} + excluded.{qn('units_sold')}, "
            f"{qn('revenue')} = {table}.{qn('revenue')} + excluded.{qn('revenue')}, {qn('updated_at')} = excluded.{qn('updated_at')}"
        )
    columns = ", ".join(qn(c) for c in ("day", "product_id", "units_sold", "revenue", "updated_at"))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[start : start + UPSERT_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [value for row in chunk for value in (*row, now)]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values} {conflict}", params)


def _advance_watermark(moment: datetime) -> None:
    AggregationWatermark.objects.get_or_create(name=WATERMARK_NAME)
    AggregationWatermark.objects.filter(Q(watermark__isnull=True) | Q(watermark__lt=moment), name=WATERMARK_NAME).update(
        watermark=moment, updated_at=timezone.now()
    )


def publish_top_lists(*, today: date | None = None) -> None:
    """Store today's top list of every window in settings.RANKINGS_WINDOWS in the cache."""
    today = today or selectors.local_today()
    cache.set_many(
        {selectors.top_list_key(days=days, today=today): selectors.compute_top_list(days=days, today=today) for days in settings.RANKINGS_WINDOWS},
        timeout=TOP_LIST_TIMEOUT,
    )


def rebuild_daily_sales(*, first_day: date, last_day: date, batch_size: int | None = None) -> int:
    """Recount ProductSalesDaily for first_day..last_day from the orders, in one transaction.

    Empties those days and marks what was counted on them as uncounted, then recounts every order
    that was counted on them or whose sale day falls in the range (an order that moved to another
    day, e.g. after a TIME_ZONE change, is subtracted from the old day). Returns the orders recounted.
    """
    if first_day > last_day:
        raise ValidationError("The first day must not be after the last day.", details={"first_day": ["must not be after the last day"]})
    batch_size = batch_size or settings.RANKINGS_BATCH_SIZE
    start, end = selectors.day_start(first_day), selectors.day_start(last_day + timedelta(days=1))
    with _exclusive_run(wait_seconds=settings.RANKINGS_LOCK_SECONDS) as acquired:
        if not acquired:
            raise ConcurrentUpdate("Another sales aggregation is running; try again shortly.")
        with transaction.atomic():
            was_counted = RankedOrder.objects.filter(counted_day__gte=first_day, counted_day__lte=last_day)
            order_ids = set(was_counted.values_list("order_id", flat=True))
            was_counted.update(counted_status="", counted_day=None, updated_at=timezone.now())
            ProductSalesDaily.objects.filter(day__gte=first_day, day__lte=last_day).delete()
            in_range = Order.objects.filter(
                Q(paid_at__gte=start, paid_at__lt=end) | Q(paid_at__isnull=True, created_at__gte=start, created_at__lt=end)
            )
            order_ids.update(in_range.values_list("id", flat=True))
            ordered = sorted(order_ids)
            for offset in range(0, len(ordered), batch_size):
                _count_orders(order_ids=ordered[offset : offset + batch_size])
        publish_top_lists()
    return len(order_ids)
