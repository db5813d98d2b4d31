"""The shop's side of a fault scenario: shoppers with API tokens and money, and their orders over HTTP."""

from __future__ import annotations

import time

import requests
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
