"""The outbox relay: delivers committed events to the data platform, and forgets them once old.

At least once, one aggregate's events in order: due events are claimed in short transactions
(`select_for_update(skip_locked=True)`, then a lease), posted with no transaction open, then marked
sent, or failed with exponential backoff and full jitter until they are dead. A circuit breaker
shared through the cache stops calling a platform that keeps failing. Run by the `relay_outbox`
task (apps.outbox.tasks), never inside a request.
"""

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.outbox import breaker, consumers, locks, selectors, signing
from apps.outbox.models import ConsumedEvent, OutboxEvent

logger = logging.getLogger(__name__)

# A claimed event is hidden from other relays this long; the relay gives back what it has not
# attempted before the lease runs out, so no other relay re-claims an event it is still sending.
MIN_CLAIM_LEASE_SECONDS = 60.0
MAX_BATCHES_PER_RUN = 50
CLAIM_TRIES = 3
PURGE_CHUNK = 1000
ERROR_MAX_CHARS = 2000

PENDING, SENT, DEAD = OutboxEvent.Status.PENDING, OutboxEvent.Status.SENT, OutboxEvent.Status.DEAD


@dataclass
class RelayReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0
    breaker_open: bool = False


def relay_due_events(*, now: datetime | None = None, batch_size: int | None = None, max_batches: int = MAX_BATCHES_PER_RUN) -> RelayReport:
    """Deliver due events, batch after batch, until none is due (at most `max_batches` batches).

    `now` fixes the clock (tests); by default each step reads the current time. Safe to run in
    many processes at once: claims skip rows another relay holds and no transaction stays open
    across the HTTP calls.
    """
    report = RelayReport()
    url = settings.DATA_PLATFORM_URL
    if not url:
        logger.warning("DATA_PLATFORM_URL is not set: outbox events stay pending")
        return report
    limit = batch_size or settings.OUTBOX_BATCH_SIZE
    with requests.Session() as session:
        for _ in range(max_batches):
            if breaker.is_open():
                report.breaker_open = True
                break
            events = claim_due_events(now=now or timezone.now(), limit=limit)
            if not events or not _deliver_batch(session=session, url=url, events=events, now=now, report=report):
                break
    if report.sent or report.failed:
        logger.info(
            "outbox relay: %s sent, %s failed (%s now dead), %s given back%s",
            report.sent, report.failed, report.dead, report.released, ", circuit breaker open" if report.breaker_open else "",
        )
    return report


def claim_due_events(*, now: datetime, limit: int) -> list[OutboxEvent]:
    """Claim up to `limit` due events for this relay by pushing their next attempt past a lease.

    The claim is its own short transaction: the locks are gone before any HTTP call.
    """
    lease = timedelta(seconds=_lease_seconds())
    for _ in range(CLAIM_TRIES):  # another relay may have just claimed every candidate read
        ids = selectors.due_event_ids(now=now, limit=limit)
        if not ids:
            return []
        with transaction.atomic():
            events = locks.lock_due_events(ids=ids, now=now)
            if events:
                OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
                    next_attempt_at=now + lease, updated_at=timezone.now()
                )
                return events
    return []


def _lease_seconds() -> float:
    return max(MIN_CLAIM_LEASE_SECONDS, 4 * settings.DATA_PLATFORM_TIMEOUT_SECONDS)


def _deliver_batch(*, session: requests.Session, url: str, events: list[OutboxEvent], now: datetime | None, report: RelayReport) -> bool:
    """Post each claimed event and record the outcome; False when the relay must stop (breaker open).

    Delivered events are marked sent together when the batch ends (one UPDATE, not one commit per
    event); if the process dies first they are sent again after the lease: at least once, as promised.
    """
    give_back_at = time.monotonic() + _lease_seconds() - settings.DATA_PLATFORM_TIMEOUT_SECONDS - 1
    delivered: list[int] = []
    after_failure = True  # reset the shared failure count on the batch's first success and after each failure
    try:
        for index, event in enumerate(events):
            if time.monotonic() > give_back_at:
                report.released += _release(events=events[index:], at=now or timezone.now())
                return True
            error = _post(session=session, url=url, event=event)
            if error is None:
                delivered.append(event.pk)
                if after_failure:
                    breaker.record_success()
                    after_failure = False
                continue
            after_failure = True
            at = now or timezone.now()
            report.failed += 1
            report.dead += _mark_failed(event=event, error=error, at=at)
            logger.warning("outbox event %s (%s) attempt %s failed: %s", event.event_id, event.type, event.attempts + 1, error)
            if breaker.record_failure():
                report.breaker_open = True
                reopen_at = at + timedelta(seconds=settings.OUTBOX_BREAKER_COOLDOWN_SECONDS)
                report.released += _release(events=events[index + 1 :], at=reopen_at)
                return False
        return True
    finally:
        report.sent += _mark_sent(event_ids=delivered, at=now or timezone.now())


