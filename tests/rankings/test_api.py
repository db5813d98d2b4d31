from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.rankings import selectors, services
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import make_order
from tests.rankings.oracle import expected_top

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/popular"
PRODUCT_KEYS = {"id", "sku", "name", "slug", "description", "price", "currency", "stock", "category", "image_url"}


def _sell(count: int, *, days_back: int = 0):
    user = UserFactory()
    products = [ProductFactory(price=100 + i) for i in range(count)]
    for units, product in enumerate(products, start=1):
        make_order(user=user, lines=[(product, units)], paid_at=timezone.now() - timedelta(days=days_back))
    return products


def test_popular_products_are_ranked_with_the_product_embedded(api_client):
    products = _sell(3)
    services.aggregate_sales()
    response = api_client.get(URL, {"days": 1, "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 1
    assert [(r["rank"], r["product"]["id"], r["quantity_sold"]) for r in body["results"]] == [(1, products[2].pk, 3), (2, products[1].pk, 2)]
    assert set(body["results"][0]) == {"rank", "product", "quantity_sold"}
    assert set(body["results"][0]["product"]) == PRODUCT_KEYS
    assert body["results"][0]["product"]["category"]["slug"] == products[2].category.slug


def test_defaults_are_three_days_and_ten_products(api_client):
    _sell(12, days_back=2)
    _sell(1, days_back=3)
    services.aggregate_sales()
    body = api_client.get(URL).json()
    assert body["days"] == 3
    assert len(body["results"]) == 10
    assert [r["product"]["id"] for r in body["results"]] == [pid for pid, _, _ in expected_top(days=3, today=selectors.local_today())[:10]]
    assert api_client.get(URL, {"days": "", "limit": ""}).json() == body  # an empty field is an absent one, as in a form


def test_needs_no_authentication_but_refuses_a_bad_token_like_the_catalog(api_client):
    assert api_client.get(URL).status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_empty_when_nothing_sold(api_client):
    assert api_client.get(URL, {"days": 30}).json() == {"days": 30, "results": []}


def _queries_for(api_client, params):
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(URL, params)
    assert response.status_code == 200
    return response, [query["sql"] for query in captured.captured_queries]


def test_the_endpoint_reads_no_order_rows_and_a_constant_number_of_queries(api_client):
    _sell(5)
    services.aggregate_sales()
    _, small = _queries_for(api_client, {"days": 3, "limit": 5})

    _sell(40)
    services.aggregate_sales()
    _, large = _queries_for(api_client, {"days": 3, "limit": 50})

    for sql in small + large:
        assert "orders_order" not in sql and "rankings_rankedorder" not in sql
    assert len(small) == len(large) == 1  # the published list comes from Redis; one product query
    assert "catalog_product" in large[0]


def test_without_a_published_list_it_falls_back_to_the_daily_table_without_orders(api_client):
    products = _sell(3)
    services.aggregate_sales()
    cache.clear()
    response, queries = _queries_for(api_client, {"days": 3, "limit": 5})
    assert [r["product"]["id"] for r in response.json()["results"]] == [p.pk for p in reversed(products)]
    assert len(queries) == 2
    assert "rankings_productsalesdaily" in queries[0]
    assert not any("orders_order" in sql for sql in queries)
    _, again = _queries_for(api_client, {"days": 3, "limit": 5})
    assert len(again) == 1  # the fallback result was kept


def test_an_inactive_product_does_not_appear(api_client):
    products = _sell(3)
    services.aggregate_sales()
    products[2].is_active = False
    products[2].save()
    results = api_client.get(URL, {"days": 1}).json()["results"]
    assert [(r["rank"], r["product"]["id"]) for r in results] == [(1, products[1].pk), (2, products[0].pk)]
    response, queries = _queries_for(api_client, {"days": 1, "limit": 1})
    assert [(r["rank"], r["product"]["id"]) for r in response.json()["results"]] == [(1, products[1].pk)]
    assert len(queries) == 2  # the first entry turned out inactive: one more query for its replacement


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": "0"}, "days"),
        ({"days": "31"}, "days"),
        ({"days": "-1"}, "days"),
        ({"days": "abc"}, "days"),
        ({"days": "3.0"}, "days"),
        ({"days": "1e1"}, "days"),
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"limit": "99999999999999999999"}, "limit"),
    ],
)
def test_bad_parameters_are_a_validation_error(api_client, params, field):
    _sell(1)
    services.aggregate_sales()
    published = cache.get(selectors.top_list_key(days=3, today=selectors.local_today()))
    response = api_client.get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]) == [field]
    assert cache.get(selectors.top_list_key(days=3, today=selectors.local_today())) == published


def test_limits_at_the_edges_are_accepted(api_client):
    _sell(2)
    services.aggregate_sales()
    assert api_client.get(URL, {"days": 30, "limit": 50}).status_code == 200
    assert len(api_client.get(URL, {"days": 1, "limit": 1}).json()["results"]) == 1


def test_the_path_is_not_taken_for_a_product_id(api_client):
    """/products/popular must not be swallowed by /products/<id>."""
    assert "results" in api_client.get(URL).json()


def test_the_schema_documents_the_endpoint(api_client):
    schema = api_client.get("/api/v1/schema", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/products/popular"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"days", "limit"}
    assert {"200", "400"} <= set(operation["responses"])
