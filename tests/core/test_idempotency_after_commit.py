"""Defects found by fault injection: what runs after COMMIT never undoes an idempotent answer, and keys compare byte for byte."""

import pytest
from django.db import transaction

from apps.catalog import services as catalog_services
from apps.core.models import IdempotencyKey
from apps.orders import services as order_services
from apps.orders.models import Order
from apps.wallets.models import WalletTransaction
from tests.factories import ProductFactory
from tests.orders.helpers import balance, fund

pytestmark = pytest.mark.django_db(transaction=True)


def order(client, product, key):
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}
    return client.post("/api/v1/orders", body, format="json", headers={"Idempotency-Key": key})


def test_a_cache_failure_after_commit_does_not_turn_the_order_into_an_error_or_a_second_charge(auth_client, monkeypatch):
    """Redis down: the product cache cannot be invalidated after the order commits."""
    product = ProductFactory(price=500, stock=5)
    fund(auth_client.user, 2000)

    def cache_down(**kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(catalog_services, "invalidate_product_cache", cache_down)

    first = order(auth_client, product, "pay-once")
    retry = order(auth_client, product, "pay-once")

    assert first.status_code == 201
    assert (retry.status_code, retry["Idempotent-Replayed"], retry.json()) == (201, "true", first.json())
    assert Order.objects.count() == 1
    assert WalletTransaction.objects.filter(kind="payment").count() == 1
    assert balance(auth_client.user) == 1500


def test_any_step_that_raises_after_commit_still_answers_the_committed_order_and_completes_its_key(auth_client, monkeypatch):
    """The class of the defect: an on-commit step registered without `robust` (or one whose logging fails) raises after COMMIT."""
    product = ProductFactory(price=500, stock=5)
    fund(auth_client.user, 2000)
    real_publish = order_services.publish

    def publish_then_fail_after_commit(**kwargs):
        real_publish(**kwargs)

        def broker_down():
            raise OSError("broker unreachable")

        transaction.on_commit(broker_down)

    monkeypatch.setattr(order_services, "publish", publish_then_fail_after_commit)

    first = order(auth_client, product, "after-commit")
    monkeypatch.undo()
    retry = order(auth_client, product, "after-commit")

    assert first.status_code == 201
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert balance(auth_client.user) == 1500
    assert IdempotencyKey.objects.get().status == IdempotencyKey.Status.COMPLETED


@pytest.mark.parametrize(("first_key", "second_key"), [("ABC", "abc"), ("café-1", "cafe-1")])
def test_keys_differing_in_case_or_accents_are_different_keys(auth_client, first_key, second_key):
    product = ProductFactory(price=500, stock=5)
    fund(auth_client.user, 2000)

    first = order(auth_client, product, first_key)
    second = order(auth_client, product, second_key)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["id"] != second.json()["id"]
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == sorted([first_key, second_key])
