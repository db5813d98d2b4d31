"""The outbox's business metrics for /metrics (apps.core.metrics)."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from apps.core.metrics import StoreCollector, register_collector
from apps.outbox.models import OutboxEvent

WATCHED = (OutboxEvent.Status.PENDING, OutboxEvent.Status.DEAD)


def _outbox_events() -> GaugeMetricFamily:
    return GaugeMetricFamily("flashcart_outbox_events", "Outbox events waiting or dead.", labels=["status"])


class OutboxMetrics(StoreCollector):
    def describe(self):
        yield _outbox_events()

    def read(self):
        by_status = dict(OutboxEvent.objects.filter(status__in=WATCHED).values_list("status").annotate(n=Count("id")).order_by())
        events = _outbox_events()
        for status in WATCHED:
            events.add_metric([status], by_status.get(status, 0))
        yield events


register_collector(OutboxMetrics())
