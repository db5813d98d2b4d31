"""Password reset by mail, password change, the account page and logout (issue 14, item 4)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.speed.conftest import token_client

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_PASSWORD = "quince-harbour-meadow-77"
RESET_LINK = re.compile(r"https?://[^\s\"]+/accounts/reset/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/")


def _reset_link(message) -> str:
    text_link = RESET_LINK.search(message.body)
    html_link = RESET_LINK.search(message.alternatives[0].content)
    assert text_link and html_link and text_link.group(0) == html_link.group(0)
    return text_link.group(0)


def _set_rate(settings, scope: str, rate: str) -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


# --- Password reset --------------------------------------------------------------------------


def test_login_page_links_to_the_reset_page(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password-reset/">Forgot password?</a>' in html


def test_reset_page_renders_in_the_shop_layout(client):
    response = client.get("/accounts/password-reset/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reset your password" in html and 'name="email"' in html and 'class="site-header' in html


def test_full_reset_through_the_mail(client, settings):
    settings.SITE_URL = "https://shop.example.com"
    user = UserFactory(email="ada@example.com", name="Ada")
    response = client.post("/accounts/password-reset/", {"email": " Ada@Example.COM "})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"] and message.subject == "Reset your Flashcart password"
    assert message.alternatives[0].mimetype == "text/html"
    link = _reset_link(message)
    assert link.startswith("https://shop.example.com/accounts/reset/")

    path = link.removeprefix("https://shop.example.com")
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert "Your password has been changed" in client.get(done["Location"]).content.decode()

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(DEFAULT_PASSWORD)
    # The link is spent: the password it was made for has changed.
    assert "This link no longer works" in Client().get(path, follow=True).content.decode()
    login = Client().post("/accounts/login/", {"username": "ada@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_reset_revokes_the_cached_api_token(client):
    user = UserFactory(email="ada@example.com")
    api = token_client(user)
    assert api.get("/api/v1/me").status_code == 200  # the lookup is now cached
    client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    form_page = client.get(_reset_link(mail.outbox[0]), follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert api.get("/api/v1/me").status_code == 401


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_reset_form_refuses_mismatched_and_weak_passwords(client):
    user = UserFactory(email="ada@example.com")
    client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    url = client.get(_reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    mismatch = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 200 and "The two passwords are not the same." in mismatch.content.decode()
    weak = client.post(url, {"new_password1": "password123", "new_password2": "password123"})
    assert "This password is too common" in weak.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_a_forged_reset_link_is_refused(client):
    UserFactory(email="ada@example.com")
    response = client.get("/accounts/reset/MQ/forged-token/", follow=True)
    assert response.status_code == 200 and "This link no longer works" in response.content.decode()


def test_reset_requests_are_throttled_per_client(client, settings):
    _set_rate(settings, "password_reset", "2/hour")
    UserFactory(email="ada@example.com")
    for _ in range(2):
        assert client.post("/accounts/password-reset/", {"email": "ada@example.com"}).status_code == 302
    refused = client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    html = refused.content.decode()
    assert "Too many reset requests from your connection" in html and 'value="ada@example.com"' in html
    assert len(mail.outbox) == 2
    # Another client is counted on its own.
    other = Client(REMOTE_ADDR="10.0.0.9").post("/accounts/password-reset/", {"email": "ada@example.com"})
    assert other.status_code == 302 and len(mail.outbox) == 3


# --- Account page and password change -----------------------------------------------------------


def test_account_page_requires_login(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/account/"


def test_account_page_shows_the_shopper_and_links(client):
    client.force_login(UserFactory(email="ada@example.com", name="Ada Lovelace"))
    html = client.get("/account/").content.decode()
    assert "Ada Lovelace" in html and "ada@example.com" in html
    for href in ("/accounts/password-change/", "/orders/", "/coupons/mine/", "/wallet/"):
        assert f'href="{href}"' in html
    assert 'action="/accounts/logout/"' in html


def test_password_change_keeps_this_session_and_revokes_the_token(client):
    user = UserFactory(email="ada@example.com")
    api = token_client(user)
    assert api.get("/api/v1/me").status_code == 200
    other_browser = Client()
    other_browser.force_login(user)
    client.force_login(user)
    page = client.get("/accounts/password-change/")
    assert page.status_code == 200 and 'name="old_password"' in page.content.decode()

    response = client.post(
        "/accounts/password-change/", {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert "Your password has been changed." in client.get("/account/").content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert api.get("/api/v1/me").status_code == 401
    assert other_browser.get("/account/").status_code == 302


def test_password_change_refuses_a_wrong_current_password(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/accounts/password-change/", {"old_password": "wrong-one", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 200 and "Your current password is not correct." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


# --- Logout ----------------------------------------------------------------------------------


def test_logout_get_shows_a_button_and_keeps_the_session(client):
    client.force_login(UserFactory(email="ada@example.com"))
    response = client.get("/accounts/logout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/">\s*<input type="hidden" name="csrfmiddlewaretoken"', html)
    assert client.get("/account/").status_code == 200


def test_logout_post_logs_out(client):
    client.force_login(UserFactory())
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302


def test_logout_get_when_logged_out_offers_to_log_in(client):
    response = client.get("/accounts/logout/")
    assert response.status_code == 200 and 'href="/accounts/login/"' in response.content.decode()
