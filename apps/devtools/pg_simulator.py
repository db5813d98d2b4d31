"""A payment gateway (PG) simulator for development, the tests and the bench (API.md, "The PG simulator").

It plays the gateway's side of the contract and nothing of the shop's: the standard library only
(its own HMAC signing, its own HTTP client), its state in this process' memory. Started by
`manage.py pg_simulator --port PORT`.

- POST /payments {"order_id", "amount", "currency", "card_number", "callback_url"} → 202
  {"transaction_key", "status": "pending"}. After `processing_ms` the payment is decided by its card
  (TEST_CARDS; any other Luhn-valid number is approved) and the outcome is POSTed, signed, to
  callback_url, retried with backoff until the shop answers 2xx. An `Idempotency-Key` header (as
  real gateways take) returns the first request's transaction instead of a second charge.
- GET /payments/{key} → {"transaction_key", "order_id", "amount", "status", "reason"}.
- POST /payments/{key}/refund → 200 {"status": "refunded", ...}: refunds an approved payment and
  voids a pending one (no callback is sent for it then); repeating it answers the same. A declined
  payment has nothing to refund: 409.
- Every request must carry `X-PG-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`
  (the empty body for GET), else 401. `failure_rate` of POST /payments are answered 500 (nothing is
  created), and every answer waits `latency_ms` first.
The card number is used to decide the outcome and then dropped: it is neither kept nor logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-PG-Signature"


@dataclass(frozen=True)
class Outcome:
    status: str  # approved or declined; pending for a payment never decided
    reason: str | None = None
    callback: bool = True


TEST_CARDS = {
    "4242424242424242": Outcome("approved"),
    "4000000000000002": Outcome("declined", "card_declined"),
    "4000000000009995": Outcome("declined", "insufficient_funds"),
    "4000000000000341": Outcome("approved", callback=False),  # only a status query finds it
    "4000000000000259": Outcome("pending", callback=False),  # never decided
}
APPROVED = Outcome("approved")


@dataclass
class SimulatedPayment:
    transaction_key: str
    order_id: int
    amount: int
    currency: str
    callback_url: str
    outcome: Outcome
    status: str = "pending"
    reason: str | None = None

    def as_json(self) -> dict:
        return {"transaction_key": self.transaction_key, "order_id": self.order_id, "amount": self.amount, "status": self.status, "reason": self.reason}


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def luhn_valid(digits: str) -> bool:
    checksum = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character) * (2 if position % 2 else 1)
        checksum += value - 9 if value > 9 else value
    return checksum % 10 == 0


class PgSimulator:
    def __init__(
        self,
        *,
        secret: str,
        failure_rate: float = 0.0,
        latency_ms: int = 50,
        processing_ms: int = 1000,
        callback_retry_ms: int = 500,
        callback_retry_cap_ms: int = 30_000,
    ):
        self.secret = secret
        self.failure_rate = failure_rate
        self.latency = latency_ms / 1000
        self.processing = processing_ms / 1000
        self.callback_retry = callback_retry_ms / 1000
        self.callback_retry_cap = callback_retry_cap_ms / 1000
        self.payments: dict[str, SimulatedPayment] = {}
        self.by_idempotency_key: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    # --- the gateway's operations ----------------------------------------------------------------

    def create(self, body: dict, idempotency_key: str | None) -> tuple[int, dict]:
        try:
            order_id, amount = int(body["order_id"]), int(body["amount"])
            currency, callback_url, number = str(body["currency"]), str(body["callback_url"]), str(body["card_number"])
        except (KeyError, TypeError, ValueError):
            return 400, {"error": "order_id, amount, currency, card_number and callback_url are required"}
        if amount < 0 or not (number.isdigit() and 13 <= len(number) <= 19 and luhn_valid(number)):
            return 400, {"error": "invalid amount or card number"}
        with self.lock:
            if idempotency_key and idempotency_key in self.by_idempotency_key:
                payment = self.payments[self.by_idempotency_key[idempotency_key]]
                return 202, {"transaction_key": payment.transaction_key, "status": payment.status}
            payment = SimulatedPayment(
                transaction_key="pg_" + secrets.token_hex(12),
                order_id=order_id,
                amount=amount,
                currency=currency,
                callback_url=callback_url,
                outcome=TEST_CARDS.get(number, APPROVED),
            )
            self.payments[payment.transaction_key] = payment
            if idempotency_key:
                self.by_idempotency_key[idempotency_key] = payment.transaction_key
        logger.info("payment %s for order %s: accepted", payment.transaction_key, order_id)
        if payment.outcome.status != "pending":
            timer = threading.Timer(self.processing, self._decide, args=(payment.transaction_key,))
            timer.daemon = True
            timer.start()
        return 202, {"transaction_key": payment.transaction_key, "status": "pending"}

    def get(self, transaction_key: str) -> tuple[int, dict]:
        with self.lock:
            payment = self.payments.get(transaction_key)
            return (200, payment.as_json()) if payment else (404, {"error": "unknown transaction"})

    def refund(self, transaction_key: str) -> tuple[int, dict]:
        with self.lock:
            payment = self.payments.get(transaction_key)
            if payment is None:
                return 404, {"error": "unknown transaction"}
            if payment.status == "declined":
                return 409, {"error": "a declined payment has nothing to refund", **payment.as_json()}
            payment.status = "refunded"
            return 200, payment.as_json()

    def _decide(self, transaction_key: str) -> None:
        with self.lock:
            payment = self.payments[transaction_key]
            if payment.status != "pending":  # voided meanwhile
                return
            payment.status, payment.reason = payment.outcome.status, payment.outcome.reason
            outcome = {"transaction_key": payment.transaction_key, "order_id": payment.order_id, "status": payment.status, "reason": payment.reason}
            body = json.dumps(outcome).encode()
        logger.info("payment %s: %s", transaction_key, payment.status)
        if payment.outcome.callback:
            self._deliver(payment.callback_url, body, transaction_key)

    def _deliver(self, url: str, body: bytes, transaction_key: str) -> None:
        """POST the signed outcome until the shop answers 2xx (backing off, doubling up to a cap)."""
        wait, attempt = self.callback_retry, 1
        while not self.stopped.is_set():
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)}
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                status = type(exc).__name__
            if isinstance(status, int) and 200 <= status < 300:
                logger.info("callback for %s delivered (attempt %s)", transaction_key, attempt)
                return
            logger.info("callback for %s: %s, retrying in %.1f s", transaction_key, status, wait)
            self.stopped.wait(wait)
            wait, attempt = min(wait * 2, self.callback_retry_cap), attempt + 1

    # --- HTTP ------------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self
        payment_path = re.compile(r"^/payments/(?P<key>[A-Za-z0-9_-]{1,64})(?P<refund>/refund)?/?$")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def _handle(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(simulator.latency)
                if not hmac.compare_digest(sign(body, simulator.secret).encode(), (self.headers.get(SIGNATURE_HEADER) or "").encode()):
                    return self._answer(401, {"error": "invalid signature"})
                path = self.path.split("?", 1)[0]
                match = payment_path.match(path)
                if method == "POST" and path.rstrip("/") == "/payments":
                    if simulator.failure_rate and random.random() < simulator.failure_rate:
                        logger.info("POST /payments: simulated failure (500)")
                        return self._answer(500, {"error": "simulated failure"})
                    try:
                        data = json.loads(body)
                    except ValueError:
                        return self._answer(400, {"error": "the body is not JSON"})
                    if not isinstance(data, dict):
                        return self._answer(400, {"error": "the body is not a JSON object"})
                    return self._answer(*simulator.create(data, self.headers.get("Idempotency-Key")))
                if match and method == "GET" and not match["refund"]:
                    return self._answer(*simulator.get(match["key"]))
                if match and method == "POST" and match["refund"]:
                    return self._answer(*simulator.refund(match["key"]))
                return self._answer(404, {"error": "not found"})

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):  # the request line only: never a body
                logger.debug("%s - %s", self.address_string(), format % args)

        return Handler

    def bind(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self.server = ThreadingHTTPServer((host, port), self.handler_class())
        self.server.daemon_threads = True
        return f"http://{host}:{self.server.server_port}"

    def serve_forever(self) -> None:
        try:
            self.server.serve_forever()
        finally:
            self.stopped.set()
            self.server.server_close()

    def shutdown(self) -> None:
        self.stopped.set()
        self.server.shutdown()
