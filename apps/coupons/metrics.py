"""Coupons' business metrics for /metrics (apps.core.metrics)."""

from django.db.models import Sum
from prometheus_client.core import CounterMetricFamily

from apps.core.metrics import StoreCollector, register_collector
from apps.coupons.models import Coupon

NAME, DOCUMENTATION = "flashcart_coupons_issued", "Coupons issued over all campaigns."


class CouponMetrics(StoreCollector):
    def describe(self):
        yield CounterMetricFamily(NAME, DOCUMENTATION)

    def read(self):
        issued = Coupon.objects.aggregate(total=Sum("issued_quantity"))["total"] or 0
        yield CounterMetricFamily(NAME, DOCUMENTATION, value=issued)


register_collector(CouponMetrics())
