"""The transactional outbox: the one way events leave the system for the data platform.

publish() writes the event in the caller's transaction and, once that commits, queues a relay run
(apps.outbox.relay delivers it). Staff send dead events again through resend_dead_events().
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from apps.core.request_context import current_request_id
from apps.core.transactions import after_commit
from apps.outbox import consumers
from apps.outbox.models import OutboxEvent
from apps.outbox.tasks import RELAY_QUEUED_KEY, consume_events, relay_outbox

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset(
    {
        "order.placed",
        "order.paid",
        "order.payment_failed",
        "order.expired",
        "order.cancelled",
        "payment.refunded",
        "coupon.issued",
        "wallet.charged",
        "wallet.debited",
        "wallet.refunded",
        "wallet.adjusted",
        "product.stock_adjusted",
    }
)
# While a relay run is queued and has not started (RELAY_QUEUED_KEY is set), commits need no run of
# their own, since that run delivers everything due when it starts. The run starts a moment after
# its trigger, so the commits of that moment share it (at flash-sale rates, hundreds of commits
# share a few runs). The flag lapses by itself, so a queued run lost with its worker only holds
# triggers back this long (and beat's sweep delivers anyway).
RELAY_QUEUED_SECONDS = 10
# The events of the current batched() block, written together when it ends (None: not batching).
_batch: ContextVar[list[OutboxEvent] | None] = ContextVar("outbox_batch", default=None)
RELAY_TRIGGER_DELAY_SECONDS = 0.2


def publish(*, type: str, aggregate: models.Model, data: dict) -> OutboxEvent:
    """Record an event in the caller's open transaction; the relay and the interested consumers run once it commits.

    Call it after the change it reports (after locking or updating the aggregate), so one
    aggregate's events get increasing ids in commit order. `data` must be JSON-serialisable.
    Inside `batched()` the event is written with the others of the block, in one INSERT.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() must be called inside the transaction.atomic() block of the change it reports")
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if aggregate.pk is None:
        raise ValueError("the aggregate must be saved before its events are published")
    event = OutboxEvent(
        type=type,
        aggregate_type=aggregate._meta.label_lower,
        aggregate_id=str(aggregate.pk),
        payload=data,
        request_id=current_request_id() or "",
    )
    pending = _batch.get()
    if pending is not None:
        pending.append(event)
    else:
        event.save(force_insert=True)
        _trigger_after_commit([event])
    return event


@contextmanager
def batched() -> Iterator[None]:
    """Inside a transaction: the events published in this block are written together, in one INSERT, as it ends.

    Their order (and so each aggregate's order) is the order they were published in.
    """
    token = _batch.set([])
    try:
        yield
        events = _batch.get()
    finally:
        _batch.reset(token)
    if events:
        OutboxEvent.objects.bulk_create(events)
        _trigger_after_commit(events)


def _trigger_after_commit(events: list[OutboxEvent]) -> None:
    transaction.on_commit(_trigger_relay, robust=True)
    for name in sorted({consumer.name for event in events for consumer in consumers.interested(event.type)}):
        after_commit(_trigger_consumer, name)


def _trigger_consumer(name: str) -> None:
    """Queue one run of an internal consumer, unless one is queued already (like the relay's trigger)."""
    if consumers.queue_run(name):
        consume_events.apply_async(args=[name], countdown=consumers.TRIGGER_DELAY_SECONDS, retry=False)


def _trigger_relay() -> None:
    """Queue one relay run, unless one is already queued (a flash sale commits hundreds a second)."""
    try:
        if not cache.add(RELAY_QUEUED_KEY, 1, timeout=RELAY_QUEUED_SECONDS):
            return
    except Exception:  # no shared cache: queue a run anyway rather than risk none
        logger.warning("outbox relay trigger: cache unavailable, queueing a run", exc_info=True)
    # No publish retries: a request must not wait for a missing broker; beat's sweep delivers anyway.
    relay_outbox.apply_async(countdown=RELAY_TRIGGER_DELAY_SECONDS, retry=False)


def resend_dead_events(*, event_ids: list[int]) -> int:
    """Put dead events back in the queue (pending, attempts reset, due now); others are left alone."""
    with transaction.atomic():
        count = OutboxEvent.objects.filter(pk__in=event_ids, status=OutboxEvent.Status.DEAD).update(
            status=OutboxEvent.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), updated_at=timezone.now()
        )
        if count:
            transaction.on_commit(_trigger_relay, robust=True)
    return count
