"""Consumer groups over the outbox: the shop's own consumers (rankings, e-mail) read committed events.

Each consumer reads the outbox on its own, independently of the data-platform relay and of the
other consumers, in batches, from its own position (ConsumerPosition), as a Kafka consumer group
does. What it has handled is one unique (consumer, event) row (ConsumedEvent):

- A transactional consumer's effect is in the database: `handle(event)` runs inside the transaction
  that inserts that row, so handling an event twice is impossible (a second insert fails and rolls
  the second effect back), whether the event is read twice, two runs race, or a worker dies mid-batch.
- A non-transactional consumer (e-mail) cannot undo its effect: the row is first inserted as a claim
  with a lease in a short transaction, `handle(event)` then runs with no transaction open, and the
  row is marked done. A crash between the effect and the record leaves the claim to expire, and the
  event is handled again: at least once, never zero times.

Which events of a batch are handled is checked in one query per batch. A failing event is retried
with exponential backoff and jitter, then parked after CONSUMER_MAX_ATTEMPTS (visible and
retryable in the admin); it never holds back the events after it. Runs are triggered on commit by
publish() (apps.outbox.services) and swept by beat (the `consume_events` task). Retention of sent events waits for every
consumer's watermark.
"""

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from apps.outbox.models import ConsumedEvent, ConsumerPosition, OutboxEvent

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000
MAX_BATCHES_PER_RUN = 20
# Set while a consumer's run is queued and has not started: the commits of that moment share it.
QUEUED_KEY = "outbox:consumer-queued:{name}"
QUEUED_SECONDS = 10
TRIGGER_DELAY_SECONDS = 0.2


@dataclass(frozen=True)
class Consumer:
    name: str
    event_types: frozenset[str]
    handle: Callable[[OutboxEvent], None]
    # True: handle() runs inside the transaction that records the event as handled (exactly once).
    # False: handle() runs with no transaction open, between a claim and its record (at least once).
    transactional: bool = True


_registry: dict[str, Consumer] = {}


def register(consumer: Consumer) -> None:
    """Called from an app's AppConfig.ready(); registering the same name again replaces it."""
    _registry[consumer.name] = consumer


def registered() -> list[Consumer]:
    return sorted(_registry.values(), key=lambda consumer: consumer.name)


def get(name: str) -> Consumer:
    return _registry[name]


def interested(event_type: str) -> list[Consumer]:
    return [consumer for consumer in registered() if event_type in consumer.event_types]


@dataclass
class ConsumerReport:
    handled: int = 0
    failed: int = 0
    parked: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def run(name: str, *, batch_size: int | None = None, max_batches: int = MAX_BATCHES_PER_RUN) -> ConsumerReport:
    """One pass of consumer `name`: new events, late-committed ones, due retries and expired claims. Safe to run in parallel."""
    consumer = get(name)
    limit = batch_size or settings.CONSUMER_BATCH_SIZE
    report = ConsumerReport()
    position, _ = ConsumerPosition.objects.get_or_create(consumer=name)
    cursor = position.cursor
    for _ in range(max_batches):
        events = list(_relevant(consumer).filter(pk__gt=cursor).order_by("pk")[:limit])
        if not events:
            break
        _handle_batch(consumer, events, report)
        cursor = events[-1].pk
        ConsumerPosition.objects.filter(consumer=name, cursor__lt=cursor).update(cursor=cursor, updated_at=timezone.now())
        if len(events) < limit:
            break
    _catch_up_late_events(consumer, watermark=position.watermark, cursor=cursor, limit=limit, report=report)
    _retry_due(consumer, limit=limit, report=report)
    return report


def _relevant(consumer: Consumer):
    return OutboxEvent.objects.filter(type__in=consumer.event_types)


def _handle_batch(consumer: Consumer, events: list[OutboxEvent], report: ConsumerReport) -> None:
    handled = set(ConsumedEvent.objects.filter(consumer=consumer.name, event_id__in=[event.pk for event in events]).values_list("event_id", flat=True))
    for event in events:
        if event.pk in handled:
            report.skipped += 1
            continue
        _handle_one(consumer, event, report, retry_of=None)


