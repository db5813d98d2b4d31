"""A cached product read costs one Redis round trip: the version and the copy filed under it."""

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection

from apps.catalog import selectors
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_commands(monkeypatch):
    client = get_redis_connection("default")
    real = client.execute_command
    commands = []

    def recording(*args, **kwargs):
        commands.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", recording)
    return commands


def test_a_warm_product_read_is_one_round_trip(redis_commands, django_assert_num_queries):
    product = ProductFactory(price=1000)
    selectors.get_product(product_id=product.pk)  # fills the cache
    redis_commands.clear()
    with django_assert_num_queries(0):
        assert selectors.get_product(product_id=product.pk).price == 1000
    assert redis_commands == ["EVALSHA"]


def test_the_script_reads_the_copy_of_the_current_version_only():
    product = ProductFactory(price=1000)
    selectors.get_product(product_id=product.pk)
    selectors.invalidate_product_cache(product_ids=[product.pk])  # version 0 -> a clock-based one
    cache.set(selectors._product_key(product.pk, 0), "a copy filed under the old version", 60)
    type(product).objects.filter(pk=product.pk).update(price=1500)
    assert selectors.get_product(product_id=product.pk).price == 1500
    assert cache.get(selectors._product_key(product.pk)).price == 1500  # filed under the new version
    assert selectors.get_product(product_id=product.pk).price == 1500


def test_other_caches_read_the_version_and_the_copy_in_two_steps(settings, django_assert_num_queries):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "round-trip-test"}}
    product = ProductFactory(price=1000)
    selectors.get_product(product_id=product.pk)
    with django_assert_num_queries(0):
        assert selectors.get_product(product_id=product.pk).price == 1000
    selectors.invalidate_product_cache(product_ids=[product.pk])
    type(product).objects.filter(pk=product.pk).update(price=1500)
    assert selectors.get_product(product_id=product.pk).price == 1500
