"""The request_payment task against the simulator: the PG gets the card, the database only brand and last 4."""

import pytest
from django.db import connection

from apps.orders.models import Order
from apps.payments import cards, services, tasks
from apps.payments.models import Payment
from tests.factories import UserFactory
from tests.payments.conftest import free_port, wait_until

CARD = "4000 0000 0000 9995"  # declined, insufficient_funds
DIGITS = "4000000000009995"


@pytest.fixture
def card_payment(db):
    order = Order.objects.create(user=UserFactory(), subtotal=2500, total=2500)
    return services.create_payment(order=order, method=Payment.Method.CARD, amount=2500, card_digits=cards.validate(CARD))


def all_payment_columns_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_payment")
        return repr(cursor.fetchall())


def test_card_payment_keeps_brand_and_last4_only(card_payment):
    assert (card_payment.status, card_payment.card_brand, card_payment.card_last4, card_payment.transaction_key) == ("pending", "visa", "9995", None)
    assert DIGITS not in all_payment_columns_text()


def test_wallet_payment_has_no_card_fields(db):
    order = Order.objects.create(user=UserFactory(), subtotal=100, total=100)
    payment = services.create_payment(order=order, method=Payment.Method.WALLET, amount=100)
    assert (payment.status, payment.card_brand, payment.card_last4) == ("approved", None, None)


@pytest.mark.django_db(transaction=True)
def test_task_requests_the_payment_once_and_the_pg_calls_back(simulator, receiver, card_payment, settings, fast_retries, breaker_name):
    settings.PG_URL = simulator.url
    shop = receiver()
    settings.SITE_URL = shop.url.removesuffix("/api/v1/payments/callback")
    sealed = cards.seal(cards.validate(CARD))

    assert tasks.request_payment.apply(args=(card_payment.pk, sealed)).get() == "requested"
    card_payment.refresh_from_db()
    assert card_payment.transaction_key.startswith("pg_") and card_payment.requested_at is not None
    assert card_payment.next_attempt_at > card_payment.requested_at  # the reconciler's first look
    # Run twice (a redelivered message): nothing new at the PG, the same key kept.
    assert tasks.request_payment.apply(args=(card_payment.pk, sealed)).get() == "already_requested"

    deliveries = wait_until(lambda: shop.snapshot(), timeout=3.0)
    assert [delivery.json for delivery in deliveries] == [
        {"transaction_key": card_payment.transaction_key, "order_id": card_payment.order_id, "status": "declined", "reason": "insufficient_funds"}
    ]
    assert DIGITS not in all_payment_columns_text()


@pytest.mark.django_db(transaction=True)
def test_pg_down_counts_an_attempt_and_schedules_the_next(card_payment, settings, fast_retries):
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"
    outcome = services.request_card_payment(payment_id=card_payment.pk, sealed_card=cards.seal(DIGITS))
    assert outcome.result == "retry" and 0 <= outcome.retry_in <= services.REQUEST_RETRY_CAP_SECONDS
    card_payment.refresh_from_db()
    assert (card_payment.attempts, card_payment.transaction_key) == (1, None)
    assert card_payment.next_attempt_at is not None


@pytest.mark.django_db(transaction=True)
def test_unreadable_sealed_card_gives_up(card_payment):
    assert services.request_card_payment(payment_id=card_payment.pk, sealed_card="not-a-sealed-number").result == "unreadable_card"
    card_payment.refresh_from_db()
    assert card_payment.transaction_key is None
