import re

import pytest

from apps.cart.models import CartItem
from apps.cart.services import add_to_cart
from apps.coupons.models import UserCoupon
from apps.orders.models import Order
from apps.orders.services import OrderLine, place_order
from tests.factories import CouponFactory, ProductFactory, UserCouponFactory, UserFactory
from tests.orders.helpers import balance, fund, world
from tests.pages import messages_of


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/checkout/", "/orders/", "/orders/1/", "/orders/1/cancel/", "/orders/1/try-again/"])
def test_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.django_db
def test_checkout_with_an_empty_cart_goes_back_to_the_cart(shopper_client):
    response = shopper_client.get("/checkout/")
    assert response["Location"] == "/cart/"


@pytest.mark.django_db
def test_checkout_shows_lines_coupons_balance_and_previews_the_discount(shopper_client):
    product = ProductFactory(name="Espresso machine", price=20_000, stock=3)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)
    fund(shopper_client.user, 50_000)
    coupon = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(name="Spring sale", discount_type="percent", discount_value=10))
    UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(name="Big spender", min_order_amount=100_000))

    page = shopper_client.get("/checkout/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Espresso machine" in html and "$200.00" in html
    assert "Spring sale: $20.00 off" in html
    assert "Big spender" not in html
    assert "$500.00" in html  # the balance

    preview = shopper_client.post("/checkout/", {"token": token_of(page), "user_coupon": coupon.pk, "preview": "1"})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "−$20.00" in html and "Pay $180.00" in html
    assert re.search(rf'value="{coupon.pk}"[^>]*checked', html)
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_pay_places_the_order_empties_the_cart_and_confirms(shopper_client):
    product = ProductFactory(price=1500, stock=3)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=2)
    fund(shopper_client.user, 5000)
    coupon = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_value=500))
    token = token_of(shopper_client.get("/checkout/"))

    response = shopper_client.post("/checkout/", {"token": token, "user_coupon": coupon.pk, "pay": "1"})

    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert f"Order #{order.pk} is paid: $25.00" in messages_of(response)[0]
    assert order.total == 2500 and order.user_coupon_id == coupon.pk
    assert not CartItem.objects.exists()
    assert balance(shopper_client.user) == 2500
    detail = shopper_client.get(response["Location"])
    assert detail.status_code == 200 and f"Order #{order.pk}" in detail.content.decode()


@pytest.mark.django_db
def test_submitting_the_pay_form_twice_orders_once(shopper_client):
    product = ProductFactory(price=1000, stock=10)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)
    fund(shopper_client.user, 5000)
    token = token_of(shopper_client.get("/checkout/"))

    first = shopper_client.post("/checkout/", {"token": token, "user_coupon": "", "pay": "1"})
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)  # even with a cart again, the same form is not a new order
    second = shopper_client.post("/checkout/", {"token": token, "user_coupon": "", "pay": "1"})

    order = Order.objects.get()
    assert first["Location"] == second["Location"] == f"/orders/{order.pk}/"
    assert "not ordered twice" in messages_of(second)[-1]
    assert balance(shopper_client.user) == 4000


@pytest.mark.django_db
def test_short_stock_explains_and_keeps_cart_and_coupon_choice(shopper_client):
    product = ProductFactory(name="Lamp", price=1000, stock=5)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=4)
    fund(shopper_client.user, 10_000)
    coupon = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_value=100))
    token = token_of(shopper_client.get("/checkout/"))
    product.__class__.objects.filter(pk=product.pk).update(stock=2)  # someone else bought some meanwhile
    before = world()

    response = shopper_client.post("/checkout/", {"token": token, "user_coupon": coupon.pk, "pay": "1"})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Only 2 of Lamp left" in html and "Lower the quantity to 2 or fewer" in html and "Nothing was charged" in html
    assert re.search(rf'value="{coupon.pk}"[^>]*checked', html)
    assert world() == before

    CartItem.objects.filter(cart__user=shopper_client.user).update(quantity=2)
    again = shopper_client.post("/checkout/", {"token": token, "user_coupon": coupon.pk, "pay": "1"})
    assert again.status_code == 302
    assert Order.objects.get().total == 1900


@pytest.mark.django_db
def test_short_balance_explains_and_keeps_cart_and_coupon_choice(shopper_client):
    product = ProductFactory(price=3000, stock=5)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)
    fund(shopper_client.user, 1000)
    coupon = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_value=500))
    page = shopper_client.get("/checkout/")
    assert "short" in page.content.decode()
    before = world()

    response = shopper_client.post(
        "/checkout/", {"token": token_of(page), "user_coupon": coupon.pk, "payment_method": "wallet", "card_number": "4242 4242 4242 4242", "pay": "1"}
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "Your wallet has $10.00 but this order costs $25.00" in html and "Add at least $15.00" in html
    assert "Or pay by card" in html and "4242" not in html
    assert 'href="/wallet/"' in html
    assert re.search(rf'value="{coupon.pk}"[^>]*checked', html)
    assert world() == before
    assert UserCoupon.objects.get(pk=coupon.pk).status == "available"


@pytest.mark.django_db
def test_a_coupon_that_became_unusable_is_explained(shopper_client):
    product = ProductFactory(price=3000, stock=5)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)
    fund(shopper_client.user, 10_000)
    coupon = UserCouponFactory(user=shopper_client.user)
    token = token_of(shopper_client.get("/checkout/"))
    UserCoupon.objects.filter(pk=coupon.pk).update(status="used")
    before = world()

    response = shopper_client.post("/checkout/", {"token": token, "user_coupon": coupon.pk, "pay": "1"})

    assert response.status_code == 400
    assert "cannot be used for this order any more" in response.content.decode()
    assert world() == before


