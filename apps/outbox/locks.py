from datetime import datetime

from apps.outbox.models import OutboxEvent


def lock_due_events(*, ids: list[int], now: datetime) -> list[OutboxEvent]:
    """Lock those of `ids` still pending and due, skipping rows another relay holds (never waits).

    Call inside transaction.atomic(). Rows are locked by primary key only: the head-of-aggregate
    condition is checked by the (non-locking) read that chose `ids`.
    """
    return list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, status=OutboxEvent.Status.PENDING, next_attempt_at__lte=now)
        .order_by("pk")
    )
