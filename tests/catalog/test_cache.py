"""Cached reads: served from the cache, and fresh as soon as a change is committed."""

import pytest

from apps.catalog import selectors, services
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit_hooks(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the test's transaction never commits) as a real commit would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def test_reads_are_served_from_the_cache(django_assert_num_queries):
    product = ProductFactory()
    selectors.get_product(product_id=product.pk)
    selectors.get_product_by_slug(slug=product.slug)
    selectors.product_page(filters={"q": "product"}, page=1, page_size=20)
    selectors.list_categories()
    selectors.newest_products(limit=8)
    with django_assert_num_queries(0):
        assert selectors.get_product(product_id=product.pk).pk == product.pk
        assert selectors.get_product_by_slug(slug=product.slug).pk == product.pk
        assert selectors.product_page(filters={"q": "product"}, page=1, page_size=20).products[0].pk == product.pk
        assert len(selectors.list_categories()) == 1
        assert len(selectors.newest_products(limit=8)) == 1


def test_a_price_change_is_visible_at_once_in_the_api(api_client, staff_client, commit_hooks):
    product = ProductFactory(price=1000)
    assert api_client.get(f"/api/v1/products/{product.pk}").json()["price"] == 1000
    assert api_client.get("/api/v1/products").json()["results"][0]["price"] == 1000
    with commit_hooks():
        staff_client.patch(f"/api/v1/staff/products/{product.pk}", {"price": 1500}, format="json")
    assert api_client.get(f"/api/v1/products/{product.pk}").json()["price"] == 1500
    assert api_client.get("/api/v1/products").json()["results"][0]["price"] == 1500


def test_a_price_change_is_visible_at_once_on_the_pages(client, commit_hooks):
    product = ProductFactory(price=1000, slug="lamp")
    assert "$10.00" in client.get("/products/lamp/").content.decode()
    assert "$10.00" in client.get("/products/").content.decode()
    assert "$10.00" in client.get("/").content.decode()
    with commit_hooks():
        services.update_product(product_id=product.pk, price=1234)
    for path in ("/products/lamp/", "/products/", "/"):
        html = client.get(path).content.decode()
        assert "$12.34" in html and "$10.00" not in html


def test_stock_adjustment_is_visible_at_once(api_client, commit_hooks):
    product = ProductFactory(stock=5)
    assert api_client.get(f"/api/v1/products/{product.pk}").json()["stock"] == 5
    assert api_client.get("/api/v1/products?in_stock=true").json()["count"] == 1
    with commit_hooks():
        services.adjust_stock(product_id=product.pk, delta=-5, reason="sold elsewhere")
    assert api_client.get(f"/api/v1/products/{product.pk}").json()["stock"] == 0
    assert api_client.get("/api/v1/products?in_stock=true").json()["count"] == 0


def test_deactivation_and_a_new_product_are_visible_at_once(api_client, commit_hooks):
    product = ProductFactory(slug="soon-gone")
    assert api_client.get("/api/v1/products").json()["count"] == 1
    with commit_hooks():
        services.update_product(product_id=product.pk, is_active=False)
        services.create_product(sku="N-1", name="Newcomer", price=100)
    assert [p["name"] for p in api_client.get("/api/v1/products").json()["results"]] == ["Newcomer"]
    assert api_client.get(f"/api/v1/products/{product.pk}").status_code == 404


def test_a_changed_slug_is_followed(client, commit_hooks):
    product = ProductFactory(slug="old-slug")
    assert client.get("/products/old-slug/").status_code == 200
    with commit_hooks():
        services.update_product(product_id=product.pk, slug="new-slug")
    assert client.get("/products/old-slug/").status_code == 404
    assert client.get("/products/new-slug/").status_code == 200


def test_renaming_a_category_refreshes_its_products(api_client, commit_hooks):
    category = CategoryFactory(name="Sound")
    product = ProductFactory(category=category)
    assert api_client.get(f"/api/v1/products/{product.pk}").json()["category"]["name"] == "Sound"
    assert api_client.get("/api/v1/categories").json()[0]["name"] == "Sound"
    with commit_hooks():
        services.update_category(category_id=category.pk, name="Audio", slug=category.slug)
    assert api_client.get(f"/api/v1/products/{product.pk}").json()["category"]["name"] == "Audio"
    assert api_client.get("/api/v1/categories").json()[0]["name"] == "Audio"


def test_invalidation_waits_for_the_commit():
    """Before the commit, other readers still see the committed row; the cache must not be cleared early."""
    product = ProductFactory(price=1000)
    selectors.get_product(product_id=product.pk)
    services.update_product(product_id=product.pk, price=2000)  # on_commit never runs in this test
    assert selectors.get_product(product_id=product.pk).price == 1000


def test_a_copy_stored_by_a_reader_that_raced_a_change_is_never_served():
    product = ProductFactory(price=1000)
    stale_key = selectors._product_key(product.pk)  # a reader read the version before the change...
    selectors.invalidate_product_cache(product_ids=[product.pk])
    from django.core.cache import cache

    cache.set(stale_key, product, 60)  # ...and stores its old copy after the invalidation
    product.price = 1500
    product.save()
    assert selectors.get_product(product_id=product.pk).price == 1500


def test_invalidate_product_cache_works_when_the_version_keys_are_gone():
    from django.core.cache import cache

    product = ProductFactory(price=1000)
    selectors.get_product(product_id=product.pk)
    selectors.product_page(filters={}, page=1, page_size=20)
    cache.delete_many([selectors.GENERATION_KEY, f"catalog:pver:{product.pk}"])
    type(product).objects.filter(pk=product.pk).update(price=3000)
    selectors.invalidate_product_cache(product_ids=[product.pk])
    assert selectors.get_product(product_id=product.pk).price == 3000
    assert selectors.product_page(filters={}, page=1, page_size=20).products[0].price == 3000
    selectors.invalidate_product_cache(product_ids=[product.pk])
    assert selectors.get_product(product_id=product.pk).price == 3000