def encode_event(event: OutboxEvent) -> bytes:
    """The exact bytes posted (and signed): API.md's {"id", "type", "occurred_at", "data"}."""
    body = {"id": str(event.event_id), "type": event.type, "occurred_at": event.created_at.isoformat(), "data": event.payload}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _post(*, session: requests.Session, url: str, event: OutboxEvent) -> str | None:
    """POST one event; None on a 2xx answer, else a description of the failure."""
    body = encode_event(event)
    headers = {
        "Content-Type": "application/json",
        "X-Event-Id": str(event.event_id),
        "X-Event-Type": event.type,
        "X-Signature": signing.sign(body),
    }
    if event.request_id:
        headers["X-Request-ID"] = event.request_id
    try:
        response = session.post(url, data=body, headers=headers, timeout=settings.DATA_PLATFORM_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        return f"{exc.__class__.__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:500]}"


def backoff_seconds(*, attempts: int) -> float:
    """Delay after the `attempts`-th failed attempt: full jitter, random(0, min(cap, base * 2**attempts))."""
    ceiling = min(settings.OUTBOX_BACKOFF_CAP_SECONDS, settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** min(attempts, 62))
    return random.uniform(0, ceiling)


def _mark_sent(*, event_ids: list[int], at: datetime) -> int:
    if not event_ids:
        return 0
    return OutboxEvent.objects.filter(pk__in=event_ids, status=PENDING).update(
        status=SENT, sent_at=at, attempts=F("attempts") + 1, last_error="", updated_at=timezone.now()
    )


def _mark_failed(*, event: OutboxEvent, error: str, at: datetime) -> bool:
    """Count the failed attempt and schedule the next one; returns True when the event is now dead.

    Guarded by the attempts count read at claim time (MySQL evaluates SET assignments left to right,
    so the new status cannot be derived from `attempts` in the same UPDATE).
    """
    attempts = event.attempts + 1
    dead = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    updated = OutboxEvent.objects.filter(pk=event.pk, status=PENDING, attempts=event.attempts).update(
        attempts=attempts,
        last_error=error[:ERROR_MAX_CHARS],
        next_attempt_at=at + timedelta(seconds=backoff_seconds(attempts=attempts)),
        status=DEAD if dead else PENDING,
        updated_at=timezone.now(),
    )
    return dead and updated == 1


def _release(*, events: list[OutboxEvent], at: datetime) -> int:
    """Give claimed but unattempted events back, due again at `at`."""
    if not events:
        return 0
    return OutboxEvent.objects.filter(pk__in=[event.pk for event in events], status=PENDING).update(
        next_attempt_at=at, updated_at=timezone.now()
    )


def purge_sent_events(*, now: datetime | None = None) -> int:
    """Delete sent events older than OUTBOX_RETENTION_DAYS, in small chunks; pending and dead stay."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    old_enough = OutboxEvent.objects.filter(status=SENT, sent_at__lt=cutoff).filter(consumers.handled_by_every_consumer())
    deleted = 0
    while True:
        ids = list(old_enough.values_list("pk", flat=True)[:PURGE_CHUNK])
        if not ids:
            return deleted
        with transaction.atomic():
            ConsumedEvent.objects.filter(event_id__in=ids).delete()
            deleted += OutboxEvent.objects.filter(pk__in=ids, status=SENT).delete()[0]
