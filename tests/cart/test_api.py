import pytest

from apps.cart.models import CartItem
from apps.cart.services import add_to_cart
from tests.factories import ProductFactory, UserFactory

PRODUCT_FIELDS = {"id", "sku", "name", "slug", "description", "price", "currency", "stock", "category", "image_url"}


def add(client, product_id, quantity):
    return client.post("/api/v1/cart/items", {"product_id": product_id, "quantity": quantity}, format="json")


@pytest.mark.django_db
def test_empty_cart(auth_client):
    response = auth_client.get("/api/v1/cart")
    assert response.status_code == 200
    assert response.json() == {"items": [], "subtotal": 0, "currency": "USD"}


@pytest.mark.django_db
def test_add_answers_201_with_the_cart_and_adds_to_the_same_line(auth_client):
    product = ProductFactory(price=450, stock=10)

    first = add(auth_client, product.pk, 2)
    second = add(auth_client, product.pk, 3)

    assert first.status_code == second.status_code == 201
    body = second.json()
    assert set(body) == {"items", "subtotal", "currency"}
    [line] = body["items"]
    assert set(line) == {"id", "product", "quantity", "line_total"}
    assert set(line["product"]) == PRODUCT_FIELDS
    assert (line["product"]["id"], line["quantity"], line["line_total"]) == (product.pk, 5, 2250)
    assert (body["subtotal"], body["currency"]) == (2250, "USD")


@pytest.mark.django_db
def test_add_more_than_stock_is_409_with_details_and_changes_nothing(auth_client):
    product = ProductFactory(stock=3)
    add(auth_client, product.pk, 2)

    response = add(auth_client, product.pk, 2)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "OUT_OF_STOCK"
    assert error["details"] == {"product_id": product.pk, "requested": 4, "available": 3}
    assert CartItem.objects.get().quantity == 2


@pytest.mark.django_db
def test_inactive_or_unknown_product_is_422(auth_client):
    hidden = ProductFactory(is_active=False)
    for product_id in (hidden.pk, 99_999_999):
        response = add(auth_client, product_id, 1)
        assert response.status_code == 422
        error = response.json()["error"]
        assert (error["code"], error["details"]) == ("PRODUCT_UNAVAILABLE", {"product_id": product_id})
    assert not CartItem.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "product_id"),
        ({"product_id": 1}, "quantity"),
        ({"product_id": 1, "quantity": 0}, "quantity"),
        ({"product_id": 1, "quantity": "2"}, "quantity"),
        ({"product_id": 1, "quantity": 10**20}, "quantity"),
        ({"product_id": "one", "quantity": 1}, "product_id"),
        ({"product_id": 10**30, "quantity": 1}, "product_id"),
    ],
)
def test_bad_add_bodies_are_400(auth_client, body, field):
    ProductFactory(stock=5000)
    response = auth_client.post("/api/v1/cart/items", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_patch_and_delete_a_line(auth_client):
    first, second = ProductFactory(price=100, stock=10), ProductFactory(price=300, stock=10)
    add(auth_client, first.pk, 1)
    line_id = add(auth_client, second.pk, 1).json()["items"][1]["id"]

    patched = auth_client.patch(f"/api/v1/cart/items/{line_id}", {"quantity": 4}, format="json")
    assert patched.status_code == 200
    assert patched.json()["subtotal"] == 100 + 1200

    too_many = auth_client.patch(f"/api/v1/cart/items/{line_id}", {"quantity": 11}, format="json")
    assert too_many.status_code == 409
    assert too_many.json()["error"]["details"] == {"product_id": second.pk, "requested": 11, "available": 10}
    zero = auth_client.patch(f"/api/v1/cart/items/{line_id}", {"quantity": 0}, format="json")
    assert zero.status_code == 400

    deleted = auth_client.delete(f"/api/v1/cart/items/{line_id}")
    assert deleted.status_code == 200
    assert [line["product"]["id"] for line in deleted.json()["items"]] == [first.pk]


@pytest.mark.django_db
def test_clear_cart_is_204(auth_client):
    add(auth_client, ProductFactory().pk, 1)
    response = auth_client.delete("/api/v1/cart")
    assert response.status_code == 204
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_another_users_line_is_404_and_untouched(auth_client):
    other = UserFactory()
    line = add_to_cart(user=other, product_id=ProductFactory(stock=9).pk, quantity=2)

    for response in (
        auth_client.patch(f"/api/v1/cart/items/{line.pk}", {"quantity": 1}, format="json"),
        auth_client.delete(f"/api/v1/cart/items/{line.pk}"),
        auth_client.delete("/api/v1/cart/items/99999999"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    auth_client.delete("/api/v1/cart")
    assert CartItem.objects.get(pk=line.pk).quantity == 2
