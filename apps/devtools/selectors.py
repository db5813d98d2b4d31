from apps.devtools.models import DevReceivedEvent


def recent_received_events(*, limit: int = 50) -> list[DevReceivedEvent]:
    return list(DevReceivedEvent.objects.order_by("-id")[:limit])
