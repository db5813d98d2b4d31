"""No shopper can read or change another shopper's cart, orders, coupons or wallet, through any
endpoint or page. Alice owns everything here; Mallory tries every door with her own login."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.cart.models import CartItem
from apps.cart.services import add_to_cart
from apps.coupons.models import UserCoupon
from apps.orders.models import Order
from apps.orders.services import OrderLine, place_order
from apps.wallets.models import Wallet, WalletTransaction
from apps.wallets.services import charge_wallet
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    """A shopper with a funded wallet, a paid order, a cart line and an unused coupon."""
    user = UserFactory(email="alice@example.com")
    product = ProductFactory(price=1_000, stock=10)
    charge_wallet(user=user, amount=50_000)
    order = place_order(user=user, lines=[OrderLine(product.pk, 1)])
    item = add_to_cart(user=user, product_id=product.pk, quantity=2)
    coupon = UserCouponFactory(user=user, coupon=CouponFactory(name="Alice's secret deal"))
    return {"user": user, "product": product, "order": order, "item": item, "coupon": coupon}


def _snapshot(alice) -> dict:
    """Everything Mallory must not be able to change."""
    return {
        "order": Order.objects.filter(pk=alice["order"].pk).values_list("status", "total").get(),
        "item": list(CartItem.objects.filter(cart__user=alice["user"]).values_list("pk", "quantity")),
        "coupon": UserCoupon.objects.filter(pk=alice["coupon"].pk).values_list("status", "used_order").get(),
        "wallet": Wallet.objects.filter(user=alice["user"]).values_list("balance", "version").get(),
        "ledger": WalletTransaction.objects.filter(wallet__user=alice["user"]).count(),
        "stock": type(alice["product"]).objects.get(pk=alice["product"].pk).stock,
    }


@pytest.fixture
def mallory_api():
    mallory = UserFactory(email="mallory@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=mallory).key}")
    client.user = mallory
    return client


@pytest.fixture
def mallory_pages(client):
    mallory = UserFactory(email="mallory.web@example.com")
    client.force_login(mallory)
    return client


def _assert_not_found(response):
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_api_reads_show_only_my_own_things(alice, mallory_api):
    assert mallory_api.get("/api/v1/cart").json()["items"] == []
    assert mallory_api.get("/api/v1/orders").json()["count"] == 0
    assert mallory_api.get("/api/v1/me/coupons").json() == []
    assert mallory_api.get("/api/v1/wallet").json()["balance"] == 0
    assert mallory_api.get("/api/v1/wallet/transactions").json()["count"] == 0
    assert mallory_api.get("/api/v1/me").json()["email"] == "mallory@example.com"
    _assert_not_found(mallory_api.get(f"/api/v1/orders/{alice['order'].pk}"))


def test_api_writes_to_another_users_things_are_not_found_and_change_nothing(alice, mallory_api):
    before = _snapshot(alice)

    _assert_not_found(mallory_api.patch(f"/api/v1/cart/items/{alice['item'].pk}", {"quantity": 5}, format="json"))
    _assert_not_found(mallory_api.delete(f"/api/v1/cart/items/{alice['item'].pk}"))
    _assert_not_found(mallory_api.post(f"/api/v1/orders/{alice['order'].pk}/cancel"))
    assert mallory_api.delete("/api/v1/cart").status_code == 204
    charge_wallet(user=mallory_api.user, amount=10_000)
    response = mallory_api.post(
        "/api/v1/orders",
        {"items": [{"product_id": alice["product"].pk, "quantity": 1}], "user_coupon_id": alice["coupon"].pk},
        format="json",
    )
    _assert_not_found(response)

    assert _snapshot(alice) == before
    assert Order.objects.filter(user=mallory_api.user).count() == 0


def test_an_idempotency_key_belongs_to_one_user(alice, mallory_api):
    alice_client = APIClient()
    alice_client.force_authenticate(alice["user"])
    body = {"amount": 1_500}
    assert alice_client.post("/api/v1/wallet/charge", body, format="json", HTTP_IDEMPOTENCY_KEY="shared-key").status_code == 200

    response = mallory_api.post("/api/v1/wallet/charge", body, format="json", HTTP_IDEMPOTENCY_KEY="shared-key")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert response.json()["balance"] == 1_500
    assert Wallet.objects.get(user=alice["user"]).balance == 50_000 - 1_000 + 1_500


def test_pages_never_show_or_change_another_users_things(alice, mallory_pages):
    before = _snapshot(alice)
    order_id, item_id = alice["order"].pk, alice["item"].pk

    assert mallory_pages.get(f"/orders/{order_id}/").status_code == 404
    assert mallory_pages.post(f"/orders/{order_id}/cancel/").status_code == 404
    # A cart line that is not yours reads like a line already gone (say, removed in another tab).
    for response in (
        mallory_pages.post(f"/cart/items/{item_id}/", {f"item-{item_id}-quantity": 7}),
        mallory_pages.post(f"/cart/items/{item_id}/remove/"),
    ):
        assert response.status_code == 302 and response["Location"] == "/cart/"
    assert f"#{order_id}" not in mallory_pages.get("/orders/").content.decode()
    assert "Alice&#x27;s secret deal" not in mallory_pages.get("/coupons/mine/").content.decode()
    assert "$500.00" not in mallory_pages.get("/wallet/").content.decode()
    assert alice["product"].name not in mallory_pages.get("/cart/").content.decode()

    assert _snapshot(alice) == before


def test_anonymous_visitors_are_sent_to_log_in_and_change_nothing(alice, client, api_client):
    before = _snapshot(alice)
    for path in ("/checkout/", "/orders/", f"/orders/{alice['order'].pk}/", "/wallet/", "/coupons/mine/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path
    # A visitor's /cart/ is their own session cart, never anyone's saved one.
    assert "Your cart is empty" in client.get("/cart/").content.decode()
    for method, path in (
        ("get", "/api/v1/cart"),
        ("get", "/api/v1/orders"),
        ("get", f"/api/v1/orders/{alice['order'].pk}"),
        ("post", f"/api/v1/orders/{alice['order'].pk}/cancel"),
        ("get", "/api/v1/wallet"),
        ("get", "/api/v1/me/coupons"),
        ("delete", f"/api/v1/cart/items/{alice['item'].pk}"),
    ):
        response = getattr(api_client, method)(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert _snapshot(alice) == before
