"""The shop's side of a fault scenario: shoppers with API tokens and money, and their orders over HTTP."""

from __future__ import annotations

import re
import time

import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from rest_framework.authtoken.models import Token

from apps.wallets.services import charge_wallet
from tests.factories import UserFactory
from tests.faults.traffic import NO_ANSWER, Attempt, Log, call

# Outcomes that end a shopper's checkout; anything else (5xx, no answer, a key still in progress,
# a throttle) is retried with the same Idempotency-Key, as a mobile client does.
SETTLED = {(201, None), (409, "OUT_OF_STOCK"), (409, "INSUFFICIENT_BALANCE")}


def shoppers(count: int, *, funds: int = 0) -> list[tuple]:
    """`count` users, each with an API token and, when `funds`, that much in the wallet (one charge each)."""
    users = UserFactory.create_batch(count)
    for user in users:
        if funds:
            charge_wallet(user=user, amount=funds)
    return [(user, Token.objects.create(user=user).key) for user in users]


def order(log: Log, session: requests.Session, url: str, *, what: str, token: str, key: str, product_id: int, quantity: int = 1) -> Attempt:
    body = {"items": [{"product_id": product_id, "quantity": quantity}]}
    return call(log, session, what, "POST", f"{url}/api/v1/orders", token=token, key=key, json=body)


def order_until_settled(log: Log, session: requests.Session, url: str, *, deadline: float, pause: float = 0.3, **order_kwargs) -> Attempt:
    """Retry one order with its key until it settles (see SETTLED) or the deadline passes; returns the last attempt."""
    while True:
        attempt = order(log, session, url, **order_kwargs)
        if attempt.outcome in SETTLED or time.monotonic() > deadline:
            return attempt
        time.sleep(pause if attempt.status != NO_ANSWER else 2 * pause)


def storefront_login(url: str, *, user, password: str) -> dict[str, str]:
    """Log `user` in through the storefront's form; returns the cookies (session and CSRF) to send back.

    Production settings mark cookies Secure, which an HTTP client keeps to itself; the test sends
    them back explicitly, as the browser behind the TLS-terminating proxy would.
    """
    session = requests.Session()
    form = session.get(f"{url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token, form.text[:2000]
    cookies = dict(form.cookies)
    answer = session.post(
        f"{url}/accounts/login/",
        data={"username": user.email, "password": password, "csrfmiddlewaretoken": token.group(1)},
        cookies=cookies,
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302 and "sessionid" in answer.cookies, (answer.status_code, answer.text[:2000])
    return {**cookies, **dict(answer.cookies)}


def with_production_password(user, password: str) -> None:
    """Store `password` with a hasher production settings know (the test settings hash with MD5)."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt())
    user.save(update_fields=["password"])
