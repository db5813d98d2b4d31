from celery import shared_task

from apps.outbox import services


@shared_task
def relay_outbox() -> int:
    """Deliver due outbox events. Triggered on commit by publish() and swept by beat; safe to run twice."""
    return services.relay_due_events().sent


@shared_task
def purge_sent_events() -> int:
    """Retention (beat): delete sent events older than OUTBOX_RETENTION_DAYS. Safe to run twice."""
    return services.purge_sent_events()
