"""The Redis gate in front of coupon issuing: answers "sold out" and "already issued" from Redis.

One hash per campaign holds `total`, `issued` (slots taken), an optional sticky `sold_out` flag and
one `u:<user id>` field per user holding or claiming a coupon. A single Lua script checks and
reserves atomically, so a rush of requests for a sold-out campaign never reaches the database.

The database stays the truth. The gate is built from it when missing (after a flush, an eviction
or its expiry) and expires after COUPON_GATE_TTL_SECONDS, so any drift heals by itself. Drift can
only undercount (a reservation made in an older copy of the gate), which lets a request through to
the database's guarded UPDATE: it never refuses a coupon the database could still issue, except
for a reservation orphaned by a crashed process, which lasts until the gate expires.
"""

import enum
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.coupons.models import Coupon, UserCoupon

logger = logging.getLogger(__name__)

BUILD_LOCK_MS = 5_000
_BUILD_CHUNK = 1_000

_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[1], 'sold_out') == 1 then return 3 end
if tonumber(redis.call('HGET', KEYS[1], 'issued')) >= tonumber(redis.call('HGET', KEYS[1], 'total')) then return 3 end
redis.call('HSET', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], 'issued', 1)
return 1
"""

_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'issued', -1) end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'sold_out', 1) end
return 1
"""

# Publishes a fully built copy atomically, unless another builder got there first.
_INSTALL = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[2])
  return 0
end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Outcome(enum.Enum):
    RESERVED = "reserved"
    ALREADY_ISSUED = "already_issued"
    SOLD_OUT = "sold_out"
    UNAVAILABLE = "unavailable"  # no usable gate right now: the database decides alone


_CODES = {1: Outcome.RESERVED, 2: Outcome.ALREADY_ISSUED, 3: Outcome.SOLD_OUT}


def enabled() -> bool:
    return bool(settings.COUPON_REDIS_GATE and settings.REDIS_URL)


def gate_key(coupon: Coupon) -> str:
    """The campaign's key, under the cache's prefix (so a cache flush drops it too).

    The campaign's creation time is part of the key, so a gate left behind by a deleted campaign
    can never be mistaken for a new campaign that reuses its id.
    """
    version = int(coupon.created_at.timestamp() * 1_000_000)
    return cache.make_key(f"coupon-gate:{{{coupon.pk}:{version}}}")


def _user_field(user_id: int) -> str:
    return f"u:{user_id}"


def reserve(*, coupon: Coupon, user_id: int) -> Outcome:
    """Take a slot for the user, or say why not; builds the gate from the database when missing."""
    try:
        client = get_redis_connection("default")
        key = gate_key(coupon)
        script = client.register_script(_RESERVE)
        code = script(keys=[key], args=[_user_field(user_id)])
        if code == 0:
            if not _build(client=client, coupon=coupon, key=key):
                return Outcome.UNAVAILABLE
            code = script(keys=[key], args=[_user_field(user_id)])
        return _CODES.get(code, Outcome.UNAVAILABLE)
    except RedisError:
        logger.warning("Coupon gate unreachable; issuing coupon %s from the database alone", coupon.pk, exc_info=True)
        return Outcome.UNAVAILABLE


def release(*, coupon: Coupon, user_id: int, sold_out: bool = False) -> None:
    """Give back a reservation whose database step failed; `sold_out` records what the database said."""
    try:
        client = get_redis_connection("default")
        client.register_script(_RELEASE)(keys=[gate_key(coupon)], args=[_user_field(user_id), "1" if sold_out else "0"])
    except RedisError:
        logger.warning("Could not release coupon %s gate slot of user %s; it heals when the gate expires", coupon.pk, user_id, exc_info=True)


def _build(*, client, coupon: Coupon, key: str) -> bool:
    """Build the gate from the database under a short lock; False if someone else is building it."""
    token = uuid.uuid4().hex
    lock_key = f"{key}:lock"
    if not client.set(lock_key, token, nx=True, px=BUILD_LOCK_MS):
        return False
    try:
        staging_key = f"{key}:build:{token}"
        user_ids = list(UserCoupon.objects.filter(coupon_id=coupon.pk).values_list("user_id", flat=True))
        pipe = client.pipeline(transaction=False)
        pipe.hset(staging_key, mapping={"total": coupon.total_quantity, "issued": len(user_ids)})
        for start in range(0, len(user_ids), _BUILD_CHUNK):
            pipe.hset(staging_key, mapping={_user_field(uid): 1 for uid in user_ids[start : start + _BUILD_CHUNK]})
        pipe.pexpire(staging_key, BUILD_LOCK_MS)
        pipe.execute()
        client.register_script(_INSTALL)(keys=[key, staging_key], args=[settings.COUPON_GATE_TTL_SECONDS * 1000])
        return True
    finally:
        client.register_script(_UNLOCK)(keys=[lock_key], args=[token])
