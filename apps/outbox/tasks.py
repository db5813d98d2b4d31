from celery import shared_task
from django.core.cache import cache

from apps.outbox import consumers, relay

# Set by publish()'s on-commit trigger while a relay run is queued and has not started
# (apps.outbox.services), cleared by that run as it starts.
RELAY_QUEUED_KEY = "outbox:relay-queued"


@shared_task
def relay_outbox() -> int:
    """Deliver due outbox events. Triggered on commit by publish() and swept by beat; safe to run twice."""
    # From here on this run sees every committed event, so a commit from now on queues a new run.
    cache.delete(RELAY_QUEUED_KEY)
    return relay.relay_due_events().sent


@shared_task
def purge_sent_events() -> int:
    """Retention (beat): delete sent events older than OUTBOX_RETENTION_DAYS. Safe to run twice."""
    return relay.purge_sent_events()


@shared_task
def consume_events(name: str) -> int:
    """One run of the internal consumer `name` (apps.outbox.consumers). Triggered on commit by publish(); safe to run twice."""
    consumers.clear_queued_flag(name)
    return consumers.run(name).handled


@shared_task
def sweep_consumers() -> dict:
    """Beat: run every internal consumer, in case a trigger was lost, and for due retries and late events."""
    return {consumer.name: consumers.run(consumer.name).handled for consumer in consumers.registered()}
