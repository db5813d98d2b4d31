"""Wallets' business metrics for /metrics (apps.core.metrics).

The wallet services count optimistic updates retried after a version conflict in the shared cache
(WALLET_CONFLICTS_KEY, an atomic INCR with Redis), so every process adds to one number.
"""

from django.core.cache import cache
from prometheus_client.core import CounterMetricFamily

from apps.core.metrics import StoreCollector, register_collector

WALLET_CONFLICTS_KEY = "metrics:wallet_conflicts_retried"
NAME, DOCUMENTATION = "flashcart_wallet_conflicts_retried", "Optimistic wallet updates retried after a version conflict."


class WalletMetrics(StoreCollector):
    def describe(self):
        yield CounterMetricFamily(NAME, DOCUMENTATION)

    def read(self):
        yield CounterMetricFamily(NAME, DOCUMENTATION, value=int(cache.get(WALLET_CONFLICTS_KEY) or 0))


register_collector(WalletMetrics())
