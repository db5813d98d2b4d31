"""A shopper's whole journey in a real browser: sign up, fund the wallet, claim a coupon, search,
add to cart, check out with the coupon, see the order, cancel it, and see the refund."""

from datetime import timedelta

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from apps.catalog.models import Product
from apps.coupons.models import Coupon, UserCoupon
from apps.orders.models import Order
from apps.wallets.models import Wallet
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _submit(browser, button_text: str):
    """Click a form's button and wait until the browser has loaded the page that answers it."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, f"//button[normalize-space()='{button_text}']").click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(old_page))


def _follow(browser, by: str, value: str):
    """Click a link and wait until the browser has loaded the page it leads to."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(by, value).click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(old_page))


def _page_text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def test_shopper_journey_from_signup_to_refund(browser, live_server):
    category = CategoryFactory(name="Running", slug="running")
    shoes = ProductFactory(name="Trailblazer Running Shoes", slug="trailblazer-running-shoes", price=5_000, stock=5, category=category)
    ProductFactory(name="Cotton Socks", slug="cotton-socks", price=900, stock=50, category=category)
    Coupon.objects.create(
        name="Ten off", discount_type="fixed", discount_value=1_000, total_quantity=10, starts_at=timezone.now() - timedelta(hours=1)
    )

    browser.get(f"{live_server.url}/accounts/signup/")
    browser.find_element(By.NAME, "name").send_keys("Ada Shopper")
    browser.find_element(By.NAME, "email").send_keys("ada@example.com")
    browser.find_element(By.NAME, "password").send_keys("a-long-Secret-phrase-42")
    browser.find_element(By.NAME, "password_again").send_keys("a-long-Secret-phrase-42")
    _submit(browser, "Sign up")
    assert browser.find_elements(By.XPATH, "//button[normalize-space()='Log out']"), "signed in (the button is in the header's menu on a phone)"

    browser.get(f"{live_server.url}/wallet/")
    browser.find_element(By.NAME, "amount").send_keys("100.00")
    _submit(browser, "Add money")
    assert browser.find_element(By.ID, "wallet-balance").text == "$100.00"

    browser.get(f"{live_server.url}/coupons/")
    _submit(browser, "Claim coupon")
    assert UserCoupon.objects.filter(user__email="ada@example.com", status="available").count() == 1

    browser.find_element(By.ID, "site-search").send_keys("Trailblazer")
    _submit(browser, "Search")
    assert "Cotton Socks" not in _page_text(browser)
    _follow(browser, By.LINK_TEXT, "Trailblazer Running Shoes")
    assert browser.current_url.endswith("/products/trailblazer-running-shoes/")
    _submit(browser, "Add to cart")

    browser.get(f"{live_server.url}/cart/")
    assert "Trailblazer Running Shoes" in _page_text(browser)
    _follow(browser, By.LINK_TEXT, "Checkout")
    coupon = browser.find_element(By.CSS_SELECTOR, "input[name='user_coupon'][value]:not([value=''])")
    assert coupon.is_selected()  # the best coupon is chosen already, and the total counts it
    assert "$40.00" in _page_text(browser)
    browser.find_element(By.CSS_SELECTOR, "input[name='user_coupon'][value='']").click()  # no coupon: the script updates the totals
    WebDriverWait(browser, 5).until(lambda b: "Pay $50.00" in _page_text(b))
    coupon.click()
    WebDriverWait(browser, 5).until(lambda b: "Pay $40.00" in _page_text(b))
    _submit(browser, "Pay $40.00")

    order = Order.objects.get(user__email="ada@example.com")
    assert browser.current_url.endswith(f"/orders/{order.pk}/")
    assert order.status == "paid" and order.total == 4_000 and order.discount == 1_000
    assert "Paid" in _page_text(browser)
    shoes.refresh_from_db()
    assert shoes.stock == 4

    browser.get(f"{live_server.url}/orders/")
    _follow(browser, By.PARTIAL_LINK_TEXT, f"#{order.pk}")
    _submit(browser, f"Yes, cancel order #{order.pk}")
    assert "Cancelled" in _page_text(browser)

    order.refresh_from_db()
    shoes.refresh_from_db()
    assert order.status == "cancelled"
    assert shoes.stock == 5
    assert Wallet.objects.get(user__email="ada@example.com").balance == 10_000
    assert UserCoupon.objects.get(user__email="ada@example.com").status == "available"

    browser.get(f"{live_server.url}/wallet/")
    assert browser.find_element(By.ID, "wallet-balance").text == "$100.00"
    history = _page_text(browser)
    assert "Refund" in history and "$40.00" in history
    assert Product.objects.get(pk=shoes.pk).stock == 5
