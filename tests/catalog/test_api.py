import pytest
from django.urls import Resolver404, resolve
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.catalog.models import Product
from apps.outbox.models import OutboxEvent
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCT_FIELDS = {"id", "sku", "name", "slug", "description", "price", "currency", "stock", "category", "image_url"}


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


# --- Categories ------------------------------------------------------------------------------


def test_categories_lists_every_category_by_name(api_client):
    CategoryFactory(name="Toys", slug="toys")
    CategoryFactory(name="Audio", slug="audio")
    response = api_client.get("/api/v1/categories")
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()] == ["audio", "toys"]
    assert set(response.json()[0]) == {"id", "name", "slug"}


# --- Product list ----------------------------------------------------------------------------


def test_product_list_is_paginated_and_shows_only_active_products(api_client):
    ProductFactory.create_batch(3)
    ProductFactory(is_active=False)
    response = api_client.get("/api/v1/products")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    assert all(p["id"] != Product.objects.get(is_active=False).pk for p in body["results"])


def test_product_output_has_exactly_the_contract_fields(api_client, settings):
    category = CategoryFactory(name="Audio", slug="audio")
    product = ProductFactory(sku="AUD-1", name="Earbuds", slug="earbuds", price=7999, stock=4, category=category, image_url="")
    item = api_client.get("/api/v1/products").json()["results"][0]
    assert set(item) == PRODUCT_FIELDS
    assert item == {
        "id": product.pk,
        "sku": "AUD-1",
        "name": "Earbuds",
        "slug": "earbuds",
        "description": "A fine product.",
        "price": 7999,
        "currency": settings.CURRENCY,
        "stock": 4,
        "category": {"id": category.pk, "name": "Audio", "slug": "audio"},
        "image_url": None,
    }


def test_image_url_when_set_and_category_null(api_client):
    product = ProductFactory(image_url="https://img.example.com/a.jpg", category=None)
    body = api_client.get(f"/api/v1/products/{product.pk}").json()
    assert body["image_url"] == "https://img.example.com/a.jpg"
    assert body["category"] is None


def test_pagination_pages_and_links_keep_the_filters(api_client):
    category = CategoryFactory(slug="audio")
    ProductFactory.create_batch(5, category=category)
    ProductFactory.create_batch(2)
    first = api_client.get("/api/v1/products?category=audio&page_size=2").json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["previous"] is None
    assert "category=audio" in first["next"] and "page=2" in first["next"] and "page_size=2" in first["next"]
    second = api_client.get(first["next"]).json()
    assert "page=" not in second["previous"] and "category=audio" in second["previous"]
    third = api_client.get(second["next"]).json()
    assert third["next"] is None and len(third["results"]) == 1
    seen = [p["id"] for page in (first, second, third) for p in page["results"]]
    assert len(seen) == len(set(seen)) == 5


def test_page_size_above_the_maximum_is_clamped_to_100(api_client):
    ProductFactory.create_batch(101)
    body = api_client.get("/api/v1/products?page_size=1000").json()
    assert body["count"] == 101
    assert len(body["results"]) == 100
    assert "page=2" in body["next"]


