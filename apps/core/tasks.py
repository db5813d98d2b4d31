from celery import shared_task

from apps.core.idempotency import purge_expired_keys


@shared_task
def purge_expired_idempotency_keys() -> int:
    """Hourly (beat): forgets Idempotency-Key rows older than IDEMPOTENCY_TTL. Safe to run twice."""
    return purge_expired_keys()
