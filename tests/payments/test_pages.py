"""The storefront's card path: checkout, the self-refreshing order page, statuses in words, try again, cancel.

The PG simulator runs as a real process and calls back a live server of the shop (SITE_URL), as in
production; Celery runs eagerly, so the PG request is made right after the order commits. Every
page body is checked for the card number, which must never come back to the browser.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.cart.models import CartItem
from apps.cart.services import add_to_cart
from apps.catalog.models import Product
from apps.coupons.models import UserCoupon
from apps.orders.models import Order
from apps.outbox.models import OutboxEvent
from apps.payments import gateway, reconciliation
from apps.payments.models import Payment
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory
from tests.orders.helpers import balance, fund, world
from tests.pages import messages_of
from tests.payments.conftest import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

APPROVED = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
NO_FUNDS = "4000-0000-0000-9995"
NO_CALLBACK = "4000000000000341"  # approved, but only a status query finds out
NEVER_DECIDED = "4000000000000259"
ALL_CARDS = [APPROVED, DECLINED, NO_FUNDS, NO_CALLBACK, NEVER_DECIDED, "4111 1111 1111 1112"]
REFRESH = '<meta http-equiv="refresh" content="2">'


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def page(response) -> str:
    """The response's body and messages, after checking that no card number (typed or bare) is in them."""
    text = response.content.decode() + "\n".join(messages_of(response))
    for number in ALL_CARDS:
        assert number not in text and digits(number) not in text
    return text


def no_card_number_kept() -> None:
    """Neither the idempotency records (fingerprint, stored summary), the events nor the payments hold a number."""
    with connection.cursor() as cursor:
        dumped = ""
        for table in ("core_idempotencykey", "outbox_outboxevent", "payments_payment", "orders_order"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            dumped += repr(cursor.fetchall())
    for number in ALL_CARDS:
        assert digits(number) not in dumped


@pytest.fixture(autouse=True)
def shop(simulator, live_server, fast_retries):
    """The PG is the simulator; it calls back this live server."""
    fast_retries.PG_URL = simulator.url
    fast_retries.SITE_URL = live_server.url
    return live_server


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def pay(client, *, method="card", number=APPROVED, coupon="", token=None):
    token = token or token_of(client.get("/checkout/"))
    return client.post("/checkout/", {"token": token, "user_coupon": coupon, "payment_method": method, "card_number": number, "pay": "1"})


def order_settles(status: str) -> Order:
    assert wait_until(lambda: Order.objects.filter(status=status).exists(), timeout=10), list(Order.objects.values_list("status", flat=True))
    return Order.objects.get(status=status)


@pytest.fixture
def cart(shopper_client):
    product = ProductFactory(name="Desk lamp", price=2500, stock=3)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=2)
    return product


def test_checkout_offers_wallet_and_card_and_suggests_the_card_when_the_wallet_is_short(shopper_client, cart):
    html = page(shopper_client.get("/checkout/"))

    assert re.search(r'name="payment_method" value="wallet" id="pay-wallet">', html)
    assert re.search(r'name="payment_method" value="card" id="pay-card" checked>', html)  # the wallet cannot pay $50.00
    card_input = re.search(r"<input[^>]*name=\"card_number\"[^>]*>", html).group(0)
    assert 'inputmode="numeric"' in card_input and 'autocomplete="cc-number"' in card_input and "value=" not in card_input
    assert "Your wallet is $50.00 short" in html and "or pay by card" in html

    fund(shopper_client.user, 10_000)
    html = page(shopper_client.get("/checkout/"))
    assert re.search(r'value="wallet" id="pay-wallet" checked>', html) and "$50.00 left after paying" in html


def test_paying_by_card_shows_the_payment_being_confirmed_then_paid(shopper_client, cart):
    response = pay(shopper_client, number=APPROVED)

    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert f"Order #{order.pk} is placed. We are confirming your card payment of $50.00." in page(response)
    assert (order.status, order.payment_method, order.total) == ("pending_payment", "card", 5000)
    assert not CartItem.objects.exists()
    assert Product.objects.get(pk=cart.pk).stock == 1

    order = order_settles("paid")  # the simulator called the live shop back
    html = page(shopper_client.get(f"/orders/{order.pk}/"))
    assert REFRESH not in html
    assert "Thank you, your payment is confirmed." in html and "$50.00 was charged to your Visa •••• 4242" in html
    assert f'action="/orders/{order.pk}/cancel/"' in html and "Try again" not in html
    listing = page(shopper_client.get("/orders/"))
    assert ">Paid</span>" in listing and "Visa •••• 4242" in listing
    assert balance(shopper_client.user) == 0
    no_card_number_kept()


