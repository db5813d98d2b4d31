"""The OpenAPI schema says exactly what the API accepts and answers (Schemathesis holds the app to it)."""

import json

import pytest

from apps.core.validation import MAX_INT32


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return json.loads(Client().get("/api/v1/schema?format=json").content)


def _body_schema(schema, path: str, method: str) -> dict:
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_cart_patch_body_requires_the_quantity(schema):
    body = _body_schema(schema, "/api/v1/cart/items/{item_id}", "patch")
    assert body["required"] == ["quantity"]
    assert schema["paths"]["/api/v1/cart/items/{item_id}"]["patch"]["requestBody"]["required"] is True


def test_a_staff_product_patch_stays_partial(schema):
    assert "required" not in _body_schema(schema, "/api/v1/staff/products/{product_id}", "patch")


def test_order_items_need_at_least_one_line(schema):
    items = _body_schema(schema, "/api/v1/orders", "post")["properties"]["items"]
    assert items["minItems"] == 1 and items["maxItems"] == 100


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/wallet/transactions", "/api/v1/products"])
def test_paginated_lists_document_their_bounds_and_the_400(schema, path):
    operation = schema["paths"][path]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}
    assert parameters["page"]["minimum"] == 1
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": MAX_INT32}
    assert {"400", "404"} <= set(operation["responses"])


@pytest.mark.parametrize(
    "path, field, minimum, maximum",
    [
        ("/api/v1/wallet/charge", "amount", 1, 1_000_000),
        ("/api/v1/staff/coupons", "valid_days", 1, 3650),
        ("/api/v1/staff/coupons", "min_order_amount", 0, MAX_INT32),
        ("/api/v1/staff/products", "price", 0, MAX_INT32),
        ("/api/v1/staff/products/{product_id}/stock", "delta", -MAX_INT32, MAX_INT32),
    ],
)
def test_integer_inputs_document_their_bounds(schema, path, field, minimum, maximum):
    prop = _body_schema(schema, path, "post")["properties"][field]
    assert (prop["minimum"], prop["maximum"]) == (minimum, maximum)


def test_every_operation_with_a_body_documents_the_413(schema):
    with_body = [
        (path, method) for path, operations in schema["paths"].items() for method in operations if method in ("post", "put", "patch")
    ]
    assert with_body
    for path, method in with_body:
        assert "413" in schema["paths"][path][method]["responses"], (path, method)
