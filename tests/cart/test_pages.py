import re

import pytest

from apps.cart.models import CartItem
from apps.cart.services import add_to_cart
from apps.catalog.models import Product
from tests.factories import ProductFactory, UserFactory
from tests.pages import messages_of


@pytest.mark.django_db
def test_cart_page_lists_lines_subtotal_and_checkout(shopper_client):
    product = ProductFactory(name="Green tea", price=1250, stock=5)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=2)

    response = shopper_client.get("/cart/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Green tea" in html
    assert "$25.00" in html
    assert 'href="/checkout/"' in html
    assert 'aria-label="2 items in cart"' in html


@pytest.mark.django_db
def test_empty_cart_page(shopper_client):
    response = shopper_client.get("/cart/")
    assert "Your cart is empty" in response.content.decode()


@pytest.mark.django_db
def test_add_from_a_product_page_redirects_back_with_a_message(shopper_client):
    product = ProductFactory(name="Mug", stock=5)
    response = shopper_client.post("/cart/add/", {"product_id": product.pk, "quantity": 2}, HTTP_REFERER=f"http://testserver/products/{product.slug}/")
    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/products/{product.slug}/"
    assert any("Mug" in message for message in messages_of(response))
    assert CartItem.objects.get(cart__user=shopper_client.user).quantity == 2


@pytest.mark.django_db
def test_add_never_redirects_to_another_site(shopper_client):
    product = ProductFactory()
    response = shopper_client.post("/cart/add/", {"product_id": product.pk, "quantity": 1, "next": "https://evil.example/"})
    assert response["Location"] == "/cart/"


@pytest.mark.django_db
def test_add_out_of_stock_says_what_to_do_and_changes_nothing(shopper_client):
    product = ProductFactory(name="Rare vase", stock=1)
    response = shopper_client.post("/cart/add/", {"product_id": product.pk, "quantity": 3, "next": f"/products/{product.slug}/"})
    assert response["Location"] == f"/products/{product.slug}/"
    [message] = messages_of(response)
    assert "Only 1 of Rare vase left" in message and "choose 1 or fewer" in message
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_add_with_a_bad_quantity_explains(shopper_client):
    product = ProductFactory()
    response = shopper_client.post("/cart/add/", {"product_id": product.pk, "quantity": 0, "next": "/cart/"})
    assert response["Location"] == "/cart/"
    assert "quantity" in messages_of(response)[0]
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_change_quantity_and_remove(shopper_client):
    product = ProductFactory(stock=9)
    line = add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)

    response = shopper_client.post(f"/cart/items/{line.pk}/", {f"item-{line.pk}-quantity": 4})
    assert response.status_code == 302
    assert CartItem.objects.get(pk=line.pk).quantity == 4

    response = shopper_client.post(f"/cart/items/{line.pk}/remove/")
    assert response.status_code == 302
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_a_refused_quantity_change_redirects_to_the_cart_with_the_message(shopper_client):
    product = ProductFactory(name="Teapot", stock=3)
    line = add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)

    response = shopper_client.post(f"/cart/items/{line.pk}/", {f"item-{line.pk}-quantity": 7})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    [message] = messages_of(response)
    assert "Only 3 of Teapot left" in message and "choose 3 or fewer" in message
    assert CartItem.objects.get(pk=line.pk).quantity == 1

    shopper_client.get("/cart/")  # the message is shown once
    for typed in ("lots", "-2", "1.5", ""):
        response = shopper_client.post(f"/cart/items/{line.pk}/", {f"item-{line.pk}-quantity": typed}, follow=True)
        assert response.redirect_chain == [("/cart/", 302)], typed
        html = response.content.decode()
        assert "0 removes the line" in html and "Ensure this value" not in html, typed
    assert CartItem.objects.get(pk=line.pk).quantity == 1

    response = shopper_client.post(f"/cart/items/{line.pk}/", {f"item-{line.pk}-quantity": 1001})
    assert messages_of(response) == ["At most 1000 of one product per order."]


@pytest.mark.django_db
def test_quantity_zero_removes_the_line(shopper_client):
    line = add_to_cart(user=shopper_client.user, product_id=ProductFactory(stock=9).pk, quantity=2)
    response = shopper_client.post(f"/cart/items/{line.pk}/", {f"item-{line.pk}-quantity": 0})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert messages_of(response) == ["Removed from your cart."]
    assert not CartItem.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("stock, expected_max", [(7, 7), (5000, 1000), (0, 0)])
def test_quantity_input_is_capped_at_what_can_be_bought(shopper_client, stock, expected_max):
    product = ProductFactory(stock=max(stock, 1))
    line = add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)
    Product.objects.filter(pk=product.pk).update(stock=stock)
    html = shopper_client.get("/cart/").content.decode()
    field = re.search(rf'<input[^>]*name="item-{line.pk}-quantity"[^>]*>', html).group(0)
    assert f'max="{expected_max}"' in field and 'min="0"' in field and 'value="1"' in field


@pytest.mark.django_db
def test_another_users_line_cannot_be_changed_from_the_page(shopper_client):
    line = add_to_cart(user=UserFactory(), product_id=ProductFactory(stock=9).pk, quantity=2)
    shopper_client.post(f"/cart/items/{line.pk}/", {f"item-{line.pk}-quantity": 5})
    shopper_client.post(f"/cart/items/{line.pk}/remove/")
    assert CartItem.objects.get(pk=line.pk).quantity == 2