def test_the_order_page_refreshes_itself_only_while_the_payment_is_being_confirmed(shopper_client, cart):
    pay(shopper_client, number=NO_CALLBACK)
    order = Order.objects.get()
    assert wait_until(lambda: Payment.objects.filter(order=order, transaction_key__isnull=False).exists(), timeout=10)

    html = page(shopper_client.get(f"/orders/{order.pk}/"))
    assert html.count(REFRESH) == 1
    assert "We are confirming your card payment of $50.00 with your bank." in html and "refreshes by itself" in html
    assert ">Awaiting payment</span>" in html and "Visa •••• 0341" in html
    assert f'action="/orders/{order.pk}/cancel/"' in html  # cancellable while awaiting payment
    assert REFRESH not in page(shopper_client.get("/orders/"))
    assert ">Awaiting payment</span>" in page(shopper_client.get("/orders/"))

    # The callback never comes: once the PG has decided, the reconciler asks it and finds the approval.
    key = Payment.objects.get(order=order).transaction_key
    assert wait_until(lambda: gateway.gateway().get_payment(key).status == "approved", timeout=10)
    assert REFRESH in page(shopper_client.get(f"/orders/{order.pk}/"))
    Payment.objects.filter(order=order).update(next_attempt_at=timezone.now())
    assert reconciliation.reconcile_pending_payments() == 1

    html = page(shopper_client.get(f"/orders/{order.pk}/"))
    assert REFRESH not in html and "your payment is confirmed" in html


def test_an_order_never_paid_expires_and_says_what_to_do_next(shopper_client, cart):
    pay(shopper_client, number=NEVER_DECIDED)
    order = Order.objects.get()
    assert wait_until(lambda: Payment.objects.filter(order=order, transaction_key__isnull=False).exists(), timeout=10)
    assert REFRESH in page(shopper_client.get(f"/orders/{order.pk}/"))

    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reconciliation.expire_overdue_orders() == 1

    html = page(shopper_client.get(f"/orders/{order.pk}/"))
    assert REFRESH not in html
    assert ">Expired</span>" in html and "the payment was not confirmed in time" in html and "Your card was not charged." in html
    assert f'action="/orders/{order.pk}/try-again/"' in html and "Try again" in html
    assert f'action="/orders/{order.pk}/cancel/"' not in html
    assert Product.objects.get(pk=cart.pk).stock == 3
    assert ">Expired</span>" in page(shopper_client.get("/orders/"))


@pytest.mark.parametrize(
    ("number", "words"),
    [(DECLINED, "Payment failed: the card was declined"), (NO_FUNDS, "Payment failed: the card has insufficient funds")],
)
def test_a_declined_card_says_why_in_words_and_offers_to_try_again(shopper_client, cart, number, words):
    pay(shopper_client, number=number)

    order = order_settles("payment_failed")
    html = page(shopper_client.get(f"/orders/{order.pk}/"))
    assert REFRESH not in html
    assert f">{words}</span>" in html and "Nothing was charged." in html and "try again with another card, or pay from your wallet" in html
    assert f'action="/orders/{order.pk}/try-again/"' in html
    assert f'action="/orders/{order.pk}/cancel/"' not in html
    assert f">{words}</span>" in page(shopper_client.get("/orders/"))
    assert Product.objects.get(pk=cart.pk).stock == 3


