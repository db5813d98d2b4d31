import uuid

from django.utils.dateparse import parse_datetime

from apps.core.errors import ValidationError
from apps.devtools.models import DevReceivedEvent


def record_received_event(*, body: dict, request_id: str = "") -> DevReceivedEvent:
    """The development receiver's write: one row per arrival of a correctly signed event."""
    try:
        event_id = uuid.UUID(body["id"])
        occurred_at = parse_datetime(body["occurred_at"])
        event_type, data = body["type"], body["data"]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValidationError("An event needs a UUID id, a type, an ISO occurred_at and an object data.") from exc
    if occurred_at is None or not isinstance(event_type, str) or not isinstance(data, dict):
        raise ValidationError("An event needs a UUID id, a type, an ISO occurred_at and an object data.")
    return DevReceivedEvent.objects.create(
        event_id=event_id, type=event_type[:100], occurred_at=occurred_at, data=data, request_id=request_id[:128]
    )
