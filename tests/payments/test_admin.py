"""Staff screens for card payments: the read-only payments list, the order's payment and timeline, and the two actions.

The PG is the simulator (a real process); its callbacks go nowhere, so each payment stays as the
test leaves it until the test (or an admin action) applies the PG's answer.
"""

import re

import pytest
from django.contrib.auth.models import Permission

from apps.orders import services
from apps.orders.models import Order
from apps.outbox.models import OutboxEvent
from apps.payments import cards, gateway
from apps.payments.models import Payment
from apps.payments.services import create_payment
from tests.factories import ProductFactory, UserFactory
from tests.pages import messages_of
from tests.payments.conftest import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PAYMENTS = "/admin/payments/payment/"


@pytest.fixture(autouse=True)
def gateway_is_the_simulator(simulator, fast_retries):
    fast_retries.PG_URL = simulator.url
    fast_retries.SITE_URL = "http://127.0.0.1:9"  # nobody listens: answers are applied by the tests and the actions


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def buyer():
    return UserFactory(email="card.buyer@example.com")


@pytest.fixture
def product():
    return ProductFactory(price=2500, stock=10)


def card_order(user, product, number: str) -> tuple[Order, Payment]:
    order = services.place_order(user=user, lines=[services.OrderLine(product.pk, 1)], payment_method="card", card_number=number)
    assert wait_until(lambda: Payment.objects.filter(order=order, transaction_key__isnull=False).exists(), timeout=10)
    return order, Payment.objects.get(order=order)


def decided_at_the_pg(payment: Payment, status: str) -> None:
    assert wait_until(lambda: gateway.gateway().get_payment(payment.transaction_key).status == status, timeout=10)


def paid_card_order(user, product) -> tuple[Order, Payment]:
    order, payment = card_order(user, product, "4242 4242 4242 4242")
    services.record_payment_outcome(order_id=order.pk, transaction_key=payment.transaction_key, approved=True)
    payment.refresh_from_db()
    return order, payment


def open_the_breaker(settings) -> None:
    """Nobody answers at PG_URL any more: calls fail until the shared breaker opens."""
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"
    for _ in range(settings.PG_BREAKER_WINDOW):
        with pytest.raises(gateway.GatewayUnreachable):
            gateway.gateway().get_payment("pg_unknown")
        if gateway.gateway().breaker.state().name == "open":
            return
    pytest.fail("the breaker did not open")


def act(client, url: str, action: str, ids) -> list[str]:
    response = client.post(url, {"action": action, "_selected_action": [str(pk) for pk in ids]}, follow=True)
    assert response.status_code == 200
    return messages_of(response)


def test_payments_list_shows_filters_and_searches(admin_client, buyer, product):
    paid, paid_payment = paid_card_order(buyer, product)
    pending, pending_payment = card_order(buyer, product, "4000000000000259")
    wallet_order = Order.objects.create(user=buyer, subtotal=700, total=700)
    wallet_payment = create_payment(order=wallet_order, method=Payment.Method.WALLET, amount=700)

    response = admin_client.get(PAYMENTS)

    html = response.content.decode()
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {paid_payment, pending_payment, wallet_payment}
    assert f'<a href="/admin/orders/order/{paid.pk}/change/">Order #{paid.pk}</a>' in html
    assert "$25.00" in html and "$7.00" in html
    assert "Visa •••• 4242" in html and "Visa •••• 0259" in html
    assert paid_payment.transaction_key in html and pending_payment.transaction_key in html

    def found(**query) -> set:
        return set(admin_client.get(PAYMENTS, query).context["cl"].result_list)

    assert found(status__exact="pending") == {pending_payment}
    assert found(status__exact="approved", method__exact="card") == {paid_payment}
    assert found(method__exact="wallet") == {wallet_payment}
    assert found(q=str(paid.pk)) == {paid_payment}
    assert found(q=pending_payment.transaction_key) == {pending_payment}
    assert found(q="pg_no_such_transaction") == set()


