"""Paying by card in a real browser: the PG simulator (a real process) answers, calls the shop back, and the order page,
refreshing itself without JavaScript, turns from "being confirmed" to paid."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from apps.orders.models import Order
from apps.payments.models import Payment
from tests.factories import ProductFactory, UserFactory
from tests.payments.conftest import SimulatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CARD = "4242 4242 4242 4242"


@pytest.fixture
def pg(tmp_path, live_server, settings):
    simulator = SimulatorProcess(tmp_path, PG_SIM_LATENCY_MS=20, PG_SIM_PROCESSING_MS=500)
    settings.PG_URL = simulator.url
    settings.SITE_URL = live_server.url  # where the simulator sends its callback
    yield simulator
    simulator.stop()


def _submit(browser, button_text: str):
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, f"//button[normalize-space()='{button_text}']").click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(old_page))


def test_a_shopper_pays_by_card_and_sees_the_order_turn_paid(browser, live_server, pg):
    ProductFactory(name="Trail Lantern", slug="trail-lantern", price=2_500, stock=3)
    UserFactory(email="card@example.com", password="a-long-Secret-phrase-42")

    browser.get(f"{live_server.url}/accounts/login/")
    browser.find_element(By.NAME, "username").send_keys("card@example.com")  # the e-mail address (Django's AuthenticationForm)
    browser.find_element(By.NAME, "password").send_keys("a-long-Secret-phrase-42")
    _submit(browser, "Log in")

    browser.get(f"{live_server.url}/products/trail-lantern/")
    _submit(browser, "Add to cart")
    browser.get(f"{live_server.url}/checkout/")
    browser.find_element(By.ID, "pay-card").click()
    browser.find_element(By.NAME, "card_number").send_keys(CARD)
    _submit(browser, "Pay $25.00")

    order = Order.objects.get(user__email="card@example.com")
    assert browser.current_url.endswith(f"/orders/{order.pk}/")
    assert order.payment_method == "card"
    # The page refreshes itself until the PG's callback has made the order paid.
    WebDriverWait(browser, 30).until(lambda b: Order.objects.get(pk=order.pk).status == "paid" and "Paid" in b.find_element(By.TAG_NAME, "body").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "meta[http-equiv='refresh']")
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.card_brand, payment.card_last4) == ("approved", "visa", "4242")
    assert "4242424242424242" not in browser.page_source and CARD not in browser.page_source
