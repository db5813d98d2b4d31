"""The payment gateway (PG) client: signed requests, timeouts, bounded retries, a shared breaker.

Every call: the shared circuit breaker (apps.payments.breaker) must grant a permit, else
PaymentUnavailable (503 PAYMENT_UNAVAILABLE with Retry-After) is raised at once. Then the request
is sent with connect/read timeouts and retried (tenacity) on network errors and 5xx answers, with
exponential backoff and full jitter, at most PG_RETRY_ATTEMPTS times and PG_RETRY_MAX_SECONDS in
all. The breaker counts the outcome of the whole call, not of each attempt: a gateway failing 40% of
requests still serves nearly every call after retries and must not trip it. A 4xx answer is the
gateway working (it is counted as a success) and is never retried.

Requests are signed like the callbacks: `X-PG-Signature: sha256=<hex HMAC-SHA256 of the body with
PG_SECRET>`. `create_payment` sends an `Idempotency-Key`, so a retry after a lost answer, or a
task run twice, gets the same transaction back instead of a second charge. Refunds are idempotent
at the gateway by contract. Never call this inside a database transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_random_exponential

from apps.payments.breaker import SharedBreaker

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-PG-Signature"
SIGNATURE_PREFIX = "sha256="
BREAKER_NAME = "payment-gateway"
CALLBACK_PATH = "/api/v1/payments/callback"


class GatewayError(Exception):
    """The gateway could not be used for this call; the message never carries a card number."""


class GatewayUnreachable(GatewayError):
    """Network errors or 5xx answers until the retries ran out (counted by the breaker)."""


class GatewayRejected(GatewayError):
    """A 4xx answer: the gateway is up but refuses this request (not retried)."""

    def __init__(self, status_code: int, body: str):
        self.status_code = status_code
        super().__init__(f"the payment gateway answered {status_code}: {body[:200]}")


class _RetryableFailure(Exception):
    pass


@dataclass(frozen=True)
class PgPayment:
    """The gateway's view of one payment."""

    transaction_key: str
    status: str  # pending, approved, declined or refunded
    order_id: int | None = None
    amount: int | None = None
    reason: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PgPayment:
        return cls(
            transaction_key=str(data["transaction_key"]),
            status=str(data["status"]),
            order_id=data.get("order_id"),
            amount=data.get("amount"),
            reason=data.get("reason"),
        )


def sign(body: bytes, *, secret: str | None = None) -> str:
    key = (settings.PG_SECRET if secret is None else secret).encode()
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str | None, *, secret: str | None = None) -> bool:
    """True when `signature` is the body's signature; compared in constant time."""
    return hmac.compare_digest(sign(body, secret=secret).encode(), (signature or "").encode())


def callback_url() -> str:
    return settings.SITE_URL.rstrip("/") + CALLBACK_PATH


def payment_idempotency_key(payment_id: int) -> str:
    return f"flashcart-payment-{payment_id}"


class PaymentGateway:
    """One client (one HTTP connection pool); use one per thread, e.g. through `gateway()`."""

    def __init__(self, *, base_url: str | None = None, secret: str | None = None, breaker: SharedBreaker | None = None):
        self.base_url = (base_url or settings.PG_URL).rstrip("/")
        self.secret = settings.PG_SECRET if secret is None else secret
        self.breaker = breaker or SharedBreaker(BREAKER_NAME)
        self.session = requests.Session()
        self.timeout = (settings.PG_CONNECT_TIMEOUT_SECONDS, settings.PG_READ_TIMEOUT_SECONDS)

    def create_payment(self, *, order_id: int, amount: int, currency: str, card_number: str, idempotency_key: str, callback: str | None = None) -> PgPayment:
        """Ask the gateway to charge the card; it answers `pending` and calls back later."""
        body = {"order_id": order_id, "amount": amount, "currency": currency, "card_number": card_number, "callback_url": callback or callback_url()}
        return PgPayment.from_json(self._call("POST", "/payments", body=body, headers={"Idempotency-Key": idempotency_key}))

    def get_payment(self, transaction_key: str) -> PgPayment:
        return PgPayment.from_json(self._call("GET", f"/payments/{transaction_key}"))

    def refund(self, transaction_key: str) -> PgPayment:
        """Refund an approved payment or void a pending one; repeating it is harmless."""
        return PgPayment.from_json(self._call("POST", f"/payments/{transaction_key}/refund", body={}))

    def ensure_available(self) -> None:
        """PaymentUnavailable when the breaker is refusing calls (checked before placing a card order)."""
        self.breaker.ensure_closed()

    def _call(self, method: str, path: str, *, body: dict | None = None, headers: dict | None = None) -> dict:
        permit = self.breaker.acquire()
        try:
            data = self._send_with_retries(method, path, body, headers or {})
        except GatewayRejected:
            self.breaker.record(permit, success=True)
            raise
        except GatewayUnreachable:
            if self.breaker.record(permit, success=False):
                logger.warning("payment gateway circuit breaker is open")
            raise
        except BaseException:
            self.breaker.record(permit, success=False)
            raise
        self.breaker.record(permit, success=True)
        return data

    def _send_with_retries(self, method: str, path: str, body: dict | None, headers: dict) -> dict:
        retrying = Retrying(
            retry=retry_if_exception_type(_RetryableFailure),
            stop=stop_after_attempt(settings.PG_RETRY_ATTEMPTS) | stop_after_delay(settings.PG_RETRY_MAX_SECONDS),
            wait=wait_random_exponential(multiplier=settings.PG_RETRY_BACKOFF_SECONDS, max=settings.PG_RETRY_BACKOFF_CAP_SECONDS),
            reraise=True,
        )
        try:
            return retrying(self._send_once, method, path, body, headers)
        except _RetryableFailure as exc:
            raise GatewayUnreachable(f"payment gateway {method} {path}: {exc}") from None

    def _send_once(self, method: str, path: str, body: dict | None, headers: dict) -> dict:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        request_headers = {SIGNATURE_HEADER: sign(payload, secret=self.secret), **headers}
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, self.base_url + path, data=payload or None, headers=request_headers, timeout=self.timeout)
        except requests.RequestException as exc:
            # The exception text names the URL only; the card number is in the body, never in it.
            raise _RetryableFailure(type(exc).__name__) from None
        if response.status_code >= 500:
            raise _RetryableFailure(f"answered {response.status_code}")
        if response.status_code >= 400:
            raise GatewayRejected(response.status_code, response.text)
        try:
            return response.json()
        except ValueError:
            raise _RetryableFailure("answered a body that is not JSON") from None


_local = threading.local()


def gateway() -> PaymentGateway:
    """This thread's client for settings.PG_URL (a requests Session is not shared between threads)."""
    client = getattr(_local, "client", None)
    if client is None or client.base_url != settings.PG_URL.rstrip("/"):
        client = _local.client = PaymentGateway()
    return client
