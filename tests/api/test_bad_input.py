"""Hostile or careless input never reaches a 500: it is a 400 VALIDATION_ERROR (or a 413) in API.md's shape."""

import json

import pytest
from django.test import override_settings

from apps.catalog.models import MAX_AMOUNT
from apps.coupons.models import Coupon
from apps.wallets.services import charge_wallet
from tests.factories import ProductFactory


def _error(response, status: int = 400, code: str = "VALIDATION_ERROR") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# --- Issue 11, defect 7: deeply nested JSON --------------------------------------------------------


def _nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_validation_error(api_client, depth):
    response = api_client.post("/api/v1/auth/signup", data=_nested_arrays(depth), content_type="application/json")
    assert "body" in _error(response)["details"]


@pytest.mark.django_db
def test_deeply_nested_json_inside_an_object_is_a_validation_error(auth_client):
    body = '{"items": ' + _nested_arrays(1_000) + "}"
    response = auth_client.post("/api/v1/orders", data=body, content_type="application/json")
    _error(response)


@pytest.mark.django_db
def test_json_nested_past_the_limit_is_refused_before_anything_else_reads_it(auth_client):
    from apps.core.parsers import MAX_NESTING

    within = {"items": [{"product_id": 1, "quantity": 1}], "extra": _nested_arrays(MAX_NESTING - 1)}
    within_body = json.dumps(within).replace('"' + _nested_arrays(MAX_NESTING - 1) + '"', _nested_arrays(MAX_NESTING - 1))
    assert auth_client.post("/api/v1/orders", data=within_body, content_type="application/json").status_code != 400
    beyond_body = '{"items": ' + _nested_arrays(MAX_NESTING) + "}"
    error = _error(auth_client.post("/api/v1/orders", data=beyond_body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1"))
    assert "nested" in error["details"]["body"][0]


@pytest.mark.django_db
def test_moderately_nested_json_is_still_parsed(api_client):
    body = json.dumps({"email": "a@example.com", "password": "x", "name": "", "extra": [[[[[[1]]]]]]})
    response = api_client.post("/api/v1/auth/signup", data=body, content_type="application/json")
    assert response.status_code == 400  # Django's password validators refuse "x": parsed, not a parse error
    assert "password" in response.json()["error"]["details"]


# --- Issue 11, defect 8: unbounded staff input -----------------------------------------------------


def _coupon_body(**changes) -> dict:
    return {"name": "Flash", "discount_type": "fixed", "discount_value": 100, "total_quantity": 5, **changes}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("valid_days", 3_000_000),
        ("valid_days", 2**31),
        ("min_order_amount", 10**28),
        ("min_order_amount", MAX_AMOUNT + 1),
        ("discount_value", 10**28),
        ("max_discount", 2**32),
        ("total_quantity", 2**32),
    ],
)
def test_staff_coupon_integers_past_their_bounds_are_refused(staff_client, field, value):
    response = staff_client.post("/api/v1/staff/coupons", _coupon_body(**{field: value}), format="json")
    assert field in _error(response)["details"]
    assert not Coupon.objects.exists()


@pytest.mark.django_db
def test_the_longest_allowed_validity_can_still_be_claimed(staff_client, auth_client):
    from apps.coupons.services import MAX_VALID_DAYS

    response = staff_client.post("/api/v1/staff/coupons", _coupon_body(valid_days=MAX_VALID_DAYS), format="json")
    assert response.status_code == 201, response.content
    claimed = auth_client.post(f"/api/v1/coupons/{response.json()['id']}/issue")
    assert claimed.status_code == 201, claimed.content


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [("valid_days", 3_000_000), ("min_order_amount", 10**28), ("discount_value", 10**28)])
def test_create_coupon_service_refuses_out_of_range_terms(field, value):
    from apps.core.errors import ValidationError
    from apps.coupons.services import create_coupon

    with pytest.raises(ValidationError) as caught:
        create_coupon(**{**_coupon_body(), field: value})
    assert field in caught.value.details
    assert not Coupon.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["price", "stock"])