def _catch_up_late_events(consumer: Consumer, *, watermark: int, cursor: int, limit: int, report: ConsumerReport) -> None:
    """Handle events between the watermark and the cursor that committed after the cursor passed them, then move the watermark.

    The watermark only passes events older than CONSUMER_SETTLE_SECONDS: a transaction that stayed
    open longer than that (none does: they are short) could commit an event the consumer never sees.
    """
    handled = ConsumedEvent.objects.filter(consumer=consumer.name, event_id=OuterRef("pk"))
    late = list(_relevant(consumer).filter(pk__gt=watermark, pk__lte=cursor).filter(~Exists(handled)).order_by("pk")[:limit])
    for event in late:
        _handle_one(consumer, event, report, retry_of=None)
    settled_before = timezone.now() - timedelta(seconds=settings.CONSUMER_SETTLE_SECONDS)
    settled = OutboxEvent.objects.filter(pk__gt=watermark, pk__lte=cursor, created_at__lt=settled_before).aggregate(top=Max("pk"))["top"]
    if settled and len(late) < limit:
        ConsumerPosition.objects.filter(consumer=consumer.name, watermark__lt=settled).update(watermark=settled, updated_at=timezone.now())


def _retry_due(consumer: Consumer, *, limit: int, report: ConsumerReport) -> None:
    """Failed events whose backoff is over, and claims whose lease ran out (their handler died)."""
    due = list(
        ConsumedEvent.objects.filter(
            consumer=consumer.name, status__in=[ConsumedEvent.Status.FAILED, ConsumedEvent.Status.CLAIMED], next_attempt_at__lte=timezone.now()
        )
        .select_related("event")
        .order_by("next_attempt_at")[:limit]
    )
    for record in due:
        _handle_one(consumer, record.event, report, retry_of=record)


def _handle_one(consumer: Consumer, event: OutboxEvent, report: ConsumerReport, *, retry_of: ConsumedEvent | None) -> None:
    try:
        if consumer.transactional:
            done = _handle_in_transaction(consumer, event, retry_of)
        else:
            done = _handle_between_claim_and_record(consumer, event, retry_of)
    except Exception as exc:
        logger.warning("consumer %s failed on event %s (%s)", consumer.name, event.pk, event.type, exc_info=True)
        parked = _record_failure(consumer, event, retry_of, exc)
        report.parked += parked
        report.failed += not parked
        report.errors.append(f"{event.pk}: {exc}")
        return
    if done:
        report.handled += 1
    else:
        report.skipped += 1


class _AlreadyRecorded(Exception):
    """Another run recorded this (consumer, event) first: its effect stands, ours is rolled back."""


def _handle_in_transaction(consumer: Consumer, event: OutboxEvent, retry_of: ConsumedEvent | None) -> bool:
    try:
        with transaction.atomic():
            if not _take(consumer, event, retry_of, status=ConsumedEvent.Status.DONE):
                return False
            consumer.handle(event)  # its own IntegrityError is a failure like any other, never "already handled"
    except _AlreadyRecorded:
        return False
    return True


def _handle_between_claim_and_record(consumer: Consumer, event: OutboxEvent, retry_of: ConsumedEvent | None) -> bool:
    lease = timezone.now() + timedelta(seconds=settings.CONSUMER_CLAIM_SECONDS)
    try:
        with transaction.atomic():
            if not _take(consumer, event, retry_of, status=ConsumedEvent.Status.CLAIMED, next_attempt_at=lease):
                return False
    except _AlreadyRecorded:
        return False
    consumer.handle(event)
    ConsumedEvent.objects.filter(consumer=consumer.name, event_id=event.pk, status=ConsumedEvent.Status.CLAIMED).update(
        status=ConsumedEvent.Status.DONE, next_attempt_at=None, last_error="", updated_at=timezone.now()
    )
    return True


def _take(consumer: Consumer, event: OutboxEvent, retry_of: ConsumedEvent | None, *, status: str, next_attempt_at=None) -> bool:
    """Insert the (consumer, event) row, or move a retried one on from the state it was read in; False when someone else did."""
    if retry_of is None:
        try:
            ConsumedEvent.objects.create(consumer=consumer.name, event_id=event.pk, status=status, next_attempt_at=next_attempt_at)
        except IntegrityError as exc:
            raise _AlreadyRecorded() from exc
        return True
    return bool(
        ConsumedEvent.objects.filter(pk=retry_of.pk, status=retry_of.status, next_attempt_at=retry_of.next_attempt_at).update(
            status=status, next_attempt_at=next_attempt_at, updated_at=timezone.now()
        )
    )