def test_default_page_size_is_20(api_client):
    ProductFactory.create_batch(21)
    assert len(api_client.get("/api/v1/products").json()["results"]) == 20


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("min_price=x", "min_price"),
        ("max_price=1.5", "max_price"),
        ("min_price=-1", "min_price"),
        ("max_price=99999999999999999999", "max_price"),
        ("in_stock=maybe", "in_stock"),
        ("ordering=stock", "ordering"),
        ("ordering=-newest", "ordering"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_bad_list_parameters_are_400_validation_error(api_client, query, field):
    ProductFactory()
    error = _error(api_client.get(f"/api/v1/products?{query}"), 400, "VALIDATION_ERROR")
    assert field in error["details"]
    assert isinstance(error["details"][field], list)


def test_page_past_the_end_is_404(api_client):
    ProductFactory.create_batch(3)
    _error(api_client.get("/api/v1/products?page=2"), 404, "NOT_FOUND")
    _error(api_client.get("/api/v1/products?page=99999999999999999999"), 404, "NOT_FOUND")


def test_empty_list_has_a_first_page(api_client):
    body = api_client.get("/api/v1/products?category=nothing-here").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_filter_by_category_slug(api_client):
    audio, books = CategoryFactory(slug="audio"), CategoryFactory(slug="books")
    wanted = ProductFactory(category=audio)
    ProductFactory(category=books)
    ProductFactory(category=None)
    results = api_client.get("/api/v1/products?category=audio").json()["results"]
    assert [p["id"] for p in results] == [wanted.pk]


def test_search_matches_name_or_description_case_insensitively(api_client):
    by_name = ProductFactory(name="Wireless Earbuds", description="Small.")
    by_description = ProductFactory(name="Buds Pro", description="Truly WIRELESS sound.")
    ProductFactory(name="Kettle", description="Boils water.")
    results = api_client.get("/api/v1/products?q=wireless").json()["results"]
    assert {p["id"] for p in results} == {by_name.pk, by_description.pk}


def test_price_range_is_inclusive(api_client):
    cheap, middle, dear = ProductFactory(price=100), ProductFactory(price=500), ProductFactory(price=900)
    results = api_client.get("/api/v1/products?min_price=500&max_price=900").json()["results"]
    assert {p["id"] for p in results} == {middle.pk, dear.pk}
    results = api_client.get("/api/v1/products?max_price=100").json()["results"]
    assert [p["id"] for p in results] == [cheap.pk]


def test_in_stock_filter(api_client):
    available = ProductFactory(stock=1)
    sold_out = ProductFactory(stock=0)
    assert [p["id"] for p in api_client.get("/api/v1/products?in_stock=true").json()["results"]] == [available.pk]
    every = {p["id"] for p in api_client.get("/api/v1/products?in_stock=false").json()["results"]}
    assert every == {available.pk, sold_out.pk}


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("price", ["b", "c", "a"]),
        ("-price", ["a", "c", "b"]),
        ("name", ["a", "b", "c"]),
        ("-name", ["c", "b", "a"]),
        ("newest", ["c", "b", "a"]),
        ("", ["c", "b", "a"]),
    ],
)
def test_ordering(api_client, ordering, expected):
    ProductFactory(name="a", price=300)
    ProductFactory(name="b", price=100)
    ProductFactory(name="c", price=200)
    results = api_client.get(f"/api/v1/products?ordering={ordering}").json()["results"]
    assert [p["name"] for p in results] == expected


def test_equal_prices_never_repeat_or_skip_across_pages(api_client):
    ProductFactory.create_batch(7, price=500)
    ids = []
    for page in (1, 2, 3, 4):
        ids += [p["id"] for p in api_client.get(f"/api/v1/products?ordering=price&page_size=2&page={page}").json()["results"]]
    assert sorted(ids) == sorted(Product.objects.values_list("pk", flat=True))


# --- Product detail --------------------------------------------------------------------------


