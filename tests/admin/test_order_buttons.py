"""The order page's Cancel and Refund now buttons: a confirmation page on GET, the services on POST."""

import pytest

from apps.catalog.models import Product
from apps.orders.models import Order
from apps.orders.services import OrderLine, place_order
from apps.payments.models import Payment
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import balance, fund
from tests.pages import messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def paid_order():
    product = ProductFactory(price=1250, stock=5)
    buyer = UserFactory(email="buyer@example.com")
    fund(buyer, 10_000)
    return place_order(user=buyer, lines=[OrderLine(product.pk, 2)])


def test_the_order_page_offers_cancel_and_shows_its_money(staff, paid_order):
    html = staff.get(f"/admin/orders/order/{paid_order.pk}/change/").content.decode()
    assert f'href="/admin/orders/order/{paid_order.pk}/cancel/"' in html and "Cancel order" in html
    assert "Refund now" not in html, "a wallet order has no card refund"
    assert "$25.00" in html and "$12.50" in html


def test_cancel_asks_first_then_cancels_through_the_service(staff, paid_order):
    confirm = staff.get(f"/admin/orders/order/{paid_order.pk}/cancel/")
    page = confirm.content.decode()
    assert confirm.status_code == 200 and f"Yes, cancel order #{paid_order.pk}" in page
    assert "$25.00 goes back to the shopper&#x27;s wallet at once." in page
    assert Order.objects.get(pk=paid_order.pk).status == "paid", "nothing happens before the confirmation"

    response = staff.post(f"/admin/orders/order/{paid_order.pk}/cancel/", follow=True)

    assert response.redirect_chain[-1][0] == f"/admin/orders/order/{paid_order.pk}/change/"
    assert f"Order #{paid_order.pk} is cancelled; $25.00 is being returned." in messages_of(response)
    assert Order.objects.get(pk=paid_order.pk).status == "cancelled"
    assert balance(paid_order.user) == 10_000 and Product.objects.get().stock == 5
    again = staff.post(f"/admin/orders/order/{paid_order.pk}/cancel/", follow=True)
    assert f"Order #{paid_order.pk} was not cancelled: Order #{paid_order.pk} is cancelled and cannot be cancelled." in messages_of(again)
    assert "Cancel order" not in staff.get(f"/admin/orders/order/{paid_order.pk}/change/").content.decode()


def test_staff_who_may_only_view_get_no_buttons_and_cannot_post(client, paid_order):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    assert "Cancel order" not in client.get(f"/admin/orders/order/{paid_order.pk}/change/").content.decode()
    assert client.post(f"/admin/orders/order/{paid_order.pk}/cancel/").status_code == 403
    assert client.post(f"/admin/orders/order/{paid_order.pk}/refund/").status_code == 403
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


def test_a_stuck_card_refund_gets_a_refund_button_that_asks_then_tries_the_gateway(staff, settings):
    from tests.payments.conftest import free_port

    buyer = UserFactory()
    order = Order.objects.create(user=buyer, status=Order.Status.CANCELLED, payment_method=Order.PaymentMethod.CARD, subtotal=2500, total=2500)
    payment = Payment.objects.create(order=order, method=Payment.Method.CARD, amount=2500, status=Payment.Status.REFUND_PENDING,
                                     transaction_key="tx-stuck", card_brand="visa", card_last4="4242")
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"  # nothing answers: the refund stays pending

    html = staff.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f'href="/admin/orders/order/{order.pk}/refund/"' in html and "Cancel order" not in html
    confirm = staff.get(f"/admin/orders/order/{order.pk}/refund/").content.decode()
    assert "Yes, refund $25.00" in confirm
    assert Payment.objects.get(pk=payment.pk).attempts == 0

    response = staff.post(f"/admin/orders/order/{order.pk}/refund/", follow=True)

    assert f"Payment #{payment.pk} (order #{order.pk}): the PG could not be reached; the refund is tried again automatically." in messages_of(response)
    assert Payment.objects.get(pk=payment.pk).status == "refund_pending"
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.REFUNDED)
    done = staff.get(f"/admin/orders/order/{order.pk}/refund/", follow=True)
    assert f"Order #{order.pk} has no card refund waiting." in messages_of(done)