def _record_failure(consumer: Consumer, event: OutboxEvent, retry_of: ConsumedEvent | None, exc: Exception) -> bool:
    """Count the failed attempt; returns True when the event is now parked."""
    error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
    attempts = (retry_of.attempts if retry_of else 0) + 1
    parked = attempts >= settings.CONSUMER_MAX_ATTEMPTS
    fields = {
        "status": ConsumedEvent.Status.PARKED if parked else ConsumedEvent.Status.FAILED,
        "attempts": attempts,
        "next_attempt_at": None if parked else timezone.now() + _backoff(attempts),
        "last_error": error,
    }
    try:
        with transaction.atomic():
            updated = ConsumedEvent.objects.filter(consumer=consumer.name, event_id=event.pk).exclude(status=ConsumedEvent.Status.DONE).update(
                updated_at=timezone.now(), **fields
            )
            if not updated and not ConsumedEvent.objects.filter(consumer=consumer.name, event_id=event.pk).exists():
                ConsumedEvent.objects.create(consumer=consumer.name, event_id=event.pk, **fields)
    except IntegrityError:
        pass  # another run handled it meanwhile
    return parked


def _backoff(attempts: int) -> timedelta:
    """Exponential with "equal jitter": at least half the step, so a retry never falls due in the run that failed."""
    step = min(settings.CONSUMER_BACKOFF_CAP_SECONDS, settings.CONSUMER_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(step / 2, step))


def retry_parked(*, record_ids: Iterable[int]) -> int:
    """Staff: parked events become due again now (attempts reset); the consumers' next runs handle them."""
    count = ConsumedEvent.objects.filter(pk__in=list(record_ids), status=ConsumedEvent.Status.PARKED).update(
        status=ConsumedEvent.Status.FAILED, attempts=0, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    return count


def handled_by_every_consumer() -> Q:
    """Events every interested consumer is done with: retention may delete them (once sent and old)."""
    condition = Q()
    watermarks = dict(ConsumerPosition.objects.values_list("consumer", "watermark"))
    for consumer in registered():
        condition &= ~Q(type__in=consumer.event_types) | Q(pk__lte=watermarks.get(consumer.name, 0))
    return condition


def queue_run(name: str) -> bool:
    """Claim the right to queue a run of `name`: False while one is queued and has not started yet."""
    try:
        return bool(cache.add(QUEUED_KEY.format(name=name), 1, timeout=QUEUED_SECONDS))
    except Exception:
        logger.warning("consumer trigger: cache unavailable, queueing a run", exc_info=True)
        return True


def clear_queued_flag(name: str) -> None:
    """Called as a run starts: from here on it sees every committed event, so later commits queue a new run."""
    cache.delete(QUEUED_KEY.format(name=name))


@dataclass(frozen=True)
class ConsumerLag:
    consumer: str
    behind: int
    oldest_pending_seconds: float | None
    failed: int
    parked: int


def lag() -> list[ConsumerLag]:
    """Per consumer: events not yet read, the age of the oldest, and failing or parked events (admin and /metrics)."""
    positions = dict(ConsumerPosition.objects.values_list("consumer", "cursor"))
    now = timezone.now()
    result = []
    for consumer in registered():
        unread = _relevant(consumer).filter(pk__gt=positions.get(consumer.name, 0))
        oldest = unread.order_by("pk").values_list("created_at", flat=True).first()
        troubled = ConsumedEvent.objects.filter(consumer=consumer.name).aggregate(
            failed=Count("pk", filter=Q(status=ConsumedEvent.Status.FAILED)), parked=Count("pk", filter=Q(status=ConsumedEvent.Status.PARKED))
        )
        result.append(
            ConsumerLag(
                consumer=consumer.name,
                behind=unread.count(),
                oldest_pending_seconds=(now - oldest).total_seconds() if oldest else None,
                failed=troubled["failed"],
                parked=troubled["parked"],
            )
        )
    return result
