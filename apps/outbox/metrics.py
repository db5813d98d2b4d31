"""The outbox's business metrics for /metrics (apps.core.metrics)."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from apps.core.metrics import StoreCollector, register_collector
from apps.outbox import consumers
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


class ConsumerMetrics(StoreCollector):
    """Lag of the shop's own outbox consumers: unread events, the oldest one's age, failing and parked events."""

    def describe(self):
        yield from self._families()

    @staticmethod
    def _families():
        return (
            GaugeMetricFamily("flashcart_consumer_events_behind", "Outbox events a consumer has not read yet.", labels=["consumer"]),
            GaugeMetricFamily("flashcart_consumer_oldest_unread_seconds", "Age of the oldest event a consumer has not read.", labels=["consumer"]),
            GaugeMetricFamily("flashcart_consumer_events_failing", "Events a consumer failed on, by state.", labels=["consumer", "state"]),
        )

    def read(self):
        behind, oldest, failing = self._families()
        for entry in consumers.lag():
            behind.add_metric([entry.consumer], entry.behind)
            oldest.add_metric([entry.consumer], entry.oldest_pending_seconds or 0)
            failing.add_metric([entry.consumer, "failed"], entry.failed)
            failing.add_metric([entry.consumer, "parked"], entry.parked)
        yield from (behind, oldest, failing)


register_collector(OutboxMetrics())
register_collector(ConsumerMetrics())