def test_staff_product_amounts_past_the_column_range_are_refused(staff_client, field):
    body = {"sku": "SKU-1", "name": "Kettle", "price": 100, "stock": 1, field: 10**28}
    assert field in _error(staff_client.post("/api/v1/staff/products", body, format="json"))["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["100", 100.0, True])
def test_staff_product_amounts_must_be_json_integers(staff_client, value):
    body = {"sku": "SKU-1", "name": "Kettle", "price": value, "stock": 1}
    assert "price" in _error(staff_client.post("/api/v1/staff/products", body, format="json"))["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("delta", [10**28, -(10**28), "5", True])
def test_staff_stock_delta_is_bounded_and_strict(staff_client, delta):
    product = ProductFactory(stock=5)
    response = staff_client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": delta, "reason": "count"}, format="json")
    assert "delta" in _error(response)["details"]
    product.refresh_from_db()
    assert product.stock == 5


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [10**28, 2**63, -(10**28)])
def test_wallet_charge_amount_past_any_column_is_a_validation_error(auth_client, amount):
    assert "amount" in _error(auth_client.post("/api/v1/wallet/charge", {"amount": amount}, format="json"))["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"product_id": 2**63, "quantity": 1}, {"product_id": 1, "quantity": 10**28}])
def test_cart_ids_and_quantities_past_their_bounds_are_refused(auth_client, body):
    _error(auth_client.post("/api/v1/cart/items", body, format="json"))


# --- Issue 11, defect 9: page numbers parsed strictly ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/wallet/transactions", "/api/v1/products"])
@pytest.mark.parametrize("param", ["page", "page_size"])
@pytest.mark.parametrize("value", ["²", "١", "𝟙", " 1", "+1", "1e1", "0x1", "1.0", "0", "00", "-1"])
def test_page_and_page_size_are_plain_ascii_whole_numbers(auth_client, path, param, value):
    charge_wallet(user=auth_client.user, amount=100)
    response = auth_client.get(path, {param: value})
    assert param in _error(response)["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/wallet/transactions", "/api/v1/products"])
@pytest.mark.parametrize("value", [str(2**31), "9" * 30, "9" * 5_000])
def test_a_page_number_too_large_for_any_page_is_past_the_end(auth_client, path, value):
    _error(auth_client.get(path, {"page": value}), status=404, code="NOT_FOUND")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/wallet/transactions", "/api/v1/products"])
@pytest.mark.parametrize("value", [str(2**31), "9" * 30, "9" * 5_000])
def test_a_page_size_past_any_column_is_a_validation_error(auth_client, path, value):
    assert "page_size" in _error(auth_client.get(path, {"page_size": value}))["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/wallet/transactions", "/api/v1/products"])
def test_page_and_page_size_in_range_still_work(auth_client, path):
    charge_wallet(user=auth_client.user, amount=100)
    response = auth_client.get(path, {"page": "1", "page_size": "100"})
    assert response.status_code == 200, response.content
    assert auth_client.get(path, {"page_size": "1000"}).status_code == 200  # clamped to 100, as API.md says
    assert auth_client.get(path, {"page": "", "page_size": ""}).status_code == 200  # empty: the defaults


@pytest.mark.django_db
def test_too_many_query_parameters_is_a_validation_error(api_client):
    query = "&".join(f"q{number}=1" for number in range(1_001))
    _error(api_client.get(f"/api/v1/products?{query}"))


# --- Issue 11, defect 10: bodies over the upload limit ---------------------------------------------


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1_000)
@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/v1/orders", "/api/v1/wallet/charge"])
def test_a_body_over_the_upload_limit_is_a_json_413(auth_client, path):
    body = json.dumps({"email": "a@example.com", "password": "x" * 2_000, "name": ""})
    error = _error(auth_client.post(path, data=body, content_type="application/json"), status=413)
    assert "body" in error["details"]
