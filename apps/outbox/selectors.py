from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from apps.outbox.models import OutboxEvent


def due_event_ids(*, now: datetime, limit: int) -> list[int]:
    """Pending events whose time has come and that head their aggregate (no earlier pending event).

    Only the earliest pending event of an aggregate is eligible, so a failing event holds back the
    later events of its aggregate. A dead event no longer does: it waits in the admin for a resend.
    Most overdue first, which walks the (status, next_attempt_at) index instead of sorting.
    """
    earlier_pending = OutboxEvent.objects.filter(
        aggregate_type=OuterRef("aggregate_type"),
        aggregate_id=OuterRef("aggregate_id"),
        status=OutboxEvent.Status.PENDING,
        pk__lt=OuterRef("pk"),
    )
    return list(
        OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING, next_attempt_at__lte=now)
        .filter(~Exists(earlier_pending))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_counts() -> dict[str, int]:
    return OutboxEvent.objects.aggregate(
        pending=Count("pk", filter=Q(status=OutboxEvent.Status.PENDING)),
        dead=Count("pk", filter=Q(status=OutboxEvent.Status.DEAD)),
    )