def test_payments_are_read_only(admin_client, buyer, product):
    _, payment = paid_card_order(buyer, product)

    page = admin_client.get(f"{PAYMENTS}{payment.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html and 'name="amount"' not in html and payment.transaction_key in html

    admin_client.post(f"{PAYMENTS}{payment.pk}/change/", {"status": "refunded", "amount": 1})
    payment.refresh_from_db()
    assert (payment.status, payment.amount) == ("approved", 2500)
    assert admin_client.get(f"{PAYMENTS}add/").status_code == 403
    assert admin_client.get(f"{PAYMENTS}{payment.pk}/delete/").status_code == 403


def test_ask_the_pg_now_applies_its_answer_like_the_callback(admin_client, buyer, product):
    found_late, lost_callback = card_order(buyer, product, "4000000000000341")  # approved; the callback is never sent
    undecided, undecided_payment = card_order(buyer, product, "4000000000000259")
    declined, declined_payment = card_order(buyer, product, "4000000000000002")
    already, already_payment = paid_card_order(buyer, product)
    decided_at_the_pg(lost_callback, "approved")
    decided_at_the_pg(declined_payment, "declined")

    texts = act(admin_client, PAYMENTS, "ask_pg_now", [lost_callback.pk, undecided_payment.pk, declined_payment.pk, already_payment.pk])

    assert f"Payment #{lost_callback.pk} (order #{found_late.pk}): the PG approved it: the order is paid." in texts
    assert f"Payment #{undecided_payment.pk} (order #{undecided.pk}): the PG has not decided yet; the reconciler keeps asking." in texts
    assert f"Payment #{declined_payment.pk} (order #{declined.pk}): the PG declined it: the order's payment failed and its items are back on sale." in texts
    assert f"Payment #{already_payment.pk} (order #{already.pk}): not pending any more; nothing to ask." in texts
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert (statuses[found_late.pk], statuses[undecided.pk], statuses[declined.pk], statuses[already.pk]) == (
        "paid", "pending_payment", "payment_failed", "paid"
    )
    assert Payment.objects.get(pk=declined_payment.pk).failure_reason == "card_declined"
    assert product.__class__.objects.get(pk=product.pk).stock == 10 - 3  # the declined order's unit is back on sale

    # Asked again: one transition, one event each.
    act(admin_client, PAYMENTS, "ask_pg_now", [lost_callback.pk, declined_payment.pk])
    assert OutboxEvent.objects.filter(aggregate_id=str(found_late.pk), type="order.paid").count() == 1
    assert OutboxEvent.objects.filter(aggregate_id=str(declined.pk), type="order.payment_failed").count() == 1


def test_ask_the_pg_now_while_the_pg_is_down_changes_nothing(admin_client, buyer, product, settings):
    order, payment = card_order(buyer, product, "4000000000000341")
    open_the_breaker(settings)

    texts = act(admin_client, PAYMENTS, "ask_pg_now", [payment.pk])

    assert any(re.fullmatch(r"The PG is unavailable \(its circuit breaker is open\): ask again in \d+ seconds\.", text) for text in texts)
    assert Order.objects.get(pk=order.pk).status == "pending_payment"
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_refund_now_retries_a_stuck_refund_through_the_service(admin_client, buyer, product, settings):
    order, payment = paid_card_order(buyer, product)
    simulator_url = settings.PG_URL
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"  # the refund after the cancel cannot reach the PG
    services.cancel_order(user=buyer, order_id=order.pk)
    payment.refresh_from_db()
    assert (payment.status, payment.attempts) == ("refund_pending", 1)

    texts = act(admin_client, PAYMENTS, "refund_now", [payment.pk])
    assert f"Payment #{payment.pk} (order #{order.pk}): the PG could not be reached; the refund is tried again automatically." in texts
    assert Payment.objects.get(pk=payment.pk).status == "refund_pending"

    settings.PG_URL = simulator_url
    texts = act(admin_client, PAYMENTS, "refund_now", [payment.pk])

    assert f"Payment #{payment.pk} (order #{order.pk}): refunded at the PG." in texts
    assert Payment.objects.get(pk=payment.pk).status == "refunded"
    assert gateway.gateway().get_payment(payment.transaction_key).status == "refunded"
    texts = act(admin_client, PAYMENTS, "refund_now", [payment.pk])
    assert f"Payment #{payment.pk} (order #{order.pk}): not waiting for a refund (refunded); left alone." in texts
    assert OutboxEvent.objects.filter(aggregate_id=str(order.pk), type="payment.refunded").count() == 1


def test_the_order_page_shows_its_payment_and_its_timeline(admin_client, buyer, product):
    order, payment = paid_card_order(buyer, product)
    services.cancel_order(user=buyer, order_id=order.pk)  # the refund reaches the simulator after the commit
    assert wait_until(lambda: Payment.objects.filter(pk=payment.pk, status="refunded").exists(), timeout=10)

    html = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    inline = html[html.index('id="payment-group"'):]
    assert payment.transaction_key in inline and "Visa •••• 4242" in inline and "$25.00" in inline and "Refunded" in inline
    assert 'name="payment-0-status"' not in html  # read-only
    timeline = html[html.index('class="order-timeline"'):]
    timeline = timeline[: timeline.index("</table>")]
    rows = re.findall(r"<tr><td>[^<]+</td><td>([a-z._]+)</td><td>([^<]*)</td>", timeline)
    assert [event for event, _ in rows] == ["order.placed", "order.paid", "order.cancelled", "payment.refunded"]
    summaries = dict(rows)
    assert summaries["order.placed"] == "Awaiting payment · $25.00 · by card"
    assert summaries["order.paid"] == "Paid · $25.00 · by card"
    assert summaries["order.cancelled"] == f"Cancelled · $25.00 · by card · cancelled by user #{buyer.pk}"
    assert summaries["payment.refunded"] == f"$25.00 · by card · transaction {payment.transaction_key}"
    assert "4242424242424242" not in html


def test_order_actions_ask_the_pg_and_refund_through_the_same_services(admin_client, buyer, product, settings):
    waiting, lost_callback = card_order(buyer, product, "4000000000000341")
    decided_at_the_pg(lost_callback, "approved")
    still_pending, _ = card_order(buyer, product, "4000000000000259")

    texts = act(admin_client, "/admin/orders/order/", "ask_pg_now", [waiting.pk])
    assert f"Payment #{lost_callback.pk} (order #{waiting.pk}): the PG approved it: the order is paid." in texts
    assert Order.objects.get(pk=waiting.pk).status == "paid"

    simulator_url = settings.PG_URL
    settings.PG_URL = f"http://127.0.0.1:{free_port()}"
    services.cancel_order(user=buyer, order_id=waiting.pk)
    assert Payment.objects.get(pk=lost_callback.pk).status == "refund_pending"
    settings.PG_URL = simulator_url

    texts = act(admin_client, "/admin/orders/order/", "refund_now", [waiting.pk, still_pending.pk])

    assert f"Payment #{lost_callback.pk} (order #{waiting.pk}): refunded at the PG." in texts
    assert any(f"(order #{still_pending.pk}): not waiting for a refund" in text for text in texts)
    assert Payment.objects.get(pk=lost_callback.pk).status == "refunded"


def test_staff_who_may_only_look_get_no_payment_actions(client, buyer, product):
    _, payment = paid_card_order(buyer, product)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"), Permission.objects.get(codename="view_order"))
    client.force_login(viewer)

    html = client.get(PAYMENTS).content.decode()
    assert payment.transaction_key in html
    assert "ask_pg_now" not in html and "refund_now" not in html
    assert "ask_pg_now" not in client.get("/admin/orders/order/").content.decode()

    client.post(PAYMENTS, {"action": "refund_now", "_selected_action": [payment.pk]})
    assert Payment.objects.get(pk=payment.pk).status == "approved"


def test_a_sealed_card_never_shows_in_the_admin(admin_client, buyer, product):
    order, payment = card_order(buyer, product, "4000000000000259")
    html = admin_client.get(f"{PAYMENTS}{payment.pk}/change/").content.decode() + admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "4000000000000259" not in html and cards.describe("4000000000000259").last4 in html
