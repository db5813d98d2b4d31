"""Sold out, answered from Redis: a checkout for a product the database has run out of is refused without a transaction.

The database stays the truth; Redis only remembers "this product was at 0 stock". The gate is
built so that it can only ever be missing (a database trip, then OUT_OF_STOCK from the database),
never wrong for long:

- When an order takes the last unit, after its commit, `note_sold_out` reads the stock again and
  marks the product sold out only if it is still 0 *and* no increase happened meanwhile: every
  increase (restock, cancel, failed or expired payment) bumps the product's generation in Redis
  after its commit and drops the mark, and the mark is set by a script only if the generation is
  the one read before the stock was. So an increase is never hidden by a mark set late.
- The mark lapses after STOCK_GATE_TTL_SECONDS, in case an increase could not reach Redis (Redis
  was down for that moment): the only way it can outlive an increase, and only for that long.
- A Redis that forgets (flush, eviction, restart) simply has no marks: checkouts go to the database.

Without Redis (the embedded default) or with STOCK_GATE off, nothing is marked and nothing refused here.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.catalog.models import Product
from apps.core.errors import OutOfStock

logger = logging.getLogger(__name__)

# Sets the mark only if the product's generation is still the one read before the stock was.
_MARK_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


def enabled() -> bool:
    return bool(settings.STOCK_GATE and settings.REDIS_URL)


def _mark_key(product_id: int) -> str:
    return cache.make_key(f"stock-gate:sold-out:{product_id}")


def _generation_key(product_id: int) -> str:
    return cache.make_key(f"stock-gate:generation:{product_id}")


def sold_out_among(product_ids: Iterable[int]) -> list[int]:
    """The products Redis knows to be sold out (one round trip); [] when it knows nothing or is unreachable."""
    ids = sorted(set(product_ids))
    if not ids or not enabled():
        return []
    try:
        marks = get_redis_connection("default").mget([_mark_key(product_id) for product_id in ids])
    except RedisError:
        logger.warning("stock gate unreachable: checking stock in the database", exc_info=True)
        return []
    return [product_id for product_id, mark in zip(ids, marks, strict=True) if mark is not None]


def refuse_sold_out(product_ids: Iterable[int], *, requested: dict[int, int]) -> None:
    """Raise OutOfStock for the first product Redis knows to be sold out, as the database would."""
    sold_out = sold_out_among(product_ids)
    if sold_out:
        product_id = sold_out[0]
        raise OutOfStock(
            "This product is sold out.",
            details={"product_id": product_id, "requested": requested.get(product_id, 0), "available": 0},
        )


def note_sold_out(product_ids: Iterable[int]) -> None:
    """After a commit that took the last units of these products: mark those still at 0 (see the module docstring)."""
    ids = sorted(set(product_ids))
    if not ids or not enabled():
        return
    try:
        client = get_redis_connection("default")
        generations = client.mget([_generation_key(product_id) for product_id in ids])
        still_empty = set(Product.objects.filter(pk__in=ids, stock=0).values_list("pk", flat=True))
        mark = client.register_script(_MARK_IF_UNCHANGED)
        ttl_ms = int(settings.STOCK_GATE_TTL_SECONDS * 1000)
        for product_id, generation in zip(ids, generations, strict=True):
            if product_id in still_empty:
                seen = generation.decode() if generation is not None else ""
                mark(keys=[_mark_key(product_id), _generation_key(product_id)], args=[seen, 1, ttl_ms])
    except RedisError:
        logger.warning("stock gate: could not mark sold-out products %s", ids, exc_info=True)


def reopen(product_ids: Iterable[int]) -> None:
    """After a commit that added stock to these products: bump their generation and drop their marks."""
    ids = sorted(set(product_ids))
    if not ids or not enabled():
        return
    try:
        pipeline = get_redis_connection("default").pipeline(transaction=True)
        for product_id in ids:
            pipeline.incr(_generation_key(product_id))
            pipeline.delete(_mark_key(product_id))
        pipeline.execute()
    except RedisError:
        logger.warning("stock gate: could not reopen products %s (their marks lapse by themselves)", ids, exc_info=True)
