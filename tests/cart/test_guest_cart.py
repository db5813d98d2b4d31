"""A visitor's cart in the session, merged into the shopper's cart at login and sign-up (issue 14, item 2)."""

import re

import pytest

from apps.cart.models import CartItem
from apps.cart.services import MergeShortfall, add_to_cart, merge_guest_cart
from apps.catalog.models import Product
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory
from tests.pages import messages_of

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "plum-orchard-lantern-42"


def _guest_lines(client) -> dict[str, int]:
    return client.session.get("guest_cart", {})


def _login(client, user, next_url="/"):
    return client.post("/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD, "next": next_url})


def test_a_visitor_adds_to_the_cart_without_logging_in(client):
    product = ProductFactory(name="Mug", price=1250, stock=5)
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 2, "next": f"/products/{product.slug}/"})
    assert response.status_code == 302 and response["Location"] == f"/products/{product.slug}/"
    assert messages_of(response) == ["Added to your cart: Mug, now 2 in your cart."]
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1, "next": "/cart/"})
    assert _guest_lines(client) == {str(product.pk): 3}
    assert not CartItem.objects.exists()

    html = client.get("/cart/").content.decode()
    assert "Mug" in html and "$37.50" in html
    assert 'aria-label="3 items in cart"' in html
    assert 'href="/accounts/login/?next=/checkout/"' in html and 'href="/accounts/signup/?next=/checkout/"' in html


def test_a_visitor_cannot_add_more_than_the_stock(client):
    product = ProductFactory(name="Rare vase", stock=2)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 2, "next": "/cart/"})
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1, "next": "/cart/"})
    message = messages_of(response)[-1]
    assert "Only 2 of Rare vase left" in message and "You asked for 3 in total" in message
    assert _guest_lines(client) == {str(product.pk): 2}


def test_a_visitor_cannot_add_a_product_no_longer_sold(client):
    product = ProductFactory(is_active=False)
    response = client.post("/cart/add/", {"product_id": product.pk, "quantity": 1, "next": "/cart/"})
    assert messages_of(response) == ["This product is not available."] and _guest_lines(client) == {}


def test_a_visitor_changes_and_removes_lines(client):
    kept, dropped = ProductFactory(stock=9), ProductFactory(stock=9)
    for product in (kept, dropped):
        client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    html = client.get("/cart/").content.decode()
    assert re.search(rf'<input[^>]*name="item-{kept.pk}-quantity"[^>]*max="9"', html)

    response = client.post(f"/cart/items/{kept.pk}/", {f"item-{kept.pk}-quantity": 4})
    assert response["Location"] == "/cart/" and _guest_lines(client)[str(kept.pk)] == 4
    response = client.post(f"/cart/items/{kept.pk}/", {f"item-{kept.pk}-quantity": 12}, follow=True)
    assert "choose 9 or fewer" in response.content.decode() and _guest_lines(client)[str(kept.pk)] == 4
    client.post(f"/cart/items/{dropped.pk}/", {f"item-{dropped.pk}-quantity": 0})
    assert _guest_lines(client) == {str(kept.pk): 4}
    client.post(f"/cart/items/{kept.pk}/remove/")
    assert _guest_lines(client) == {}
    response = client.post(f"/cart/items/{kept.pk}/remove/")
    assert messages_of(response)[-1] == "This item is not in your cart."


def test_login_merges_the_visitors_cart_capped_by_stock_with_a_message(client):
    user = UserFactory()
    limited = ProductFactory(name="Teapot", stock=5)
    plenty = ProductFactory(name="Cup", stock=50)
    withdrawn = ProductFactory(name="Old kettle", stock=5)
    add_to_cart(user=user, product_id=limited.pk, quantity=2)
    for product, quantity in ((limited, 4), (plenty, 3), (withdrawn, 1)):
        client.post("/cart/add/", {"product_id": product.pk, "quantity": quantity})
    Product.objects.filter(pk=withdrawn.pk).update(is_active=False)

    response = _login(client, user, next_url="/cart/")
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity")) == {limited.pk: 5, plenty.pk: 3}
    html = client.get("/cart/").content.decode()
    assert "Teapot: your cart holds 5, the most available (you had chosen 4 before logging in)." in html
    assert "Old kettle is no longer available and was not added to your cart." in html
    assert "Cup:" not in html
    assert _guest_lines(client) == {}


def test_signup_keeps_the_visitors_cart(client):
    product = ProductFactory(name="Mug", stock=5)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    response = client.post(
        "/accounts/signup/",
        {"name": "Ada", "email": "ada@example.com", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD, "next": "/checkout/"},
    )
    assert response.status_code == 302 and response["Location"] == "/checkout/"
    assert CartItem.objects.get(cart__user__email="ada@example.com").quantity == 2
    assert _guest_lines(client) == {}


def test_checkout_asks_a_visitor_to_log_in_and_comes_back(client):
    user = UserFactory()
    product = ProductFactory(stock=5)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    response = client.get("/checkout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/checkout/"
    assert 'name="next" value="/checkout/"' in client.get(response["Location"]).content.decode()
    response = _login(client, user, next_url="/checkout/")
    assert response["Location"] == "/checkout/"
    assert client.get("/checkout/").status_code == 200
    assert CartItem.objects.get(cart__user=user).product_id == product.pk


def test_merge_service_caps_at_the_line_maximum_and_skips_unknown_products(settings):
    settings.ORDER_MAX_LINE_QUANTITY = 10
    user = UserFactory()
    product = ProductFactory(name="Cup", stock=500)
    add_to_cart(user=user, product_id=product.pk, quantity=6)
    shortfalls = merge_guest_cart(user=user, quantities={product.pk: 7, 987654: 1})
    assert shortfalls == [
        MergeShortfall(product_name="Cup", wanted=7, added=4, in_cart=10),
        MergeShortfall(product_name="Product 987654", wanted=1, added=0, in_cart=0),
    ]
    assert CartItem.objects.get(cart__user=user).quantity == 10
    assert merge_guest_cart(user=user, quantities={}) == []
