"""Business metrics for /metrics, read at scrape time from the shared stores (database and Redis).

Counting in each process would split the numbers across gunicorn workers and machines; the
database and Redis are what every node shares, so the collector reads them instead.
"""

import logging

from django.core.cache import cache
from django.db.models import Count, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

WALLET_CONFLICTS_KEY = "metrics:wallet_conflicts_retried"


class BusinessMetricsCollector:
    def describe(self):
        """Names only, so registering at start-up does not query the database."""
        yield CounterMetricFamily("flashcart_orders_placed", "Orders placed, by current status.", labels=["status"])
        yield CounterMetricFamily("flashcart_coupons_issued", "Coupons issued over all campaigns.")
        yield GaugeMetricFamily("flashcart_outbox_events", "Outbox events waiting or dead.", labels=["status"])
        yield CounterMetricFamily("flashcart_wallet_conflicts_retried", "Optimistic wallet updates retried after a version conflict.")

    def collect(self):
        from apps.coupons.models import Coupon
        from apps.orders.models import Order
        from apps.outbox.models import OutboxEvent

        try:
            orders_by_status = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
            coupons_issued = Coupon.objects.aggregate(total=Sum("issued_quantity"))["total"] or 0
            outbox_by_status = dict(
                OutboxEvent.objects.filter(status__in=[OutboxEvent.Status.PENDING, OutboxEvent.Status.DEAD])
                .values_list("status")
                .annotate(n=Count("id"))
                .order_by()
            )
            wallet_conflicts = int(cache.get(WALLET_CONFLICTS_KEY) or 0)
        except Exception:  # a scrape must never fail the endpoint; the gap shows on the dashboard
            logger.exception("business metrics could not be read")
            return

        orders = CounterMetricFamily("flashcart_orders_placed", "Orders placed, by current status.", labels=["status"])
        for status, count in sorted(orders_by_status.items()):
            orders.add_metric([status], count)
        yield orders
        yield CounterMetricFamily("flashcart_coupons_issued", "Coupons issued over all campaigns.", value=coupons_issued)
        outbox = GaugeMetricFamily("flashcart_outbox_events", "Outbox events waiting or dead.", labels=["status"])
        for status in (OutboxEvent.Status.PENDING, OutboxEvent.Status.DEAD):
            outbox.add_metric([status], outbox_by_status.get(status, 0))
        yield outbox
        yield CounterMetricFamily(
            "flashcart_wallet_conflicts_retried", "Optimistic wallet updates retried after a version conflict.", value=wallet_conflicts
        )
