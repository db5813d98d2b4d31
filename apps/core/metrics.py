"""Business metrics for /metrics: each app reports its own, read at scrape time from the shared stores.

Counting in each process would split the numbers across gunicorn workers and machines; the
database and Redis are what every node shares, so collectors read them instead. An app that has
business metrics keeps a `metrics.py` that registers a StoreCollector subclass with
register_collector(); CoreConfig.ready imports every installed app's `metrics` module (as the
admin does with `admin.py`), so core names no app.
"""

import logging
from collections.abc import Iterable

from prometheus_client import REGISTRY
from prometheus_client.core import Metric

logger = logging.getLogger(__name__)


class StoreCollector:
    """A Prometheus collector whose numbers come from the database or the cache.

    `describe()` yields the families with no samples (registering must not query anything);
    `read()` yields them filled. A failing read is logged and its families are left out of that
    scrape: the endpoint never fails, and the gap shows on the dashboard.
    """

    def describe(self) -> Iterable[Metric]:
        raise NotImplementedError

    def read(self) -> Iterable[Metric]:
        raise NotImplementedError

    def collect(self) -> list[Metric]:
        try:
            return list(self.read())
        except Exception:  # a scrape must never fail the endpoint
            logger.exception("business metrics of %s could not be read", type(self).__name__)
            return []


def register_collector(collector: StoreCollector) -> None:
    """Add `collector` to the process's registry (each app's metrics module does this once, on import)."""
    REGISTRY.register(collector)
