"""Orders' business metrics for /metrics (apps.core.metrics)."""

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily

from apps.core.metrics import StoreCollector, register_collector
from apps.orders.models import Order


def _orders_placed() -> CounterMetricFamily:
    return CounterMetricFamily("flashcart_orders_placed", "Orders placed, by current status.", labels=["status"])


class OrderMetrics(StoreCollector):
    def describe(self):
        yield _orders_placed()

    def read(self):
        by_status = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
        orders = _orders_placed()
        for status, count in sorted(by_status.items()):
            orders.add_metric([status], count)
        yield orders


register_collector(OrderMetrics())
