"""In a real browser: a visitor fills a cart without an account, signs up from the cart and finds
the cart kept at checkout; later, having forgotten the password, resets it through the mail."""

import re

import pytest
from django.core import mail
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from apps.cart.models import CartItem
from tests.e2e.conftest import SCREENSHOT_DIR
from tests.factories import ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "sturdy-Lantern-harbour-88"


class Journey:
    """The browser plus a numbered screenshot of every step (tests/e2e/screenshots/<journey>/)."""

    def __init__(self, browser, base_url: str, name: str):
        self.browser, self.base_url = browser, base_url
        self.folder = SCREENSHOT_DIR / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.step = 0

    def shot(self, label: str) -> None:
        self.step += 1
        self.browser.save_screenshot(str(self.folder / f"{self.step:02d}-{label}.png"))

    def open(self, path: str) -> None:
        self.browser.get(self.base_url + path)

    def click_and_wait(self, css: str) -> None:
        old_page = self.browser.find_element(By.TAG_NAME, "html")
        self.browser.find_element(By.CSS_SELECTOR, css).click()
        WebDriverWait(self.browser, 10).until(expected_conditions.staleness_of(old_page))

    def type(self, name: str, text: str) -> None:
        field = self.browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(text)

    def text(self) -> str:
        return self.browser.find_element(By.TAG_NAME, "main").text


def test_guest_cart_is_kept_at_signup_and_a_forgotten_password_is_reset_by_mail(browser, live_server, settings):
    settings.SITE_URL = live_server.url
    ProductFactory(name="Trailblazer Running Shoes", slug="trailblazer-running-shoes", price=5_000, stock=3)
    journey = Journey(browser, live_server.url, "guest_cart_and_password_reset")

    journey.open("/products/trailblazer-running-shoes/")
    journey.type("quantity", "2")
    journey.click_and_wait("form.buy button[type=submit]")
    assert "Added to your cart: Trailblazer Running Shoes, now 2 in your cart." in journey.text()
    assert browser.find_element(By.CSS_SELECTOR, "a.cart-link").get_attribute("aria-label") == "2 items in cart"
    journey.shot("guest-added-to-cart")

    journey.open("/cart/")
    assert "Trailblazer Running Shoes" in journey.text() and "$100.00" in journey.text()
    journey.shot("guest-cart")
    journey.click_and_wait("main a[href='/accounts/signup/?next=/checkout/']")
    journey.type("name", "Ada Shopper")
    journey.type("email", "ada@example.com")
    journey.type("password", "a-long-Secret-phrase-42")
    journey.type("password_again", "a-long-Secret-phrase-42")
    journey.shot("signup")
    journey.click_and_wait("main form button[type=submit]")
    assert browser.current_url == f"{live_server.url}/checkout/"
    assert "Trailblazer Running Shoes" in journey.text()
    assert CartItem.objects.get(cart__user__email="ada@example.com").quantity == 2
    journey.shot("checkout-with-the-kept-cart")

    journey.open("/accounts/logout/")
    journey.shot("logout-page")
    journey.click_and_wait("main form[action='/accounts/logout/'] button")
    journey.open("/accounts/login/")
    journey.click_and_wait("main a[href='/accounts/password-reset/']")
    journey.type("email", "ada@example.com")
    journey.shot("password-reset-request")
    journey.click_and_wait("main form button[type=submit]")
    assert "Check your e-mail" in journey.text()
    journey.shot("password-reset-sent")

    [message] = mail.outbox
    link = re.search(r"http://\S+/accounts/reset/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)
    browser.get(link)
    journey.type("new_password1", NEW_PASSWORD)
    journey.type("new_password2", NEW_PASSWORD)
    journey.shot("choose-new-password")
    journey.click_and_wait("main form button[type=submit]")
    assert "Your password has been changed" in journey.text()
    journey.shot("password-changed")

    journey.click_and_wait("main a[href='/accounts/login/']")
    journey.type("username", "ada@example.com")
    journey.type("password", NEW_PASSWORD)
    journey.click_and_wait("main form button[type=submit]")
    journey.open("/account/")
    assert "ada@example.com" in journey.text() and "Ada Shopper" in journey.text()
    assert browser.find_element(By.CSS_SELECTOR, "a.cart-link").get_attribute("aria-label") == "2 items in cart"
    journey.shot("account-page")
