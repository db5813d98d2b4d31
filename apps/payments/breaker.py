"""A circuit breaker every web and worker process shares, opening on a failure *rate*.

Closed: every call is allowed and its outcome goes into a sliding window of the last
`window` calls. Once the window holds at least `min_calls` outcomes and `failure_rate` or more of
them are failures (Resilience4j's count-based window: e.g. >= 50% of the last 10), the breaker is
open for `open_seconds`: calls are refused at once, with the time left as Retry-After. After that
it is half-open: one caller at a time gets a trial call; a success closes the breaker with an empty
window, a failure opens it again for `open_seconds`.

Why not a library: pybreaker (the usual choice, with CircuitRedisStorage) counts *consecutive*
failures, so an intermittent gateway (every other call failing) never opens it; purgatory and
aiobreaker are asyncio-only with the same counting. The shared window is therefore two small Lua
scripts run atomically by Redis (push the outcome, trim to N, compute the rate, set "open until"),
with Redis' own clock, so all machines agree on when the wait ends.

Without Redis (the embedded default, a local-memory cache) the same rules run in memory under a
lock: the state is per process, which is all one development machine needs.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from enum import Enum

from django.conf import settings
from django.core.cache import cache

from apps.core.errors import PaymentUnavailable


class Permit(Enum):
    """What acquire() granted: a normal call, or the single trial call of the half-open state."""

    CALL = "call"
    TRIAL = "trial"


@dataclass(frozen=True)
class BreakerPolicy:
    window: int
    min_calls: int
    failure_rate: float
    open_seconds: float
    trial_seconds: float

    @classmethod
    def from_settings(cls) -> BreakerPolicy:
        return cls(
            window=settings.PG_BREAKER_WINDOW,
            min_calls=settings.PG_BREAKER_MIN_CALLS,
            failure_rate=settings.PG_BREAKER_FAILURE_RATE,
            open_seconds=settings.PG_BREAKER_OPEN_SECONDS,
            trial_seconds=settings.PG_BREAKER_TRIAL_SECONDS,
        )


@dataclass(frozen=True)
class BreakerState:
    name: str  # "closed", "open" or "half_open"
    retry_after: float  # seconds until a call may be tried again (0 when closed or half-open)
    outcomes: int  # calls in the window
    failures: int


# KEYS: open_until, trial. ARGV: trial_ms.
# Returns {1, 0} for a normal call, {2, 0} for the half-open trial, {0, ms_to_wait} when refused.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local open_until = tonumber(redis.call('GET', KEYS[1]))
if not open_until then return {1, 0} end
if now < open_until then return {0, open_until - now} end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return {2, 0} end
return {0, math.max(redis.call('PTTL', KEYS[2]), 1)}
"""

