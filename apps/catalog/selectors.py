"""Catalog reads, cached through Django's cache API and invalidated as soon as a product changes.

Cache keys (Redis in production, local memory in the embedded default):
- `catalog:gen`: the catalog generation. Every list-like key embeds it (product pages and their
  counts, categories, newest products), so one atomic INCR retires all of them at once.
- `catalog:pver:<id>`: a product's version, embedded in its detail key. A reader that raced a
  change stores its copy under the old version, which nobody reads any more: a stale copy is
  never served, without any lock.
- `catalog:slug:<slug>`: the product id behind a slug, checked against the product when read.
Versions start from the clock (microseconds), so a version key that was evicted or expired comes
back with a value no earlier copy was stored under.
"""

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from apps.catalog.filters import ProductFilter, StorefrontProductFilter
from apps.catalog.models import Category, Product
from apps.core.errors import NotFound, ValidationError

GENERATION_KEY = "catalog:gen"
VERSION_TTL = 24 * 60 * 60
SLUG_MAX_LENGTH = Product._meta.get_field("slug").max_length

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductPage:
    """One page of a product list; the attribute names follow Django's Page for templates."""

    products: list[Product]
    count: int
    number: int
    page_size: int

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.count else 0

    @property
    def end_index(self) -> int:
        return min(self.number * self.page_size, self.count)


def active_products() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).select_related("category")


def _timeout() -> int:
    return settings.CATALOG_CACHE_SECONDS


def _fresh_version() -> int:
    return time.time_ns() // 1000


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, _fresh_version(), timeout=None)
        generation = cache.get(GENERATION_KEY, 0)
    return generation


def _version_key(product_id: int) -> str:
    return f"catalog:pver:{product_id}"


def _product_key(product_id: int, version: int | None = None) -> str:
    # Until a product first changes it has no version key: "0" is safe because its copies live
    # CATALOG_CACHE_SECONDS, far less than a version key (VERSION_TTL).
    if version is None:
        version = cache.get(_version_key(product_id), 0)
    return f"catalog:product:{product_id}:{version}"


# Reads a product's version and the copy filed under it in one round trip (the same two reads).
_READ_CURRENT_COPY = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version)}
"""


def _current_copy(product_id: int) -> tuple[str, Product | None]:
    """The key of the product's current version and the copy cached under it, if any.

    On Redis a script does both reads at once: a cached product read is otherwise little more
    than these two round trips. Other caches (the embedded default) read twice.
    """
    if settings.CACHES["default"]["BACKEND"] != "django_redis.cache.RedisCache":
        key = _product_key(product_id)
        return key, cache.get(key)
    try:
        read = get_redis_connection("default").register_script(_READ_CURRENT_COPY)
        version, copy = [*read(keys=[cache.make_key(_version_key(product_id))], args=[cache.make_key(f"catalog:product:{product_id}:")]), None][:2]
    except RedisError:
        # Redis is down: read the database (the cache's own calls ignore the outage the same way).
        logger.warning("product cache unreachable: reading product %s from the database", product_id, exc_info=True)
        return _product_key(product_id), None
    return _product_key(product_id, int(version)), (None if copy is None else cache.client.decode(copy))


def _bump(key: str, *, timeout: int | None) -> None:
    try:
        cache.incr(key)
    except ValueError:
        if not cache.add(key, _fresh_version(), timeout=timeout):
            cache.incr(key)


def invalidate_product_cache(*, product_ids: Iterable[int]) -> None:
    """Make the next read of these products, and of every list, come from the database.

    Call it after the change is committed (services use transaction.on_commit), so that the
    next reader cannot see the old row.
    """
    for product_id in set(product_ids):
        _bump(_version_key(product_id), timeout=VERSION_TTL)
    _bump(GENERATION_KEY, timeout=None)


def get_product(*, product_id: int) -> Product:
    """An active product by id; NotFound for an unknown or inactive one."""
    key, product = _current_copy(product_id)
    if product is None:
        product = active_products().filter(pk=product_id).first()
        if product is None:
            raise NotFound("This product does not exist or is no longer for sale.")
        cache.set(key, product, timeout=_timeout())
    return product


def get_product_by_slug(*, slug: str) -> Product:
    if len(slug) > SLUG_MAX_LENGTH:
        raise NotFound("This product does not exist or is no longer for sale.")
    slug_key = f"catalog:slug:{slug}"
    product_id = cache.get(slug_key)
    if product_id is not None:
        try:
            product = get_product(product_id=product_id)
        except NotFound:
            product = None
        if product is not None and product.slug == slug:
            return product
    product = active_products().filter(slug=slug).first()
    if product is None:
        raise NotFound("This product does not exist or is no longer for sale.")
    # Only the id is cached here: the product itself is cached by get_product, which reads the
    # version before the row (reading it after could file an old row under a new version).
    cache.set(slug_key, product.pk, timeout=_timeout())
    return product


def list_categories() -> list[Category]:
    key = f"catalog:{_generation()}:categories"
    categories = cache.get(key)
    if categories is None:
        categories = list(Category.objects.order_by("name", "id"))
        cache.set(key, categories, timeout=_timeout())
    return categories


def newest_products(*, limit: int = 8) -> list[Product]:
    key = f"catalog:{_generation()}:newest:{limit}"
    products = cache.get(key)
    if products is None:
        products = list(active_products().order_by("-created_at", "-id")[:limit])
        cache.set(key, products, timeout=_timeout())
    return products


def _signature(cleaned: Mapping[str, Any]) -> str:
    relevant = {name: value for name, value in cleaned.items() if value not in (None, "")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:32]


def product_page(*, filters: Mapping[str, Any], page: int, page_size: int, storefront: bool = False) -> ProductPage:
    """A page of active products matching API.md's list filters (category, q, min_price, ...).

    Bad filter values raise ValidationError. A page past the end raises NotFound, or with
    `storefront` gives the last page instead, and may also sort by popularity (`popular`).
    """
    filterset_class = StorefrontProductFilter if storefront else ProductFilter
    filterset = filterset_class(data=filters, queryset=active_products())
    if not filterset.is_valid():
        raise ValidationError(details={field: [str(m) for m in messages] for field, messages in filterset.errors.items()})
    prefix = f"catalog:{_generation()}:{_signature(filterset.form.cleaned_data)}"
    count_key = f"{prefix}:count"
    page_key = f"{prefix}:page:{page_size}:{page}"

    cached = cache.get_many([count_key, page_key])
    count = cached.get(count_key)
    if count is None:
        count = filterset.qs.count()
        cache.set(count_key, count, timeout=_timeout())
    num_pages = max(1, math.ceil(count / page_size))
    if page > num_pages:
        if not storefront:
            raise NotFound("This page does not exist.", details={"page": page, "num_pages": num_pages})
        page = num_pages
        page_key = f"{prefix}:page:{page_size}:{page}"
        cached = cache.get_many([page_key])
    products = cached.get(page_key)
    if products is None:
        offset = (page - 1) * page_size
        products = list(filterset.qs[offset : offset + page_size]) if count else []
        cache.set(page_key, products, timeout=_timeout())
    return ProductPage(products=products, count=count, number=page, page_size=page_size)
