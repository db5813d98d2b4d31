import pytest

from apps.catalog.models import Product
from apps.orders.models import Order
from apps.orders.services import OrderLine, cancel_order, place_order
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import balance, fund
from tests.pages import messages_of


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def orders():
    product = ProductFactory(price=1000, stock=10)
    buyer = UserFactory(email="buyer@example.com")
    fund(buyer, 10_000)
    placed = [place_order(user=buyer, lines=[OrderLine(product.pk, 1)]) for _ in range(2)]
    return buyer, product, placed


@pytest.mark.django_db
def test_changelist_filters_and_search(admin_client, orders):
    buyer, _, placed = orders
    cancel_order(user=buyer, order_id=placed[0].pk)

    assert admin_client.get("/admin/orders/order/").status_code == 200
    paid = admin_client.get("/admin/orders/order/", {"status__exact": "paid"})
    assert list(paid.context["cl"].result_list) == [placed[1]]
    by_email = admin_client.get("/admin/orders/order/", {"q": "buyer@example"})
    assert set(by_email.context["cl"].result_list) == set(placed)
    by_id = admin_client.get("/admin/orders/order/", {"q": str(placed[0].pk)})
    assert list(by_id.context["cl"].result_list) == [placed[0]]
    since_2000 = admin_client.get("/admin/orders/order/", {"created_at__gte": "2000-01-01 00:00:00+00:00"})
    assert set(since_2000.context["cl"].result_list) == set(placed)
    from_3000 = admin_client.get("/admin/orders/order/", {"created_at__gte": "3000-01-01 00:00:00+00:00"})
    assert list(from_3000.context["cl"].result_list) == []


@pytest.mark.django_db
def test_change_page_is_read_only_and_there_is_no_add_or_delete(admin_client, orders):
    _, _, placed = orders
    order = placed[0]
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert 'name="total"' not in page.content.decode() and 'name="status"' not in page.content.decode()
    admin_client.post(f"/admin/orders/order/{order.pk}/change/", {"status": "cancelled", "total": 1})
    order.refresh_from_db()
    assert (order.status, order.total) == ("paid", 1000)
    assert admin_client.get("/admin/orders/order/add/").status_code == 403
    assert admin_client.get(f"/admin/orders/order/{order.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_cancel_and_refund_action_goes_through_the_service(admin_client, orders):
    buyer, product, placed = orders
    cancel_order(user=buyer, order_id=placed[0].pk)

    response = admin_client.post(
        "/admin/orders/order/", {"action": "cancel_and_refund", "_selected_action": [order.pk for order in placed]}, follow=True
    )

    texts = messages_of(response)
    assert any(f"Cancelled and refunded: #{placed[1].pk}" in text for text in texts)
    assert any(f"Not cancelled: #{placed[0].pk}: Order #{placed[0].pk} is cancelled" in text for text in texts)
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
    assert balance(buyer) == 10_000
    assert Product.objects.get(pk=product.pk).stock == 10


@pytest.mark.django_db
def test_order_page_shows_its_timeline_in_order_and_filters_by_payment_method(admin_client, orders):
    buyer, _, placed = orders
    cancel_order(user=buyer, order_id=placed[0].pk, actor=buyer)

    html = admin_client.get(f"/admin/orders/order/{placed[0].pk}/change/").content.decode()

    timeline = html[html.index('class="order-timeline"'):]
    assert timeline.index("order.paid") < timeline.index("order.cancelled")
    assert "Paid · $10.00 · by wallet" in timeline and f"Cancelled · $10.00 · by wallet · cancelled by user #{buyer.pk}" in timeline
    assert 'id="payment-group"' in html and "payment-0-status" not in html
    by_wallet = admin_client.get("/admin/orders/order/", {"payment_method__exact": "wallet"})
    assert set(by_wallet.context["cl"].result_list) == set(placed)
    by_card = admin_client.get("/admin/orders/order/", {"payment_method__exact": "card"})
    assert list(by_card.context["cl"].result_list) == []