# KEYS: window, open_until, trial. ARGV: failed (0/1), trial (0/1), window, min_calls, failure_rate, open_ms.
# Returns 1 when the breaker is open after this outcome, else 0.
_RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local failed = ARGV[1] == '1'
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[3])
  if failed then
    redis.call('SET', KEYS[2], now + tonumber(ARGV[6]))
    return 1
  end
  redis.call('DEL', KEYS[1], KEYS[2])
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local size = tonumber(ARGV[3])
redis.call('LPUSH', KEYS[1], failed and '1' or '0')
redis.call('LTRIM', KEYS[1], 0, size - 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
local outcomes = redis.call('LRANGE', KEYS[1], 0, -1)
if #outcomes < tonumber(ARGV[4]) then return 0 end
local failures = 0
for _, outcome in ipairs(outcomes) do
  if outcome == '1' then failures = failures + 1 end
end
if failures / #outcomes >= tonumber(ARGV[5]) then
  redis.call('SET', KEYS[2], now + tonumber(ARGV[6]))
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


class SharedBreaker:
    """The breaker named `name`, its state in Redis when the cache is Redis, else in this process."""

    def __init__(self, name: str, policy: BreakerPolicy | None = None):
        self.name = name
        self.policy = policy or BreakerPolicy.from_settings()
        self._store = _RedisStore(name) if _cache_is_redis() else _memory_store(name)

    def acquire(self) -> Permit:
        """A permit to call, or PaymentUnavailable (503, Retry-After) while the breaker is open."""
        allowed, wait_ms = self._store.acquire(self.policy)
        if allowed == 0:
            raise PaymentUnavailable(retry_after=max(1, math.ceil(wait_ms / 1000)))
        return Permit.TRIAL if allowed == 2 else Permit.CALL

    def ensure_closed(self) -> None:
        """PaymentUnavailable when calls are being refused right now, without taking a permit."""
        state = self.state()
        if state.name == "open":
            raise PaymentUnavailable(retry_after=max(1, math.ceil(state.retry_after)))

    def record(self, permit: Permit, *, success: bool) -> bool:
        """Count the outcome of a permitted call; True when the breaker is open afterwards."""
        return self._store.record(self.policy, failed=not success, trial=permit is Permit.TRIAL)

    def state(self) -> BreakerState:
        return self._store.state(self.policy)

    def reset(self) -> None:
        self._store.reset()


def _cache_is_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis.")


class _RedisStore:
    def __init__(self, name: str):
        from django_redis import get_redis_connection

        self.redis = get_redis_connection("default")
        # One hash tag, so the keys live in one slot on a Redis Cluster too.
        base = cache.make_key("{breaker:" + name + "}")
        self.window_key, self.open_key, self.trial_key = f"{base}:window", f"{base}:open-until", f"{base}:trial"
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._record = self.redis.register_script(_RECORD)

    def acquire(self, policy: BreakerPolicy) -> tuple[int, int]:
        allowed, wait_ms = self._acquire(keys=[self.open_key, self.trial_key], args=[int(policy.trial_seconds * 1000)])
        return int(allowed), int(wait_ms)

    def record(self, policy: BreakerPolicy, *, failed: bool, trial: bool) -> bool:
        args = [int(failed), int(trial), policy.window, policy.min_calls, policy.failure_rate, int(policy.open_seconds * 1000)]
        return bool(self._record(keys=[self.window_key, self.open_key, self.trial_key], args=args))

    def state(self, policy: BreakerPolicy) -> BreakerState:
        pipe = self.redis.pipeline()
        pipe.time().get(self.open_key).lrange(self.window_key, 0, -1)
        (seconds, micros), open_until, outcomes = pipe.execute()
        failures = sum(outcome == b"1" for outcome in outcomes)
        if open_until is None:
            return BreakerState("closed", 0.0, len(outcomes), failures)
        wait = (int(open_until) - (seconds * 1000 + micros // 1000)) / 1000
        return BreakerState("open", wait, len(outcomes), failures) if wait > 0 else BreakerState("half_open", 0.0, len(outcomes), failures)

    def reset(self) -> None:
        self.redis.delete(self.window_key, self.open_key, self.trial_key)


class _MemoryStore:
    """The same rules for one process (no Redis); monotonic clock, one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes: list[bool] = []  # newest first, True = failed
        self.open_until: float | None = None
        self.trial_until: float | None = None

    def acquire(self, policy: BreakerPolicy) -> tuple[int, int]:
        with self.lock:
            now = time.monotonic()
            if self.open_until is None:
                return 1, 0
            if now < self.open_until:
                return 0, math.ceil((self.open_until - now) * 1000)
            if self.trial_until is None or now >= self.trial_until:
                self.trial_until = now + policy.trial_seconds
                return 2, 0
            return 0, max(1, math.ceil((self.trial_until - now) * 1000))

    def record(self, policy: BreakerPolicy, *, failed: bool, trial: bool) -> bool:
        with self.lock:
            now = time.monotonic()
            if trial:
                self.trial_until = None
                if failed:
                    self.open_until = now + policy.open_seconds
                    return True
                self.open_until, self.outcomes = None, []
                return False
            if self.open_until is not None:
                return True
            self.outcomes = [failed, *self.outcomes][: policy.window]
            if len(self.outcomes) >= policy.min_calls and sum(self.outcomes) / len(self.outcomes) >= policy.failure_rate:
                self.open_until, self.outcomes = now + policy.open_seconds, []
                return True
            return False

    def state(self, policy: BreakerPolicy) -> BreakerState:
        with self.lock:
            failures = sum(self.outcomes)
            if self.open_until is None:
                return BreakerState("closed", 0.0, len(self.outcomes), failures)
            wait = self.open_until - time.monotonic()
            return BreakerState("open", wait, len(self.outcomes), failures) if wait > 0 else BreakerState("half_open", 0.0, len(self.outcomes), failures)

    def reset(self) -> None:
        with self.lock:
            self.outcomes, self.open_until, self.trial_until = [], None, None


_memory_stores: dict[str, _MemoryStore] = {}
_memory_stores_lock = threading.Lock()


def _memory_store(name: str) -> _MemoryStore:
    with _memory_stores_lock:
        return _memory_stores.setdefault(name, _MemoryStore())