def test_try_again_puts_the_lines_back_and_a_new_card_order_pays(shopper_client, cart):
    pay(shopper_client, number=DECLINED)
    failed = order_settles("payment_failed")

    response = shopper_client.post(f"/orders/{failed.pk}/try-again/")

    assert response.status_code == 302 and response["Location"] == "/checkout/"
    assert f"The items of order #{failed.pk} are back in your cart." in page(response)
    assert list(CartItem.objects.values_list("product_id", "quantity")) == [(cart.pk, 2)]
    # Asked twice (a second click), the cart is not doubled.
    shopper_client.post(f"/orders/{failed.pk}/try-again/")
    assert list(CartItem.objects.values_list("product_id", "quantity")) == [(cart.pk, 2)]

    checkout = shopper_client.get(response["Location"])
    assert "Desk lamp" in page(checkout)
    pay(shopper_client, number=APPROVED, token=token_of(checkout))

    paid = order_settles("paid")
    assert paid.pk != failed.pk and paid.total == 5000
    assert Order.objects.get(pk=failed.pk).status == "payment_failed"
    assert Product.objects.get(pk=cart.pk).stock == 1


def test_try_again_is_capped_by_stock_and_says_so(shopper_client, cart):
    other = ProductFactory(name="Bulb", price=100, stock=5)
    add_to_cart(user=shopper_client.user, product_id=other.pk, quantity=1)
    pay(shopper_client, number=NO_FUNDS)
    failed = order_settles("payment_failed")
    Product.objects.filter(pk=cart.pk).update(stock=1)
    Product.objects.filter(pk=other.pk).update(stock=0)

    response = shopper_client.post(f"/orders/{failed.pk}/try-again/")

    texts = messages_of(response)
    assert "Only 1 of the 2 × Desk lamp are left: that is what your cart holds now." in texts
    assert "Bulb is sold out or no longer sold, so it is not in your cart." in texts
    assert response["Location"] == "/checkout/"
    assert list(CartItem.objects.values_list("product_id", "quantity")) == [(cart.pk, 1)]

    Product.objects.filter(pk=cart.pk).update(stock=0)
    CartItem.objects.all().delete()
    nothing = shopper_client.post(f"/orders/{failed.pk}/try-again/")
    assert nothing["Location"] == f"/orders/{failed.pk}/"
    assert f"None of the items of order #{failed.pk} can be bought right now." in messages_of(nothing)


def test_try_again_is_refused_for_an_order_that_did_not_fail(shopper_client, cart):
    fund(shopper_client.user, 10_000)
    pay(shopper_client, method="wallet", number="")
    order = Order.objects.get()

    response = shopper_client.post(f"/orders/{order.pk}/try-again/")

    assert response["Location"] == f"/orders/{order.pk}/"
    assert "only an order whose payment failed or expired can be tried again" in messages_of(response)[-1]
    assert not CartItem.objects.exists()
    assert shopper_client.get(f"/orders/{order.pk}/try-again/").status_code == 405


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("4242 4242 4242 4241", "This card number is not valid; please check it."),
        ("", "Enter a card number."),
        ("4242 abcd", "A card number has only digits (spaces and dashes are fine)."),
        ("4" * 41, "A card number has 13 to 19 digits."),
    ],
)
def test_a_bad_card_number_is_explained_keeping_everything_but_the_number(shopper_client, cart, number, problem):
    coupon = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_value=500))
    before = world()

    response = pay(shopper_client, number=number, coupon=coupon.pk)

    assert response.status_code == 400
    html = page(response)
    assert problem in html and "Nothing was charged" not in html
    assert "value=" not in re.search(r"<input[^>]*name=\"card_number\"[^>]*>", html).group(0)
    assert re.search(rf'value="{coupon.pk}"[^>]*checked', html)
    assert re.search(r'value="card" id="pay-card" checked>', html)
    assert world() == before


def test_pg_down_says_when_to_come_back_keeps_the_form_and_the_wallet_still_pays(shopper_client, cart, fast_retries, settings):
    coupon = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_value=500))
    fund(shopper_client.user, 10_000)
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"  # nobody answers: calls fail until the shared breaker opens
    for _ in range(settings.PG_BREAKER_MIN_CALLS):
        with pytest.raises(gateway.GatewayUnreachable):
            gateway.gateway().get_payment("pg_unknown")
    assert gateway.gateway().breaker.state().name == "open"
    before = world()
    token = token_of(shopper_client.get("/checkout/"))

    response = pay(shopper_client, number=APPROVED, coupon=coupon.pk, token=token)

    assert response.status_code == 503
    assert 1 <= int(response["Retry-After"]) <= settings.PG_BREAKER_OPEN_SECONDS
    html = page(response)
    assert re.search(r"Card payments are unavailable right now, try again in \d+ seconds or pay from your wallet\.", html)
    assert re.search(rf'value="{coupon.pk}"[^>]*checked', html) and re.search(r'value="card" id="pay-card" checked>', html)
    assert world() == before

    by_wallet = pay(shopper_client, method="wallet", number="", coupon=coupon.pk, token=token)
    assert by_wallet.status_code == 302
    order = Order.objects.get()
    assert (order.status, order.payment_method, order.total) == ("paid", "wallet", 4500)
    assert UserCoupon.objects.get(pk=coupon.pk).status == "used"


