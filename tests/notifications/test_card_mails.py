"""Card order outcomes mailed through a real SMTP server, with the PG simulator (a real process) deciding payments.

As in tests/payments/test_transitions.py, Celery runs eagerly and each test applies the PG's answer
itself, as the callback endpoint or the reconciler would.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications.services import EMAIL_CONSUMER_NAME
from apps.orders import services
from apps.orders.models import Order
from apps.outbox import consumers
from apps.payments.models import Payment
from tests.factories import ProductFactory, UserFactory
from tests.payments.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

APPROVED = "4242 4242 4242 4242"
DECLINED = "4000000000000002"
SITE = "http://127.0.0.1:9"  # nobody listens: the PG's callbacks go nowhere, the tests apply them


@pytest.fixture(autouse=True)
def gateway_is_the_simulator(smtp_server, simulator, fast_retries):
    fast_retries.PG_URL = simulator.url
    fast_retries.SITE_URL = SITE


def card_order(user, product, *, quantity=1, number=APPROVED) -> Order:
    return services.place_order(user=user, lines=[services.OrderLine(product.pk, quantity)], payment_method="card", card_number=number)


def requested_payment(order) -> Payment:
    assert wait_until(lambda: Payment.objects.filter(order=order, transaction_key__isnull=False).exists(), timeout=10)
    return Payment.objects.get(order=order)


def subjects(smtp_server, user) -> list[str]:
    return [mail.subject for mail in smtp_server.to(user.email)]


def test_a_card_order_is_confirmed_once_when_the_pg_approves_it_however_often_the_answer_comes(smtp_server):
    user, product = UserFactory(), ProductFactory(name="Card reader", price=1500, stock=5)
    order = card_order(user, product, quantity=2)
    payment = requested_payment(order)
    assert smtp_server.mails() == []  # placed, not paid: nothing to say yet

    for _ in range(3):  # the callback, a redelivered callback, the reconciler
        services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)
    consumers.run(EMAIL_CONSUMER_NAME)

    [mail] = smtp_server.mails()
    assert mail.recipients == [user.email]
    assert mail.subject == f"Your Flashcart order #{order.pk} is confirmed"
    assert "2 x Card reader at $15.00: $30.00" in mail.text and "Total: $30.00" in mail.text
    assert f"{SITE}/orders/{order.pk}/" in mail.text


def test_a_declined_payment_sends_one_payment_failed_mail_in_plain_words(smtp_server):
    user, product = UserFactory(), ProductFactory(price=1000, stock=3)
    order = card_order(user, product, number=DECLINED)
    payment = requested_payment(order)

    services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=False, reason="card_declined")
    services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=False, reason="card_declined")
    consumers.run(EMAIL_CONSUMER_NAME)

    [mail] = smtp_server.mails()
    assert mail.subject == f"Payment failed for your Flashcart order #{order.pk}"
    assert "did not go through (the card was declined)" in mail.text
    assert "did not go through (the card was declined)" in mail.html
    assert "Total: $10.00" in mail.text and f"{SITE}/orders/{order.pk}/" in mail.text


def test_an_expired_order_sends_one_expiry_mail_and_a_late_approval_a_refund_mail(smtp_server):
    user, product = UserFactory(), ProductFactory(price=1000, stock=3)
    order = card_order(user, product)
    payment = requested_payment(order)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    services.expire_order(order_id=order.pk)
    services.expire_order(order_id=order.pk)
    [expiry] = smtp_server.mails()
    assert expiry.subject == f"Your Flashcart order #{order.pk} has expired"
    assert "the order has expired and nothing was charged" in expiry.text
    assert "Total: $10.00" in expiry.text and f"{SITE}/orders/{order.pk}/" in expiry.text

    # The PG approves after all: the shop refunds the charge and says so.
    services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)
    assert wait_until(lambda: Payment.objects.get(pk=payment.pk).status == "refunded", timeout=10)
    consumers.run(EMAIL_CONSUMER_NAME)

    assert subjects(smtp_server, user) == [
        f"Your Flashcart order #{order.pk} has expired",
        f"Your refund for Flashcart order #{order.pk} is complete",
    ]
    assert "We have refunded $10.00 to your card for order" in smtp_server.mails()[1].text


def test_cancelling_a_paid_card_order_mails_the_cancellation_then_the_completed_refund(smtp_server):
    user, product = UserFactory(), ProductFactory(price=2000, stock=5)
    order = card_order(user, product)
    payment = requested_payment(order)
    services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)

    services.cancel_order(user=user, order_id=order.pk)
    assert wait_until(lambda: Payment.objects.get(pk=payment.pk).status == "refunded", timeout=10)
    consumers.run(EMAIL_CONSUMER_NAME)

    confirmation, cancellation, refund = smtp_server.to(user.email)
    assert confirmation.subject == f"Your Flashcart order #{order.pk} is confirmed"
    assert cancellation.subject == f"Your Flashcart order #{order.pk} is cancelled"
    assert "We are refunding $20.00 to your card. We will write again when the refund is complete" in cancellation.text
    assert refund.subject == f"Your refund for Flashcart order #{order.pk} is complete"
    assert "We have refunded $20.00 to your card" in refund.text and "We have refunded $20.00 to your card" in refund.html
    for mail in (cancellation, refund):
        assert "Total: $20.00" in mail.text and f"{SITE}/orders/{order.pk}/" in mail.text


def test_cancelling_an_unpaid_card_order_says_nothing_was_charged(smtp_server):
    user, product = UserFactory(), ProductFactory(price=1000, stock=5)
    order = card_order(user, product)
    requested_payment(order)

    services.cancel_order(user=user, order_id=order.pk)

    [mail] = smtp_server.mails()
    assert mail.subject == f"Your Flashcart order #{order.pk} is cancelled"
    assert "Your card payment was cancelled before it went through, so nothing was charged." in mail.text
