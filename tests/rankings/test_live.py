"""The per-day Redis sets: repaired from the daily table after a flush, never moved backwards by late writes,
and the embedded default (no Redis) summing the table instead."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.rankings import live, selectors
from apps.rankings.models import ProductSalesDaily
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import make_order
from tests.rankings.oracle import expected_top

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_redis_flush_is_repaired_from_the_daily_table():
    user, products = UserFactory(), [ProductFactory(price=100 + i) for i in range(3)]
    for units, product in enumerate(products, start=1):
        make_order(user=user, lines=[(product, units)], paid_at=timezone.now())
    today = selectors.local_today()
    before = selectors.top_list(days=3)
    assert before == expected_top(days=3, today=today) != []

    live.client().flushdb()
    make_order(user=user, lines=[(products[0], 5)], paid_at=timezone.now())  # lands on a day not built yet

    with CaptureQueriesContext(connection) as repair:
        after = selectors.top_list(days=3)
    assert after == expected_top(days=3, today=today)
    assert after[0] == (products[0].pk, 6, 6 * products[0].price)
    assert len(repair.captured_queries) == 3  # one read of the table per day of the window
    assert all(live.client().exists(live._key(today - timedelta(days=back), "built")) for back in range(3))
    with CaptureQueriesContext(connection) as built:
        assert selectors.top_list(days=3) == after
    assert built.captured_queries == []


def test_late_or_repeated_writes_never_move_a_total_backwards():
    product = ProductFactory(price=100)
    today = selectors.local_today()
    live.write_day(today, [(product.pk, 5, 500, 7)])
    live.write_day(today, [(product.pk, 3, 300, 6)])  # an older version arriving late
    live.write_day(today, [(product.pk, 5, 500, 7)])  # the same one again
    client = live.client()
    assert (client.zscore(live._key(today, "units"), product.pk), client.zscore(live._key(today, "revenue"), product.pk)) == (5, 500)
    live.write_day(today, [(product.pk, 4, 400, 8)])  # a cancellation's newer total
    assert client.zscore(live._key(today, "units"), product.pk) == 4


def test_a_day_another_process_is_repairing_is_read_from_the_table():
    product = ProductFactory(price=100)
    make_order(user=UserFactory(), lines=[(product, 2)], paid_at=timezone.now())
    today = selectors.local_today()
    live.client().set(live._key(today, "repairing"), 1, ex=10)
    assert selectors.top_list(days=1) == [(product.pk, 2, 200)]
    assert not live.client().exists(live._key(today, "built"))


def test_without_redis_the_daily_table_is_summed_and_kept_a_second(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert live.client() is None
    product = ProductFactory(price=100)
    make_order(user=UserFactory(), lines=[(product, 2)], paid_at=timezone.now())
    assert selectors.top_list(days=3) == [(product.pk, 2, 200)]
    ProductSalesDaily.objects.update(units_sold=9)
    assert selectors.top_list(days=3) == [(product.pk, 2, 200)]  # the cached second
    cache.clear()
    assert selectors.top_list(days=3) == [(product.pk, 9, 200)]
