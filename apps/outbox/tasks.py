from celery import shared_task
from django.core.cache import cache

from apps.outbox import relay

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