def test_product_detail(api_client):
    product = ProductFactory()
    response = api_client.get(f"/api/v1/products/{product.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == product.pk
    assert set(response.json()) == PRODUCT_FIELDS


def test_inactive_or_unknown_product_is_404(api_client):
    inactive = ProductFactory(is_active=False)
    _error(api_client.get(f"/api/v1/products/{inactive.pk}"), 404, "NOT_FOUND")
    _error(api_client.get("/api/v1/products/987654321"), 404, "NOT_FOUND")
    _error(api_client.get("/api/v1/products/not-a-number"), 404, "NOT_FOUND")
    _error(api_client.get("/api/v1/products/99999999999999999999999"), 404, "NOT_FOUND")


def test_products_popular_is_not_claimed_by_the_catalog_detail_route():
    try:
        match = resolve("/api/v1/products/popular")
    except Resolver404:
        return
    assert match.func.__module__ != "apps.catalog.api"


def test_catalog_is_public_but_a_bad_token_is_still_refused(api_client):
    ProductFactory()
    assert api_client.get("/api/v1/products").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    _error(api_client.get("/api/v1/products"), 401, "INVALID_CREDENTIALS")


def test_catalog_endpoints_are_read_only(api_client):
    product = ProductFactory()
    _error(api_client.post("/api/v1/products", {}, format="json"), 405, "METHOD_NOT_ALLOWED")
    _error(api_client.delete(f"/api/v1/products/{product.pk}"), 405, "METHOD_NOT_ALLOWED")
    assert Product.objects.filter(pk=product.pk).exists()


# --- Staff: create ---------------------------------------------------------------------------

NEW_PRODUCT = {"sku": "NEW-1", "name": "Brand New Kettle", "price": 2999, "stock": 12}


def test_staff_creates_a_product(staff_client):
    category = CategoryFactory()
    response = staff_client.post(
        "/api/v1/staff/products", {**NEW_PRODUCT, "category_id": category.pk, "description": "Boils fast."}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == PRODUCT_FIELDS
    assert body["slug"] == "brand-new-kettle"
    assert body["category"]["id"] == category.pk
    product = Product.objects.get(sku="NEW-1")
    assert (product.price, product.stock, product.description, product.is_active) == (2999, 12, "Boils fast.", True)


def test_staff_create_with_a_token(staff_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    assert client.post("/api/v1/staff/products", NEW_PRODUCT, format="json").status_code == 201


def test_a_second_product_with_the_same_name_gets_its_own_slug(staff_client):
    staff_client.post("/api/v1/staff/products", NEW_PRODUCT, format="json")
    body = staff_client.post("/api/v1/staff/products", {**NEW_PRODUCT, "sku": "NEW-2"}, format="json").json()
    assert body["slug"] == "brand-new-kettle-new-2"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"sku": None}, "sku"),
        ({"name": ""}, "name"),
        ({"price": -1}, "price"),
        ({"price": "ten"}, "price"),
        ({"price": 2_147_483_648}, "price"),
        ({"stock": -5}, "stock"),
        ({"category_id": 987654}, "category_id"),
        ({"is_active": False}, "is_active"),
    ],
)
def test_staff_create_validation_errors_change_nothing(staff_client, change, field):
    data = {**NEW_PRODUCT, **change}
    data = {key: value for key, value in data.items() if value is not None}
    error = _error(staff_client.post("/api/v1/staff/products", data, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"]
    assert not Product.objects.exists()


def test_staff_create_duplicate_sku_is_400_and_keeps_the_first(staff_client):
    ProductFactory(sku="NEW-1", name="Original")
    error = _error(staff_client.post("/api/v1/staff/products", NEW_PRODUCT, format="json"), 400, "VALIDATION_ERROR")
    assert "sku" in error["details"]
    assert list(Product.objects.values_list("name", flat=True)) == ["Original"]


def test_staff_create_with_a_body_that_is_not_json(staff_client):
    response = staff_client.generic("POST", "/api/v1/staff/products", "{not json", content_type="application/json")
    _error(response, 400, "VALIDATION_ERROR")
    response = staff_client.post("/api/v1/staff/products", "sku=1", content_type="application/x-www-form-urlencoded")
    _error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert not Product.objects.exists()


def test_staff_endpoints_refuse_shoppers_and_anonymous(auth_client, api_client):
    product = ProductFactory(price=100, stock=5)
    for client, status, code in ((auth_client, 403, "PERMISSION_DENIED"), (api_client, 401, "NOT_AUTHENTICATED")):
        _error(client.post("/api/v1/staff/products", NEW_PRODUCT, format="json"), status, code)
        _error(client.patch(f"/api/v1/staff/products/{product.pk}", {"price": 1}, format="json"), status, code)
        _error(client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": 1, "reason": "x"}, format="json"), status, code)
    product.refresh_from_db()
    assert (product.price, product.stock) == (100, 5)
    assert Product.objects.count() == 1


# --- Staff: update ---------------------------------------------------------------------------


def test_staff_updates_some_fields(staff_client):
    product = ProductFactory(name="Old", price=100, description="d", stock=7)
    response = staff_client.patch(f"/api/v1/staff/products/{product.pk}", {"name": "New", "price": 250}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["price"], response.json()["stock"]) == ("New", 250, 7)
    product.refresh_from_db()
    assert (product.name, product.price, product.description, product.stock) == ("New", 250, "d", 7)


def test_staff_deactivates_a_product_and_it_leaves_the_catalog(staff_client, api_client, django_capture_on_commit_callbacks):
    product = ProductFactory()
    assert api_client.get(f"/api/v1/products/{product.pk}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"/api/v1/staff/products/{product.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200
    _error(api_client.get(f"/api/v1/products/{product.pk}"), 404, "NOT_FOUND")
    assert api_client.get("/api/v1/products").json()["count"] == 0


@pytest.mark.parametrize(
    "data, field",
    [({"price": -1}, "price"), ({"name": ""}, "name"), ({"stock": 100}, "stock"), ({"is_active": "perhaps"}, "is_active")],
)
def test_staff_update_validation_errors_change_nothing(staff_client, data, field):
    product = ProductFactory(name="Same", price=100, stock=3)
    error = _error(staff_client.patch(f"/api/v1/staff/products/{product.pk}", data, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"]
    product.refresh_from_db()
    assert (product.name, product.price, product.stock, product.is_active) == ("Same", 100, 3, True)


def test_staff_update_unknown_product_is_404(staff_client):
    _error(staff_client.patch("/api/v1/staff/products/987654", {"price": 1}, format="json"), 404, "NOT_FOUND")
    assert not Product.objects.exists()


# --- Staff: stock ----------------------------------------------------------------------------


def test_staff_adds_and_removes_stock(staff_client):
    product = ProductFactory(stock=10)
    response = staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": 5, "reason": "delivery"}, format="json")
    assert response.status_code == 200
    assert response.json()["stock"] == 15
    response = staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": -15, "reason": "recall"}, format="json")
    assert response.json()["stock"] == 0
    product.refresh_from_db()
    assert product.stock == 0
    events = OutboxEvent.objects.filter(type="product.stock_adjusted").order_by("id")
    assert [(e.aggregate_type, e.aggregate_id) for e in events] == [("catalog.product", str(product.pk))] * 2
    assert events[0].payload == {
        "product_id": product.pk, "sku": product.sku, "delta": 5, "stock": 15, "reason": "delivery", "actor_id": staff_client.user.pk,
    }
    assert events[1].payload["stock"] == 0


def test_stock_below_zero_is_409_out_of_stock_and_nothing_changes(staff_client):
    product = ProductFactory(stock=3)
    response = staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": -4, "reason": "damaged"}, format="json")
    error = _error(response, 409, "OUT_OF_STOCK")
    assert error["details"] == {"product_id": product.pk, "requested": 4, "available": 3}
    product.refresh_from_db()
    assert product.stock == 3
    assert not OutboxEvent.objects.exists()


def test_stock_adjustment_works_for_an_inactive_product(staff_client):
    product = ProductFactory(stock=0, is_active=False)
    response = staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": 2, "reason": "found"}, format="json")
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.stock == 2


@pytest.mark.parametrize(
    "data, field",
    [
        ({"delta": 0, "reason": "nothing"}, "delta"),
        ({"delta": "many", "reason": "x"}, "delta"),
        ({"delta": 1.5, "reason": "x"}, "delta"),
        ({"reason": "x"}, "delta"),
        ({"delta": 1}, "reason"),
        ({"delta": 1, "reason": ""}, "reason"),
        ({"delta": 2_147_483_648, "reason": "x"}, "delta"),
        ({"delta": 1, "reason": "x", "stock": 5}, "stock"),
    ],
)
def test_stock_adjustment_validation_errors_change_nothing(staff_client, data, field):
    product = ProductFactory(stock=3)
    error = _error(staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", data, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"]
    product.refresh_from_db()
    assert product.stock == 3
    assert not OutboxEvent.objects.exists()


def test_stock_cannot_overflow_the_column(staff_client):
    product = ProductFactory(stock=2_147_483_000)
    response = staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": 1000, "reason": "x"}, format="json")
    _error(response, 400, "VALIDATION_ERROR")
    product.refresh_from_db()
    assert product.stock == 2_147_483_000


def test_stock_adjustment_of_an_unknown_product_is_404(staff_client):
    _error(staff_client.post("/api/v1/staff/products/987654/stock", {"delta": 1, "reason": "x"}, format="json"), 404, "NOT_FOUND")
    huge = "99999999999999999999999"
    _error(staff_client.post(f"/api/v1/staff/products/{huge}/stock", {"delta": 1, "reason": "x"}, format="json"), 404, "NOT_FOUND")
    _error(staff_client.patch(f"/api/v1/staff/products/{huge}", {"price": 1}, format="json"), 404, "NOT_FOUND")
