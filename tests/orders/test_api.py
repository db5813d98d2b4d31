import pytest
from django.db import OperationalError
from django.utils import timezone

from apps.catalog import services as catalog_services
from apps.catalog.models import Product
from apps.core.idempotency import fingerprint
from apps.core.models import IdempotencyKey
from apps.orders.models import Order
from apps.orders.services import OrderLine, place_order
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import balance, fund, world

ORDER_FIELDS = {
    "id", "status", "items", "subtotal", "discount", "total", "currency", "user_coupon_id", "payment", "created_at", "expires_at", "paid_at", "cancelled_at",
}
ITEM_FIELDS = {"product_id", "product_name", "unit_price", "quantity", "line_total"}
BY_CARD = {"items": [{"product_id": 1, "quantity": 1}], "payment_method": "card"}


def post_order(client, body, **headers):
    return client.post("/api/v1/orders", body, format="json", headers=headers)


@pytest.fixture
def funded(auth_client):
    fund(auth_client.user, 100_000)
    return auth_client


@pytest.mark.django_db
def test_create_order_answers_201_with_exactly_the_documented_fields(funded):
    product = ProductFactory(price=1250, stock=5, name="Kettle")
    user_coupon = UserCouponFactory(user=funded.user, coupon=CouponFactory(discount_value=250))

    response = post_order(funded, {"items": [{"product_id": product.pk, "quantity": 2}], "user_coupon_id": user_coupon.pk, "payment_method": "wallet"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ORDER_FIELDS
    assert set(body["items"][0]) == ITEM_FIELDS
    assert body["items"] == [{"product_id": product.pk, "product_name": "Kettle", "unit_price": 1250, "quantity": 2, "line_total": 2500}]
    assert (body["status"], body["subtotal"], body["discount"], body["total"], body["currency"]) == ("paid", 2500, 250, 2250, "USD")
    assert body["user_coupon_id"] == user_coupon.pk
    assert body["paid_at"] and body["created_at"] and body["cancelled_at"] is None and body["expires_at"] is None
    assert body["payment"] == {"method": "wallet", "status": "approved", "card_brand": None, "card_last4": None, "failure_reason": None}
    assert balance(funded.user) == 100_000 - 2250


@pytest.mark.django_db
def test_create_order_from_the_cart(funded):
    product = ProductFactory(price=100, stock=5)
    assert funded.post("/api/v1/cart/items", {"product_id": product.pk, "quantity": 3}, format="json").status_code == 201

    response = post_order(funded, {"from_cart": True})

    assert response.status_code == 201, response.content
    assert response.json()["total"] == 300
    assert funded.get("/api/v1/cart").json()["items"] == []


@pytest.mark.django_db
def test_list_is_paginated_own_orders_newest_first(funded):
    product = ProductFactory(price=10, stock=100)
    other = UserFactory()
    fund(other, 1000)
    ids = [post_order(funded, {"items": [{"product_id": product.pk, "quantity": 1}]}).json()["id"] for _ in range(3)]
    place_order(user=other, lines=[OrderLine(product.pk, 1)])

    response = funded.get("/api/v1/orders", {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [order["id"] for order in body["results"]] == ids[::-1][:2]
    assert body["next"] and body["previous"] is None
    second = funded.get("/api/v1/orders", {"page_size": 2, "page": 2}).json()
    assert [order["id"] for order in second["results"]] == [ids[0]]


@pytest.mark.django_db
def test_detail_and_another_users_order_is_not_found(funded):
    product = ProductFactory(price=10)
    order_id = post_order(funded, {"items": [{"product_id": product.pk, "quantity": 1}]}).json()["id"]
    assert funded.get(f"/api/v1/orders/{order_id}").json()["id"] == order_id

    stranger = UserFactory()
    funded.force_authenticate(user=stranger)
    before = world()
    for response in (funded.get(f"/api/v1/orders/{order_id}"), funded.post(f"/api/v1/orders/{order_id}/cancel")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert funded.get("/api/v1/orders/99999999").status_code == 404
    assert world() == before
    assert Order.objects.get(pk=order_id).status == "paid"


@pytest.mark.django_db
def test_cancel_answers_200_then_409_the_second_time(funded):
    product = ProductFactory(price=700, stock=2)
    order_id = post_order(funded, {"items": [{"product_id": product.pk, "quantity": 2}]}).json()["id"]

    response = funded.post(f"/api/v1/orders/{order_id}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ORDER_FIELDS
    assert body["status"] == "cancelled" and body["cancelled_at"]
    assert balance(funded.user) == 100_000

    before = world()
    again = funded.post(f"/api/v1/orders/{order_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ORDER_NOT_CANCELLABLE"
    assert world() == before


def _assert_error(client, body, status, code, **headers):
    before = world()
    response = post_order(client, body, **headers)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert world() == before
    return error


@pytest.mark.django_db
def test_out_of_stock_via_the_api(funded):
    product = ProductFactory(stock=1)
    error = _assert_error(funded, {"items": [{"product_id": product.pk, "quantity": 2}]}, 409, "OUT_OF_STOCK")
    assert error["details"] == {"product_id": product.pk, "requested": 2, "available": 1}


@pytest.mark.django_db
def test_insufficient_balance_via_the_api(auth_client):
    fund(auth_client.user, 500)
    product = ProductFactory(price=501)
    error = _assert_error(auth_client, {"items": [{"product_id": product.pk, "quantity": 1}]}, 409, "INSUFFICIENT_BALANCE")
    assert error["details"] == {"balance": 500, "required": 501}


@pytest.mark.django_db
def test_coupon_not_applicable_via_the_api(funded):
    product = ProductFactory()
    used = UserCouponFactory(user=funded.user, status="used")
    _assert_error(funded, {"items": [{"product_id": product.pk, "quantity": 1}], "user_coupon_id": used.pk}, 422, "COUPON_NOT_APPLICABLE")


@pytest.mark.django_db
def test_someone_elses_coupon_is_not_found_via_the_api(funded):
    product = ProductFactory()
    someone_elses = UserCouponFactory()
    _assert_error(funded, {"items": [{"product_id": product.pk, "quantity": 1}], "user_coupon_id": someone_elses.pk}, 404, "NOT_FOUND")


@pytest.mark.django_db
def test_product_unavailable_via_the_api(funded):
    hidden = ProductFactory(is_active=False)
    error = _assert_error(funded, {"items": [{"product_id": hidden.pk, "quantity": 1}]}, 422, "PRODUCT_UNAVAILABLE")
    assert error["details"] == {"product_id": hidden.pk}
    _assert_error(funded, {"items": [{"product_id": 123_456_789, "quantity": 1}]}, 422, "PRODUCT_UNAVAILABLE")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "items", id="missing-items"),
        pytest.param({"items": []}, "items", id="empty-items"),
        pytest.param({"items": [{"product_id": 1, "quantity": 0}]}, "items", id="quantity-zero"),
        pytest.param({"items": [{"product_id": 1, "quantity": -1}]}, "items", id="quantity-negative"),
        pytest.param({"items": [{"product_id": 1, "quantity": "2"}]}, "items", id="quantity-string"),
        pytest.param({"items": [{"product_id": 1, "quantity": 1.5}]}, "items", id="quantity-float"),
        pytest.param({"items": [{"product_id": 1, "quantity": True}]}, "items", id="quantity-bool"),
        pytest.param({"items": [{"product_id": 1, "quantity": 10**30}]}, "items", id="quantity-huge"),
        pytest.param({"items": [{"product_id": 1, "quantity": 1001}]}, "items", id="quantity-over-max"),
        pytest.param({"items": [{"product_id": "abc", "quantity": 1}]}, "items", id="product-string"),
        pytest.param({"items": [{"product_id": 10**30, "quantity": 1}]}, "items", id="product-huge"),
        pytest.param({"items": [{"quantity": 1}]}, "items", id="product-missing"),
        pytest.param({"items": "everything"}, "items", id="items-string"),
        pytest.param({"items": [7]}, "items", id="line-not-object"),
        pytest.param({"from_cart": True, "items": [{"product_id": 1, "quantity": 1}]}, "items", id="both"),
        pytest.param({"items": [{"product_id": 1, "quantity": 1}], "payment_method": "cash"}, "payment_method", id="payment-method"),
        pytest.param({"items": [{"product_id": 1, "quantity": 1}], "payment_method": "card"}, "card", id="card-missing"),
        pytest.param({**BY_CARD, "card": {"number": "4242 4242 4242 4241"}}, "card", id="card-not-luhn"),
        pytest.param({**BY_CARD, "card": {"number": "4242"}}, "card", id="card-too-short"),
        pytest.param({**BY_CARD, "card": {"number": "4242x4242x4242x4242"}}, "card", id="card-letters"),
        pytest.param({**BY_CARD, "card": "4242424242424242"}, "card", id="card-not-object"),
        pytest.param({"items": [{"product_id": 1, "quantity": 1}], "user_coupon_id": "x"}, "user_coupon_id", id="coupon-string"),
        pytest.param({"from_cart": True}, "from_cart", id="empty-cart"),
    ],
)
def test_bad_bodies_are_400_with_field_details_and_change_nothing(funded, body, field):
    ProductFactory(stock=5000)
    error = _assert_error(funded, body, 400, "VALIDATION_ERROR")
    assert field in error["details"]


@pytest.mark.django_db
def test_not_json_is_400(funded):
    response = funded.post("/api/v1/orders", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.django_db
def test_anonymous_is_401(api_client):
    for response in (api_client.get("/api/v1/orders"), api_client.post("/api/v1/orders", {}, format="json"), api_client.get("/api/v1/cart")):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


@pytest.mark.django_db
def test_same_idempotency_key_twice_orders_once_and_replays_the_response(funded):
    product = ProductFactory(price=400, stock=5)
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}

    first = post_order(funded, body, **{"Idempotency-Key": "order-abc"})
    second = post_order(funded, body, **{"Idempotency-Key": "order-abc"})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert balance(funded.user) == 100_000 - 400
    assert Product.objects.get(pk=product.pk).stock == 4


@pytest.mark.django_db
def test_idempotency_key_with_another_body_is_422_and_changes_nothing(funded):
    product = ProductFactory(price=400, stock=5)
    post_order(funded, {"items": [{"product_id": product.pk, "quantity": 1}]}, **{"Idempotency-Key": "k1"})
    _assert_error(funded, {"items": [{"product_id": product.pk, "quantity": 2}]}, 422, "IDEMPOTENCY_KEY_REUSED", **{"Idempotency-Key": "k1"})


@pytest.mark.django_db
def test_idempotency_key_in_flight_is_409(funded):
    product = ProductFactory(price=400, stock=5)
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}
    IdempotencyKey.objects.create(user=funded.user, key="busy", fingerprint=fingerprint(method="POST", path="/api/v1/orders", body=body))
    _assert_error(funded, body, 409, "IDEMPOTENCY_IN_PROGRESS", **{"Idempotency-Key": "busy"})


@pytest.mark.django_db
def test_a_refused_order_is_replayed_too(auth_client):
    product = ProductFactory(price=400, stock=5)
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}
    first = post_order(auth_client, body, **{"Idempotency-Key": "poor"})
    assert first.status_code == 409
    fund(auth_client.user, 1000)
    second = post_order(auth_client, body, **{"Idempotency-Key": "poor"})
    assert (second.status_code, second.json()) == (409, first.json())
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_idempotency_key_too_long_is_400(funded):
    product = ProductFactory()
    _assert_error(funded, {"items": [{"product_id": product.pk, "quantity": 1}]}, 400, "VALIDATION_ERROR", **{"Idempotency-Key": "k" * 256})


@pytest.mark.django_db(transaction=True)
def test_lock_conflicts_that_persist_are_409_concurrent_update_and_the_key_can_be_retried(api_client, monkeypatch, settings):
    settings.ORDER_LOCK_RETRIES = 2
    buyer = UserFactory()
    api_client.force_authenticate(user=buyer)
    fund(buyer, 10_000)
    product = ProductFactory(price=400, stock=5)
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}
    real_lock = catalog_services.lock_products

    def time_out(*, product_ids):
        raise OperationalError(1205, "Lock wait timeout exceeded; try restarting transaction")

    monkeypatch.setattr(catalog_services, "lock_products", time_out)
    error = _assert_error(api_client, body, 409, "CONCURRENT_UPDATE", **{"Idempotency-Key": "retry-me"})
    assert "Lock wait" not in error["message"]

    monkeypatch.setattr(catalog_services, "lock_products", real_lock)
    retried = post_order(api_client, body, **{"Idempotency-Key": "retry-me"})
    assert retried.status_code == 201
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_timestamps_are_iso_8601(funded):
    product = ProductFactory()
    body = post_order(funded, {"items": [{"product_id": product.pk, "quantity": 1}]}).json()
    paid_at = timezone.datetime.fromisoformat(body["paid_at"].replace("Z", "+00:00"))
    assert paid_at.utcoffset() is not None
