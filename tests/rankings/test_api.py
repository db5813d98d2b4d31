"""GET /api/v1/products/popular and GET /api/v1/products/rankings (API.md), read from Redis and the totals tables."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.rankings import selectors
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import make_order
from tests.rankings.oracle import expected_calendar, expected_top

pytestmark = pytest.mark.django_db(transaction=True)

POPULAR = "/api/v1/products/popular"
RANKINGS = "/api/v1/products/rankings"
PRODUCT_KEYS = {"id", "sku", "name", "slug", "description", "price", "currency", "stock", "category", "image_url"}


def _sell(count: int, *, days_back: int = 0, user=None):
    user = user or UserFactory()
    products = [ProductFactory(price=100 + i) for i in range(count)]
    for units, product in enumerate(products, start=1):
        make_order(user=user, lines=[(product, units)], paid_at=timezone.now() - timedelta(days=days_back))
    return products


def _queries_for(api_client, url, params):
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url, params)
    assert response.status_code == 200, response.content
    return response, [query["sql"] for query in captured.captured_queries]


# --- popular ---------------------------------------------------------------------------------------


def test_popular_products_are_ranked_with_the_product_embedded(api_client):
    products = _sell(3)
    body = api_client.get(POPULAR, {"days": 1, "limit": 2}).json()
    assert body["days"] == 1
    assert [(r["rank"], r["product"]["id"], r["quantity_sold"]) for r in body["results"]] == [(1, products[2].pk, 3), (2, products[1].pk, 2)]
    assert set(body["results"][0]) == {"rank", "product", "quantity_sold"}
    assert set(body["results"][0]["product"]) == PRODUCT_KEYS


def test_popular_ties_go_to_more_revenue_then_the_lower_id(api_client):
    user = UserFactory()
    cheap, dear, cheap_twin = ProductFactory(price=100), ProductFactory(price=900), ProductFactory(price=100)
    for product in (cheap_twin, cheap, dear):
        make_order(user=user, lines=[(product, 2)], paid_at=timezone.now())
    results = api_client.get(POPULAR, {"days": 1}).json()["results"]
    assert [r["product"]["id"] for r in results] == [dear.pk, cheap.pk, cheap_twin.pk]


def test_popular_defaults_are_three_days_and_ten_products(api_client):
    _sell(12, days_back=2)
    _sell(1, days_back=3)
    body = api_client.get(POPULAR).json()
    assert body["days"] == 3 and len(body["results"]) == 10
    assert [r["product"]["id"] for r in body["results"]] == [pid for pid, _, _ in expected_top(days=3, today=selectors.local_today())[:10]]
    assert api_client.get(POPULAR, {"days": "", "limit": ""}).json() == body


def test_popular_skips_an_inactive_product(api_client):
    products = _sell(3)
    products[2].is_active = False
    products[2].save()
    results = api_client.get(POPULAR, {"days": 1}).json()["results"]
    assert [(r["rank"], r["product"]["id"]) for r in results] == [(1, products[1].pk), (2, products[0].pk)]


def test_popular_reads_one_query_whatever_the_history(api_client):
    _sell(3)
    api_client.get(POPULAR, {"days": 30})  # the days' sets are built from the table once
    _, small = _queries_for(api_client, POPULAR, {"days": 30, "limit": 50})
    for days_back in range(1, 30):
        _sell(3, days_back=days_back)
    api_client.get(POPULAR, {"days": 30})
    _, large = _queries_for(api_client, POPULAR, {"days": 30, "limit": 50})
    assert len(small) == len(large) == 1 and "catalog_product" in large[0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": "0"}, "days"),
        ({"days": "31"}, "days"),
        ({"days": "abc"}, "days"),
        ({"days": "3.0"}, "days"),
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
    ],
)
def test_popular_bad_parameters_are_a_validation_error(api_client, params, field):
    response = api_client.get(POPULAR, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert list(response.json()["error"]["details"]) == [field]


# --- calendar rankings -----------------------------------------------------------------------------


def test_rankings_shape_and_defaults(api_client):
    products = _sell(2)
    body = api_client.get(RANKINGS).json()
    today = selectors.local_today()
    assert (body["period"], body["start"], body["end"]) == ("day", today.isoformat(), today.isoformat())
    assert [set(entry) for entry in body["results"]] == [{"rank", "product", "quantity_sold", "revenue"}] * 2
    assert set(body["results"][0]["product"]) == PRODUCT_KEYS
    assert [(e["rank"], e["product"]["id"], e["quantity_sold"], e["revenue"]) for e in body["results"]] == [
        (1, products[1].pk, 2, 2 * products[1].price),
        (2, products[0].pk, 1, products[0].price),
    ]


@pytest.mark.parametrize(
    ("period", "day", "start", "end"),
    [
        ("day", "2026-03-01", "2026-03-01", "2026-03-01"),
        ("week", "2026-01-01", "2025-12-29", "2026-01-04"),  # ISO week: Monday to Sunday, across a year
        ("week", "2026-03-09", "2026-03-09", "2026-03-15"),
        ("month", "2024-02-10", "2024-02-01", "2024-02-29"),
        ("month", "2026-12-31", "2026-12-01", "2026-12-31"),
    ],
)
def test_rankings_periods_contain_the_date(api_client, period, day, start, end):
    body = api_client.get(RANKINGS, {"period": period, "date": day}).json()
    assert (body["period"], body["start"], body["end"], body["results"]) == (period, start, end, [])


def test_rankings_count_the_period_of_the_date_and_its_limit(api_client):
    user = UserFactory()
    today = selectors.local_today()
    for back in (0, 1, 8, 40):
        _sell(3, days_back=back, user=user)
    for period in ("day", "week", "month"):
        body = api_client.get(RANKINGS, {"period": period, "date": today.isoformat(), "limit": 50}).json()
        assert [(e["product"]["id"], e["quantity_sold"], e["revenue"]) for e in body["results"]] == expected_calendar(period=period, day=today)
    assert len(api_client.get(RANKINGS, {"period": "month", "limit": 2}).json()["results"]) == 2


def test_rankings_read_one_query_whatever_the_history(api_client):
    _sell(3)
    _, small = _queries_for(api_client, RANKINGS, {"period": "month", "limit": 50})
    for back in range(1, 60, 3):
        _sell(4, days_back=back)
    for period in ("day", "week", "month"):
        _, large = _queries_for(api_client, RANKINGS, {"period": period, "limit": 50})
        assert len(large) == len(small) == 1
        assert "orders_order" not in large[0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "year"}, "period"),
        ({"period": "Day"}, "period"),
        ({"date": "2026-13-01"}, "date"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "20260301"}, "date"),
        ({"date": "2026-3-1"}, "date"),
        ({"date": "2026-03-01T00:00"}, "date"),
        ({"date": "today"}, "date"),
        ({"period": "week", "date": "9999-12-31"}, "date"),
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_rankings_bad_parameters_are_a_validation_error(api_client, params, field):
    response = api_client.get(RANKINGS, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]) == [field]


def test_rankings_accept_the_edges(api_client):
    assert api_client.get(RANKINGS, {"period": "month", "date": "9999-12-31", "limit": 50}).status_code == 200
    assert api_client.get(RANKINGS, {"period": "week", "date": "0001-01-01", "limit": 1}).json()["start"] == date(1, 1, 1).isoformat()
    assert api_client.get(RANKINGS, {"period": "", "date": "", "limit": ""}).json()["period"] == "day"


def test_both_need_no_authentication_but_refuse_a_bad_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    for url in (POPULAR, RANKINGS):
        response = api_client.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_the_schema_documents_both(api_client):
    schema = api_client.get("/api/v1/schema", {"format": "json"}).json()
    rankings = schema["paths"]["/api/v1/products/rankings"]["get"]
    assert {p["name"] for p in rankings["parameters"]} == {"period", "date", "limit"}
    assert {"200", "400"} <= set(rankings["responses"])
    assert {p["name"] for p in schema["paths"]["/api/v1/products/popular"]["get"]["parameters"]} == {"days", "limit"}
