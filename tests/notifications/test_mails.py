"""Order mails through a real SMTP server: which mail each order event sends, and what it says.

Celery runs eagerly here, so publish()'s on-commit trigger runs the e-mail consumer right after each
commit, in this process: a mail has arrived by the time the service returns.
"""

import pytest
from django.db import transaction

from apps.notifications.services import EMAIL_CONSUMER_NAME, send_for_event
from apps.orders import services
from apps.orders.models import Order
from apps.outbox import consumers
from apps.outbox.models import ConsumedEvent, OutboxEvent
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import fund

pytestmark = pytest.mark.django_db(transaction=True)


def wallet_order(user, *lines, coupon=None) -> Order:
    return services.place_order(
        user=user, lines=[services.OrderLine(product.pk, quantity) for product, quantity in lines], user_coupon_id=coupon and coupon.pk
    )


def event_of(order: Order, type: str) -> OutboxEvent:
    return OutboxEvent.objects.get(aggregate_type="orders.order", aggregate_id=str(order.pk), type=type)


def test_a_paid_order_is_confirmed_once_with_its_number_lines_totals_and_link(smtp_server):
    user = UserFactory(email="ada@example.com", name="Ada")
    mug, tea = ProductFactory(name="Flash mug", price=1250), ProductFactory(name="Green tea", price=399)
    coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=500))
    fund(user, 10_000)

    order = wallet_order(user, (mug, 2), (tea, 3), coupon=coupon)

    assert (order.subtotal, order.discount, order.total) == (3697, 500, 3197)
    [mail] = smtp_server.mails()
    assert mail.recipients == ["ada@example.com"]
    assert mail.sender == "orders@shop.example.com"
    assert mail.subject == f"Your Flashcart order #{order.pk} is confirmed"
    assert mail.message["Message-ID"] == f"<{event_of(order, 'order.paid').event_id}@shop.example.com>"
    link = f"https://shop.example.com/orders/{order.pk}/"
    for body in (mail.text, mail.html):
        assert f"#{order.pk}" in body
        assert "Ada" in body
        assert "$25.00" in body and "$11.97" in body  # the two lines
        assert "$36.97" in body and "$5.00" in body and "$31.97" in body  # subtotal, discount, total
        assert link in body
    assert "Discount: −$5.00" in mail.text
    assert "2 x Flash mug at $12.50: $25.00" in mail.text
    assert "3 x Green tea at $3.99: $11.97" in mail.text
    assert "Total: $31.97" in mail.text
    assert f'href="{link}"' in mail.html
    assert ConsumedEvent.objects.get(consumer=EMAIL_CONSUMER_NAME, event=event_of(order, "order.paid")).status == "done"

    assert consumers.run(EMAIL_CONSUMER_NAME).handled == 0  # read again: nothing more is sent
    assert len(smtp_server.mails()) == 1


def test_names_are_plain_in_the_text_mail_and_escaped_in_the_html_one(smtp_server):
    user = UserFactory()
    fund(user, 10_000)

    wallet_order(user, (ProductFactory(name="Tea & <Biscuits>", price=500), 1))

    [mail] = smtp_server.mails()
    assert "1 x Tea & <Biscuits> at $5.00" in mail.text
    assert "Tea &amp; &lt;Biscuits&gt;" in mail.html and "<Biscuits>" not in mail.html


def test_every_paid_order_gets_exactly_one_confirmation(smtp_server):
    shoppers = [UserFactory() for _ in range(5)]
    product = ProductFactory(price=1000, stock=100)
    orders = []
    for shopper in shoppers:
        fund(shopper, 10_000)
        orders += [wallet_order(shopper, (product, 1)) for _ in range(2)]

    consumers.run(EMAIL_CONSUMER_NAME)

    subjects = sorted(mail.subject for mail in smtp_server.mails())
    assert subjects == sorted(f"Your Flashcart order #{order.pk} is confirmed" for order in orders)
    for order in orders:
        [mail] = [mail for mail in smtp_server.mails() if f"#{order.pk} " in mail.subject]
        assert mail.recipients == [order.user.email]


def test_no_mail_when_the_orders_transaction_rolled_back(smtp_server):
    user, product = UserFactory(), ProductFactory(price=1000, stock=5)
    fund(user, 10_000)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        wallet_order(user, (product, 1))
        raise Abandoned

    assert not Order.objects.exists()
    assert consumers.run(EMAIL_CONSUMER_NAME).handled == 0
    assert smtp_server.mails() == []


def test_a_cancelled_wallet_order_says_the_money_is_back_in_the_wallet(smtp_server):
    user, product = UserFactory(), ProductFactory(price=2500, stock=5)
    fund(user, 10_000)
    order = wallet_order(user, (product, 2))

    services.cancel_order(user=user, order_id=order.pk)
    consumers.run(EMAIL_CONSUMER_NAME)

    confirmation, cancellation = smtp_server.mails()
    assert confirmation.subject == f"Your Flashcart order #{order.pk} is confirmed"
    assert cancellation.subject == f"Your Flashcart order #{order.pk} is cancelled"
    assert cancellation.recipients == [user.email]
    assert "$50.00 is back in your Flashcart wallet." in cancellation.text
    assert "$50.00 is back in your Flashcart wallet." in cancellation.html
    assert "Total: $50.00" in cancellation.text
    assert f"https://shop.example.com/orders/{order.pk}/" in cancellation.text


def test_a_fully_discounted_cancelled_order_says_nothing_was_charged(smtp_server):
    user, product = UserFactory(), ProductFactory(price=400, stock=5)
    coupon = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="fixed", discount_value=500))
    order = wallet_order(user, (product, 1), coupon=coupon)
    assert order.total == 0

    services.cancel_order(user=user, order_id=order.pk)

    cancellation = smtp_server.mails()[-1]
    assert cancellation.subject == f"Your Flashcart order #{order.pk} is cancelled"
    assert "Nothing was charged for this order." in cancellation.text


def test_mail_is_never_sent_inside_a_transaction(smtp_server):
    user = UserFactory()
    fund(user, 10_000)
    order = wallet_order(user, (ProductFactory(), 1))

    with pytest.raises(RuntimeError, match="never sent inside a transaction"), transaction.atomic():
        send_for_event(event_of(order, "order.paid"))

    assert len(smtp_server.mails()) == 1  # only the one the consumer sent after the commit


def test_an_event_whose_order_is_gone_sends_nothing_and_is_done(smtp_server, monkeypatch):
    from apps.outbox import services as outbox_services

    monkeypatch.setattr(outbox_services, "_trigger_consumer", lambda name: None)
    user = UserFactory()
    with transaction.atomic():
        event = outbox_services.publish(type="order.paid", aggregate=user, data={"order_id": 987654321, "user_id": user.pk})

    assert consumers.run(EMAIL_CONSUMER_NAME).handled == 1
    assert smtp_server.mails() == []
    assert ConsumedEvent.objects.get(consumer=EMAIL_CONSUMER_NAME, event=event).status == "done"