@pytest.mark.django_db
def test_my_orders_are_paginated_newest_first_and_only_mine(shopper_client):
    product = ProductFactory(price=100, stock=100)
    fund(shopper_client.user, 10_000)
    ids = [place_order(user=shopper_client.user, lines=[OrderLine(product.pk, 1)]).pk for _ in range(21)]
    other = UserFactory()
    fund(other, 1000)
    foreign = place_order(user=other, lines=[OrderLine(product.pk, 1)])

    first = shopper_client.get("/orders/").content.decode()
    second = shopper_client.get("/orders/?page=2").content.decode()

    assert first.index(f"#{ids[-1]}<") < first.index(f"#{ids[1]}<")
    assert f"#{ids[0]}<" not in first and f"#{ids[0]}<" in second
    assert "Page 1 of 2" in first
    assert f"#{foreign.pk}<" not in first + second


@pytest.mark.django_db
def test_order_detail_cancel_confirm_and_cancel(shopper_client):
    product = ProductFactory(price=1200, stock=3)
    fund(shopper_client.user, 5000)
    order = place_order(user=shopper_client.user, lines=[OrderLine(product.pk, 1)])

    detail = shopper_client.get(f"/orders/{order.pk}/").content.decode()
    assert f'action="/orders/{order.pk}/cancel/"' in detail and "$12.00 is refunded to your wallet" in detail
    assert shopper_client.get(f"/orders/{order.pk}/cancel/").status_code == 200

    response = shopper_client.post(f"/orders/{order.pk}/cancel/")

    assert response["Location"] == f"/orders/{order.pk}/"
    assert "is cancelled: $12.00 is back in your wallet" in messages_of(response)[0]
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert balance(shopper_client.user) == 5000

    again = shopper_client.post(f"/orders/{order.pk}/cancel/")
    assert "cannot be cancelled" in messages_of(again)[-1]
    assert balance(shopper_client.user) == 5000


@pytest.mark.django_db
def test_another_users_order_pages_are_404(shopper_client):
    other = UserFactory()
    fund(other, 5000)
    order = place_order(user=other, lines=[OrderLine(ProductFactory().pk, 1)])
    before = world()
    assert shopper_client.get(f"/orders/{order.pk}/").status_code == 404
    assert shopper_client.get(f"/orders/{order.pk}/cancel/").status_code == 404
    assert shopper_client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    assert world() == before


@pytest.mark.django_db
def test_an_unknown_payment_method_is_refused_in_words(shopper_client):
    add_to_cart(user=shopper_client.user, product_id=ProductFactory(price=1000).pk, quantity=1)
    fund(shopper_client.user, 5000)
    token = token_of(shopper_client.get("/checkout/"))
    before = world()

    response = shopper_client.post("/checkout/", {"token": token, "payment_method": "cheque", "pay": "1"})

    assert response.status_code == 400
    assert "Choose Wallet or Card." in response.content.decode()
    assert world() == before


@pytest.mark.django_db
def test_wallet_orders_show_their_status_and_payment_in_words(shopper_client):
    product = ProductFactory(price=1200, stock=5)
    fund(shopper_client.user, 5000)
    kept = place_order(user=shopper_client.user, lines=[OrderLine(product.pk, 1)])
    cancelled = place_order(user=shopper_client.user, lines=[OrderLine(product.pk, 1)])
    shopper_client.post(f"/orders/{cancelled.pk}/cancel/")

    listing = shopper_client.get("/orders/").content.decode()
    assert listing.count(">Wallet</td>") == 2
    assert ">Paid</span>" in listing and ">Cancelled, refunded to your wallet</span>" in listing
    detail = shopper_client.get(f"/orders/{kept.pk}/").content.decode()
    assert "$12.00 was taken from your wallet" in detail and 'http-equiv="refresh"' not in detail and "Try again" not in detail
    detail = shopper_client.get(f"/orders/{cancelled.pk}/").content.decode()
    assert "$12.00 was refunded to your wallet" in detail and f'action="/orders/{cancelled.pk}/cancel/"' not in detail


@pytest.mark.django_db
def test_try_again_on_someone_elses_order_is_404(shopper_client):
    other = UserFactory()
    fund(other, 5000)
    order = place_order(user=other, lines=[OrderLine(ProductFactory().pk, 1)])
    Order.objects.filter(pk=order.pk).update(status="payment_failed")
    before = world()
    assert shopper_client.post(f"/orders/{order.pk}/try-again/").status_code == 404
    assert world() == before


@pytest.mark.django_db
def test_checkout_preselects_the_best_coupon_and_judges_the_wallet_after_it(shopper_client):
    product = ProductFactory(price=5_000, stock=5)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=1)
    small = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_type="fixed", discount_value=500))
    best = UserCouponFactory(user=shopper_client.user, coupon=CouponFactory(discount_type="fixed", discount_value=1_500))
    fund(shopper_client.user, 4_000)  # short of the subtotal, enough once the best coupon is counted

    page = shopper_client.get("/checkout/").content.decode()

    checked = re.findall(r'<input[^>]*name="user_coupon"[^>]*>', page)
    assert [tag for tag in checked if "checked" in tag] == [tag for tag in checked if f'value="{best.pk}"' in tag]
    assert not [tag for tag in checked if f'value="{small.pk}"' in tag and "checked" in tag]
    assert "$35.00" in page  # 50.00 - 15.00, before any "Update totals"
    assert re.search(r'id="pay-wallet"[^>]*checked', page)
