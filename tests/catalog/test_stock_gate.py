"""Sold out from memory (apps.catalog.stock_gate): refused without the database, never refusing a unit the database has."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_redis import get_redis_connection

from apps.catalog import stock_gate
from apps.catalog.models import Product
from apps.catalog.services import adjust_stock
from apps.orders import services
from apps.orders.models import Order
from tests.concurrency import race
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import fund

pytestmark = pytest.mark.django_db(transaction=True)


def buy(user, product, quantity=1, **kwargs):
    return services.place_order(user=user, lines=[services.OrderLine(product.pk, quantity)], **kwargs)


def order_api(client, product, quantity=1, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/orders", {"items": [{"product_id": product.pk, "quantity": quantity}]}, format="json", headers=headers)


def test_taking_the_last_unit_marks_the_product_and_the_next_checkout_is_refused_without_the_database(auth_client):
    product = ProductFactory(price=100, stock=1)
    fund(auth_client.user, 1000)
    assert order_api(auth_client, product).status_code == 201
    assert stock_gate.sold_out_among([product.pk]) == [product.pk]

    with CaptureQueriesContext(connection) as queries:
        response = order_api(auth_client, product, quantity=2, key="after-sold-out")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "OUT_OF_STOCK", "message": "This product is sold out.", "details": {"product_id": product.pk, "requested": 2, "available": 0},
    }
    order_queries = [q["sql"] for q in queries.captured_queries if "authtoken" not in q["sql"] and "accounts_user" not in q["sql"]]
    assert order_queries == []
    assert Order.objects.count() == 1


@pytest.mark.parametrize("how", ["restock", "cancel", "expiry", "failed payment"])
def test_every_increase_reopens_the_product_at_once(how, settings):
    settings.PG_URL = ""  # the card order below is never sent anywhere: its outcome is applied by hand
    product = ProductFactory(price=100, stock=1)
    buyer = UserFactory()
    fund(buyer, 1000)
    if how in ("expiry", "failed payment"):
        from apps.payments.models import Payment

        order = services.place_order(user=buyer, lines=[services.OrderLine(product.pk, 1)], payment_method="card", card_number="4242424242424242")
        Payment.objects.filter(order=order).update(transaction_key="tx-1")
    else:
        order = buy(buyer, product)
    assert stock_gate.sold_out_among([product.pk]) == [product.pk]

    if how == "restock":
        adjust_stock(product_id=product.pk, delta=1, reason="delivery")
    elif how == "cancel":
        services.cancel_order(user=buyer, order_id=order.pk)
    elif how == "expiry":
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert services.expire_order(order_id=order.pk) is not None
    else:
        services.record_payment_outcome(order_id=order.pk, transaction_key="tx-1", approved=False, reason="card_declined")

    assert stock_gate.sold_out_among([product.pk]) == []
    assert buy(buyer, product).status == "paid"


def test_a_mark_set_late_never_hides_a_restock_that_committed_first():
    product = ProductFactory(price=100, stock=0)
    adjust_stock(product_id=product.pk, delta=1, reason="delivery")  # generation 1, no mark
    client = get_redis_connection("default")
    generation_before = client.get(stock_gate._generation_key(product.pk))
    # The order that emptied the product read the generation before this restock: its late mark must not stick.
    stock_gate.reopen([product.pk])
    script = client.register_script(stock_gate._MARK_IF_UNCHANGED)
    assert script(keys=[stock_gate._mark_key(product.pk), stock_gate._generation_key(product.pk)], args=[generation_before.decode(), 1, 60_000]) == 0
    assert stock_gate.sold_out_among([product.pk]) == []


def test_a_forgotten_gate_sends_checkouts_to_the_database_which_refuses_them(auth_client):
    product = ProductFactory(price=100, stock=1)
    fund(auth_client.user, 1000)
    assert order_api(auth_client, product).status_code == 201
    get_redis_connection("default").flushdb()

    response = order_api(auth_client, product)

    assert response.status_code == 409 and response.json()["error"]["details"]["available"] == 0


def test_a_retry_of_a_completed_order_is_replayed_not_refused_from_memory(auth_client):
    product = ProductFactory(price=100, stock=1)
    fund(auth_client.user, 1000)
    first = order_api(auth_client, product, key="buy-the-last-one")
    retry = order_api(auth_client, product, key="buy-the-last-one")

    assert first.status_code == retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()


def test_racing_buyers_and_restocks_never_oversell_and_never_leave_a_stale_mark():
    product = ProductFactory(price=100, stock=5)
    buyers = [UserFactory() for _ in range(30)]
    for buyer in buyers:
        fund(buyer, 1000)

    def attempt(buyer):
        try:
            return buy(buyer, product)
        except Exception as exc:  # OUT_OF_STOCK from the gate or the database
            return exc

    workers = [lambda buyer=buyer: attempt(buyer) for buyer in buyers]
    workers += [lambda: adjust_stock(product_id=product.pk, delta=1, reason="restock") for _ in range(5)]
    results = race(workers)

    sold = sum(isinstance(result, Order) for result in results)
    stock = Product.objects.get(pk=product.pk).stock
    assert sold == 10 - stock and stock >= 0
    if stock > 0:  # a unit the database has is never refused from memory
        assert stock_gate.sold_out_among([product.pk]) == []
