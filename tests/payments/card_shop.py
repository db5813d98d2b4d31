"""A whole card-paying shop as real processes, for tests/payments/test_card_orders.py.

One gunicorn server, two Celery workers and beat (tests/nodes/cluster.py) on the test database and
the suite's Redis, the PG simulator (`manage.py pg_simulator`), and between the shop and the
simulator a TCP link the tests cut and restore (tests/faults/backends.FaultyLink) or point at
another simulator (a flaky, slow one). The simulator calls back to the gunicorn server (SITE_URL),
and the outbox relays events to a data-platform receiver. The payment timeouts, the reconciler's
delay and the sweeps are seconds, set through the nodes' environment.

Every HTTP answer the tests get goes through `ShopHttp`, which keeps its text: together with every
process's log and a dump of the test database, that is where a card number must never be found.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from apps.orders.models import Order
from apps.outbox.models import OutboxEvent
from apps.payments import gateway
from apps.payments.models import Payment
from apps.wallets.services import charge_wallet
from tests.faults.backends import FaultyLink
from tests.nodes.cluster import Beat, Server, Worker, node_environment
from tests.payments.conftest import SimulatorProcess, free_port, wait_until
from tests.receiver import EventReceiver

# The simulator's test cards (API.md, "The PG simulator"), as a shopper may type them.
APPROVED = "4242 4242 4242 4242"
DECLINED = "4000-0000-0000-0002"  # card_declined
NO_FUNDS = "4000 0000 0000 9995"  # insufficient_funds
SILENT = "4000000000000341"  # approved, but the callback is never sent
NEVER = "4000000000000259"  # stays pending forever
NOT_LUHN = "4242 4242 4242 4241"  # refused by the shop itself
CARD_NUMBERS = (APPROVED, DECLINED, NO_FUNDS, SILENT, NEVER, NOT_LUHN)

PAYMENT_TIMEOUT_SECONDS = 15
PG_BREAKER_OPEN_SECONDS = 2

# Seconds instead of minutes, so that every path of the state machine shows within a test. Six
# retried attempts within 14 s see a payment through a gateway that fails 40% of requests after 2 s.
PAYMENT_ENVIRONMENT = {
    "PG_SECRET": settings.PG_SECRET,
    "PAYMENT_TIMEOUT_SECONDS": str(PAYMENT_TIMEOUT_SECONDS),
    "PAYMENT_RECONCILE_AFTER_SECONDS": "1",
    "PAYMENT_SWEEP_SECONDS": "1",
    "PG_CONNECT_TIMEOUT_SECONDS": "0.5",
    "PG_READ_TIMEOUT_SECONDS": "4",
    "PG_RETRY_ATTEMPTS": "6",
    "PG_RETRY_MAX_SECONDS": "14",
    "PG_RETRY_BACKOFF_SECONDS": "0.05",
    "PG_RETRY_BACKOFF_CAP_SECONDS": "0.3",
    "PG_BREAKER_OPEN_SECONDS": str(PG_BREAKER_OPEN_SECONDS),
    "OUTBOX_SWEEP_SECONDS": "1",
    "RANKINGS_INTERVAL_SECONDS": "3600",
    "COUPON_EXPIRE_INTERVAL_SECONDS": "3600",
}


def digits(number: str) -> str:
    return "".join(character for character in number if character.isdigit())


class ShopHttp:
    """requests against the shop, keeping every answer's text (and headers) for the card-number check."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._lock = threading.Lock()
        self._answers: list[str] = []
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def call(self, method: str, path: str, *, token: str | None = None, headers: dict | None = None, **kwargs) -> requests.Response:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Token {token}"
        response = self._session().request(method, self.base_url + path, headers=headers, timeout=60, **kwargs)
        with self._lock:
            self._answers.append(json.dumps(dict(response.headers)) + "\n" + response.text)
        return response

    def place_card_order(self, token: str, product_id: int, *, card: str, quantity: int = 1, user_coupon_id: int | None = None, key: str | None = None):
        body = {"items": [{"product_id": product_id, "quantity": quantity}], "payment_method": "card", "card": {"number": card}}
        if user_coupon_id is not None:
            body["user_coupon_id"] = user_coupon_id
        return self.call("POST", "/api/v1/orders", token=token, json=body, headers={"Idempotency-Key": key} if key else None)

    def cancel(self, token: str, order_id: int) -> requests.Response:
        return self.call("POST", f"/api/v1/orders/{order_id}/cancel", token=token)

    def order(self, token: str, order_id: int) -> dict:
        response = self.call("GET", f"/api/v1/orders/{order_id}", token=token)
        assert response.status_code == 200, response.text
        return response.json()

    def callback(self, body: bytes, signature: str | None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[gateway.SIGNATURE_HEADER] = signature
        return self.call("POST", gateway.CALLBACK_PATH, data=body, headers=headers)

    def answers(self) -> str:
        with self._lock:
            return "\n".join(self._answers)


class CardShop:
    """The processes of one test module; `stop()` ends them all."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.nodes: list = []
        self.simulators: list[SimulatorProcess] = []
        self.link: FaultyLink | None = None
        self.receiver: EventReceiver | None = None

    def start(self) -> None:
        self.simulator = self.start_simulator(PG_SIM_LATENCY_MS=50, PG_SIM_PROCESSING_MS=1000, PG_SIM_FAILURE_RATE=0)
        self.link = FaultyLink(upstream_port=self.simulator.port)
        self.pg_url = f"http://127.0.0.1:{self.link.port}"
        self.receiver = EventReceiver(secret=settings.DATA_PLATFORM_SECRET)
        # The server's address is the SITE_URL the workers give the PG for its callbacks, so it is chosen first.
        site_url = f"http://127.0.0.1:{free_port()}"
        extra = {**PAYMENT_ENVIRONMENT, "PG_URL": self.pg_url, "SITE_URL": site_url}
        env = node_environment(data_platform_url=self.receiver.url, extra=extra)
        self.server = Server("web", env=env, log_dir=self.log_dir, workers=3, port=int(site_url.rsplit(":", 1)[1]))
        self.nodes.append(self.server)
        self.nodes += [Worker(name, env=env, log_dir=self.log_dir) for name in ("worker1", "worker2")]
        self.nodes.append(Beat("beat", env=env, log_dir=self.log_dir))
        deadline = time.monotonic() + 90
        for node in self.nodes:
            node.wait_ready(deadline)
        assert self.server.url == site_url, self.server.url
        self.http = ShopHttp(self.server.url)

    def start_simulator(self, **knobs) -> SimulatorProcess:
        simulator = SimulatorProcess(self.log_dir, **knobs)
        self.simulators.append(simulator)
        return simulator

    def pg_down(self) -> None:
        """Cut the link to the PG: the shop's connections are refused."""
        self.link.down()

    def pg_up(self) -> None:
        """Restore the link; the old listening socket may take a moment (its accept timeout) to let go of the port."""
        deadline = time.monotonic() + 5
        while True:
            try:
                self.link.up()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def route_pg_to(self, simulator: SimulatorProcess) -> None:
        """Point the shop's PG link at another simulator (open connections are cut)."""
        self.pg_down()
        self.link.upstream_port = simulator.port
        self.pg_up()

    def pg_status(self, transaction_key: str, simulator: SimulatorProcess | None = None) -> str:
        """What the simulator says about a payment (asked directly, signed like the shop's own requests)."""
        url = (simulator or self.simulator).url + f"/payments/{transaction_key}"
        response = requests.get(url, headers={gateway.SIGNATURE_HEADER: gateway.sign(b"")}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["status"]

    def pg_refund_calls(self, transaction_key: str) -> int:
        """How many refund (or void) requests for this payment reached the simulator (from its request log)."""
        return sum(simulator.output().count(f'"POST /payments/{transaction_key}/refund HTTP/1.1" 200') for simulator in self.simulators)

    def logs(self) -> str:
        return "\n".join(
            [*(f"--- {node.name}\n{node.log()}" for node in self.nodes), *(f"--- simulator {sim.port}\n{sim.output()}" for sim in self.simulators)]
        )

    def stop(self) -> None:
        stopping = [threading.Thread(target=node.stop) for node in self.nodes]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for simulator in self.simulators:
            simulator.stop()
        if self.link:
            self.link.close()
        if self.receiver:
            self.receiver.close()


def shopper(*, funds: int = 0):
    """A user with an API token and, when `funds`, that much in the wallet."""
    from tests.factories import UserFactory

    user = UserFactory()
    if funds:
        charge_wallet(user=user, amount=funds)
    return user, Token.objects.create(user=user).key


def order_events(order_id: int) -> list[str]:
    return list(OutboxEvent.objects.filter(aggregate_type="orders.order", aggregate_id=str(order_id)).order_by("pk").values_list("type", flat=True))


def statuses(order_id: int) -> tuple[str, str]:
    """(order status, payment status), read from the database."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    return order.status, order.payment.status


def wait_for(order_id: int, expected: tuple[str, str], *, timeout: float) -> None:
    reached = wait_until(lambda: statuses(order_id) == expected, timeout=timeout, interval=0.1)
    assert reached, f"order {order_id}: {statuses(order_id)} after {timeout} s, expected {expected}"


def transaction_key(order_id: int, *, timeout: float = 15) -> str:
    """The payment's PG transaction key, once the request task has recorded it."""
    found = wait_until(
        lambda: Payment.objects.filter(order_id=order_id, transaction_key__isnull=False).values_list("transaction_key", flat=True).first(),
        timeout=timeout,
        interval=0.05,
    )
    assert found, f"order {order_id}: the PG never accepted the payment request"
    return found


def signed_callback(*, transaction_key: str, order_id: int, status: str, reason: str | None = None) -> tuple[bytes, str]:
    """A callback body as the PG sends it, and its signature."""
    body = json.dumps({"transaction_key": transaction_key, "order_id": order_id, "status": status, "reason": reason}).encode()
    return body, gateway.sign(body)


def all_events_relayed(receiver: EventReceiver, *, timeout: float = 20) -> None:
    """Every event of the test reached the data platform (and the nodes are done with them)."""

    def relayed() -> bool:
        ids = {str(event_id) for event_id in OutboxEvent.objects.values_list("event_id", flat=True)}
        return ids <= receiver.event_ids

    assert wait_until(relayed, timeout=timeout, interval=0.2), "some events never reached the data platform"


def database_dump() -> str:
    """mysqldump of the test database: every column of every table, as text."""
    db = connection.settings_dict
    command = [
        shutil.which("mariadb-dump") or "mysqldump",
        "--skip-comments",
        f"--host={db['HOST'] or '127.0.0.1'}",
        f"--port={db['PORT'] or 3306}",
        f"--user={db['USER'] or 'root'}",
    ]
    if db["PASSWORD"]:
        command.append(f"--password={db['PASSWORD']}")
    result = subprocess.run([*command, db["NAME"]], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_no_card_number(*texts: tuple[str, str], numbers=CARD_NUMBERS) -> None:
    """No full card number, as typed or as digits, in any of the (where, text) pairs."""
    for where, text in texts:
        for number in numbers:
            for form in {number, digits(number)}:
                assert form not in text, f"a card number ({form[-4:]}) appears in {where}"