def test_a_short_wallet_is_explained_with_the_card_as_a_way_out(shopper_client, cart):
    fund(shopper_client.user, 1000)
    response = pay(shopper_client, method="wallet", number="")
    assert response.status_code == 409
    assert "Your wallet has $10.00 but this order costs $50.00" in page(response) and "Or pay by card" in page(response)

    paid_by_card = pay(shopper_client, number=APPROVED)
    assert paid_by_card.status_code == 302 and order_settles("paid").payment_method == "card"
    assert balance(shopper_client.user) == 1000


def test_submitting_the_card_form_twice_orders_once(shopper_client, cart):
    token = token_of(shopper_client.get("/checkout/"))

    first = pay(shopper_client, number=APPROVED, token=token)
    add_to_cart(user=shopper_client.user, product_id=cart.pk, quantity=1)
    second = pay(shopper_client, number=APPROVED, token=token)

    order = Order.objects.get()
    assert first["Location"] == second["Location"] == f"/orders/{order.pk}/"
    assert "not ordered twice" in page(second)
    assert Payment.objects.count() == 1
    order_settles("paid")
    no_card_number_kept()


def test_cancelling_a_card_order_while_awaiting_payment_and_after_paying(shopper_client, cart):
    pay(shopper_client, number=NEVER_DECIDED)
    waiting = Order.objects.get()
    assert wait_until(lambda: Payment.objects.filter(order=waiting, transaction_key__isnull=False).exists(), timeout=10)
    assert "your Visa •••• 0259 is not charged" in page(shopper_client.get(f"/orders/{waiting.pk}/cancel/"))

    response = shopper_client.post(f"/orders/{waiting.pk}/cancel/")

    assert f"Order #{waiting.pk} is cancelled: your Visa •••• 0259 was not charged." in page(response)
    html = page(shopper_client.get(f"/orders/{waiting.pk}/"))
    assert ">Cancelled, not charged</span>" in html and REFRESH not in html

    add_to_cart(user=shopper_client.user, product_id=cart.pk, quantity=1)
    pay(shopper_client, number=APPROVED)
    paid = order_settles("paid")
    assert "$25.00 is refunded to your Visa •••• 4242" in page(shopper_client.get(f"/orders/{paid.pk}/"))

    response = shopper_client.post(f"/orders/{paid.pk}/cancel/")

    assert f"Order #{paid.pk} is cancelled: the refund of $25.00 to your Visa •••• 4242 is on its way." in page(response)
    assert wait_until(lambda: Payment.objects.filter(order=paid, status="refunded").exists(), timeout=10)
    html = page(shopper_client.get(f"/orders/{paid.pk}/"))
    assert ">Cancelled, refunded</span>" in html and "$25.00 was refunded to your Visa •••• 4242" in html
    listing = page(shopper_client.get("/orders/"))
    assert ">Cancelled, refunded</span>" in listing and ">Cancelled, not charged</span>" in listing
    assert Product.objects.get(pk=cart.pk).stock == 3
    assert OutboxEvent.objects.filter(type="payment.refunded", aggregate_id=str(paid.pk)).count() == 1


def test_a_refund_in_progress_is_said_so(shopper_client, cart, settings):
    pay(shopper_client, number=APPROVED)
    paid = order_settles("paid")
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"  # the refund cannot reach the PG for now

    shopper_client.post(f"/orders/{paid.pk}/cancel/")

    assert Payment.objects.get(order=paid).status == "refund_pending"
    html = page(shopper_client.get(f"/orders/{paid.pk}/"))
    assert ">Cancelled, refund in progress</span>" in html and "the refund of $50.00 to your Visa •••• 4242 is in progress" in html
