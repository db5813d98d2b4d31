"""A campaign as a claim reads it, cached in Redis: a claim answered by the gate costs no database query.

A claim needs the campaign's window (starts_at, ends_at) to refuse it before it opens or after it
ends, its creation time (the gate's key), its quantity and validity (to build the gate or issue),
and its terms and name (the answer). Only the window and the name ever change, through
services.update_coupon; issued_quantity changes with every claim and is not cached: it is loaded
from the database when read (after an issue, from the row just updated).

Entries are forgotten at once and again after the COMMIT of every change (services.update_coupon, and receivers for
saves and deletes made elsewhere, such as the admin's delete). A reader that missed stores what it
read only if the campaign's generation is unchanged since before its read (a script checks and
sets), so a read racing a change cannot put the old window back. ENTRY_SECONDS bounds staleness
should a forget not reach Redis. Redis unreachable, or no Redis (the embedded default): the
database answers every claim, as without the cache.
"""

import json
import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.core.transactions import after_commit
from apps.coupons.models import Coupon

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 300
GENERATION_SECONDS = 2 * ENTRY_SECONDS
_DATETIMES = ("starts_at", "ends_at", "created_at")
CACHED_FIELDS = (
    "id", "name", "discount_type", "discount_value", "max_discount", "min_order_amount",
    "total_quantity", "valid_days", *_DATETIMES,
)  # fmt: skip

_STORE_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def enabled() -> bool:
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def _entry_key(coupon_id: int) -> str:
    return cache.make_key(f"coupons:campaign:{coupon_id}")


def _generation_key(coupon_id: int) -> str:
    return cache.make_key(f"coupons:campaign-gen:{coupon_id}")


def get_campaign(coupon_id: int) -> Coupon | None:
    """The campaign (issued_quantity deferred when cached), or None when there is no such campaign."""
    if not enabled():
        return Coupon.objects.filter(pk=coupon_id).first()
    try:
        client = get_redis_connection("default")
        entry, generation = client.mget([_entry_key(coupon_id), _generation_key(coupon_id)])
    except RedisError:
        logger.warning("Campaign cache unreachable; reading coupon %s from the database", coupon_id, exc_info=True)
        return Coupon.objects.filter(pk=coupon_id).first()
    if entry is not None:
        return _campaign_from(json.loads(entry))
    coupon = Coupon.objects.filter(pk=coupon_id).first()
    if coupon is not None:
        _store(client, coupon, generation=generation.decode() if generation else "")
    return coupon


def _store(client, coupon: Coupon, *, generation: str) -> None:
    entry = {field: getattr(coupon, field) for field in CACHED_FIELDS}
    entry.update({field: entry[field].isoformat() if entry[field] else None for field in _DATETIMES})
    try:
        client.register_script(_STORE_IF_UNCHANGED)(
            keys=[_entry_key(coupon.pk), _generation_key(coupon.pk)], args=[generation, json.dumps(entry), ENTRY_SECONDS]
        )
    except RedisError:
        logger.warning("Campaign cache unreachable; coupon %s is not cached", coupon.pk, exc_info=True)


def forget(coupon_id: int) -> None:
    """Drop the campaign's entry now and turn away stores of reads made before."""
    if not enabled():
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=True)
        pipe.set(_generation_key(coupon_id), uuid.uuid4().hex, ex=GENERATION_SECONDS)
        pipe.delete(_entry_key(coupon_id))
        pipe.execute()
    except RedisError:
        logger.error("Could not forget cached campaign %s; it may be read for %d more seconds", coupon_id, ENTRY_SECONDS, exc_info=True)


def forget_after_commit(coupon_id: int) -> None:
    """`forget` now (later reads in this transaction miss) and again after the COMMIT (for readers who raced it)."""
    if enabled():
        forget(coupon_id)
        if connection.in_atomic_block:
            after_commit(forget, coupon_id)


def _campaign_from(entry: dict) -> Coupon:
    entry.update({field: datetime.fromisoformat(entry[field]) if entry[field] else None for field in _DATETIMES})
    fields = [field.attname for field in Coupon._meta.concrete_fields if field.attname in entry]
    return Coupon.from_db(DEFAULT_DB_ALIAS, fields, [entry[name] for name in fields])
