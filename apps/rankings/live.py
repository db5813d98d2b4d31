"""Per-day Redis sorted sets of units and revenue: what GET /products/popular reads, current within seconds.

For each day, three keys: `units` and `revenue` (sorted sets, member = product id) and `versions`
(hash, product id → the ProductSalesDaily.version the scores come from). Every write is an absolute
value with its row's version, applied only when newer than what Redis holds: a write that arrives
late, twice, or races a repair never moves a total backwards, unlike a bare ZINCRBY.

A day's sets are complete when its `built` marker exists. A flush (or an expired marker) is
repaired on the next read: the day's rows are copied from the table, the one truth, under a short
lock, then the marker is set. The marker expires after RESYNC_SECONDS, so a write lost between a
commit and its after-commit step (a process killed there) is healed by the next copy.

Only with django-redis as the cache; on the embedded default (local-memory cache) `client()` is None
and the reads sum the daily table instead.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import date

from django.conf import settings
from django.core.cache import cache

from apps.rankings.models import ProductSalesDaily

logger = logging.getLogger(__name__)

SETS_SECONDS = 40 * 24 * 60 * 60  # longer than the widest window (30 days)
RESYNC_SECONDS = 30 * 60
REPAIR_LOCK_SECONDS = 10
UNION_MILLISECONDS = 1000  # how long a window's union is reused by the reads that follow
WRITE_CHUNK = 500

# KEYS: units, revenue, versions. ARGV: ttl, then (product, units, revenue, version) repeated.
_WRITE = """
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 4 do
  local product, version = ARGV[i], tonumber(ARGV[i + 3])
  local known = tonumber(redis.call('HGET', KEYS[3], product) or '-1')
  if version > known then
    redis.call('HSET', KEYS[3], product, version)
    redis.call('ZADD', KEYS[1], ARGV[i + 1], product)
    redis.call('ZADD', KEYS[2], ARGV[i + 2], product)
  end
end
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ttl) end
return 1
"""

# KEYS: union units, union revenue, then n markers, n units sets, n revenue sets. ARGV: n, size, union ms.
# Returns {0, missing day indexes...} when some day is not built, else {1, product, units, revenue, ...}:
# the first `size` products by units plus every product tied with the last of them (ties are decided
# by revenue and id in Python).
_TOP = """
local n, size = tonumber(ARGV[1]), tonumber(ARGV[2])
local missing = {0}
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 + i]) == 0 then missing[#missing + 1] = i end
end
if #missing > 1 then return missing end
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then
  local units, revenue = {}, {}
  for i = 1, n do
    units[i] = KEYS[2 + n + i]
    revenue[i] = KEYS[2 + 2 * n + i]
  end
  redis.call('ZUNIONSTORE', KEYS[1], n, unpack(units))
  redis.call('ZUNIONSTORE', KEYS[2], n, unpack(revenue))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local top = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, size)
local members, seen = {}, {}
for i = 1, #top, 2 do
  members[#members + 1] = {top[i], top[i + 1]}
  seen[top[i]] = true
end
if #members == size then
  local last = top[#top]
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], last, last)) do
    if not seen[member] then members[#members + 1] = {member, last} end
  end
end
local result = {1}
for _, entry in ipairs(members) do
  result[#result + 1] = entry[1]
  result[#result + 1] = entry[2]
  result[#result + 1] = redis.call('ZSCORE', KEYS[2], entry[1]) or '0'
end
return result
"""


def client():
    """The raw Redis client behind the cache, or None when the cache is not Redis (embedded default)."""
    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _key(day: date, part: str) -> str:
    return cache.make_key(f"rankings:live:{day.isoformat()}:{part}")


def _day_keys(day: date) -> list[str]:
    return [_key(day, "units"), _key(day, "revenue"), _key(day, "versions")]


def write_day(day: date, rows: Sequence[tuple[int, int, int, int]]) -> None:
    """Store (product id, units, revenue, version) rows of one day where they are newer than what Redis holds."""
    redis = client()
    if redis is None or not rows:
        return
    script = redis.register_script(_WRITE)
    for start in range(0, len(rows), WRITE_CHUNK):
        args: list[int] = [SETS_SECONDS]
        for row in rows[start : start + WRITE_CHUNK]:
            args.extend(row)
        script(keys=_day_keys(day), args=args)


def repair_day(day: date) -> bool:
    """Copy one day's rows from the table into Redis and mark the day built; False when another process is at it."""
    redis = client()
    lock = _key(day, "repairing")
    if not redis.set(lock, 1, nx=True, ex=REPAIR_LOCK_SECONDS):
        return False
    try:
        rows = list(ProductSalesDaily.objects.filter(day=day).values_list("product_id", "units_sold", "revenue", "version"))
        write_day(day, rows)
        redis.set(_key(day, "built"), 1, ex=RESYNC_SECONDS)
    finally:
        redis.delete(lock)
    return True


def forget_days(days: Iterable[date]) -> None:
    """Drop these days' sets and markers (after a rebuild): the next read copies them from the table again."""
    redis = client()
    keys = [key for day in days for key in (*_day_keys(day), _key(day, "built"))]
    for start in range(0, len(keys), WRITE_CHUNK):
        redis.delete(*keys[start : start + WRITE_CHUNK])


def top_of_window(days: Sequence[date], *, size: int) -> list[tuple[int, int, int]] | None:
    """(product id, units, revenue) of the best sellers over `days`, best first; None when a day could not be repaired now."""
    redis = client()
    script = redis.register_script(_TOP)
    window = f"{days[0].isoformat()}:{days[-1].isoformat()}"
    keys = [
        cache.make_key(f"rankings:live:union:{window}:units"),
        cache.make_key(f"rankings:live:union:{window}:revenue"),
        *[_key(day, "built") for day in days],
        *[_key(day, "units") for day in days],
        *[_key(day, "revenue") for day in days],
    ]
    for _ in range(2):
        answer = script(keys=keys, args=[len(days), size, UNION_MILLISECONDS])
        if int(answer[0]) == 1:
            entries = [(int(answer[i]), int(float(answer[i + 1])), int(float(answer[i + 2]))) for i in range(1, len(answer), 3)]
            entries.sort(key=lambda entry: (-entry[1], -entry[2], entry[0]))
            return entries[:size]
        repaired = [repair_day(days[int(index) - 1]) for index in answer[1:]]
        if not all(repaired):
            return None
        redis.delete(keys[0], keys[1])  # a union made before the repair lacks the repaired days
    return None
