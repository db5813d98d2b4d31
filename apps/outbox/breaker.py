"""A circuit breaker for the data platform, kept in the cache so every worker process shares it.

Consecutive failed deliveries are counted in one cache key (an atomic INCR with Redis); reaching the
threshold opens the breaker for the cool-down (a key that expires). When it expires the next
delivery is a trial: a failure opens it again at once (the count is still at or above the
threshold), a success resets the count. With the embedded local-memory cache the breaker is per
process, which is all a single development machine needs.
"""

from django.conf import settings
from django.core.cache import cache

FAILURES_KEY = "outbox:breaker:failures"
OPEN_KEY = "outbox:breaker:open"


def is_open() -> bool:
    return cache.get(OPEN_KEY) is not None


def record_success() -> None:
    cache.delete(FAILURES_KEY)


def record_failure() -> bool:
    """Count one failed delivery; returns True when the breaker is (now) open."""
    cache.add(FAILURES_KEY, 0, timeout=None)
    try:
        failures = cache.incr(FAILURES_KEY)
    except ValueError:  # the count was reset by a success between add() and incr()
        cache.add(FAILURES_KEY, 1, timeout=None)
        failures = 1
    if failures >= settings.OUTBOX_BREAKER_THRESHOLD:
        cache.set(OPEN_KEY, failures, timeout=settings.OUTBOX_BREAKER_COOLDOWN_SECONDS)
        return True
    return False
