"""The PG simulator as a real process, and a stand-in for the shop's callback endpoint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.payments import breaker as breaker_module
from apps.payments.breaker import BreakerPolicy, SharedBreaker
from apps.payments.gateway import PaymentGateway

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    return condition()


class SimulatorProcess:
    """`manage.py pg_simulator --port PORT` in its own process; stdout and stderr go to a file."""

    def __init__(self, tmp_path: Path, *, port: int | None = None, **knobs):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"pg-simulator-{self.port}-{time.monotonic_ns()}.log"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **{key: str(value) for key, value in knobs.items()}}
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "pg_simulator", "--port", str(self.port), "--verbosity", "2"],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if not wait_until(self._accepting, timeout=30, interval=0.1):
            self.stop()
            raise RuntimeError(f"the PG simulator did not start:\n{self.output()}")

    def _accepting(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the PG simulator exited with {self.process.returncode}:\n{self.output()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    """A simulator answering at once (10 ms) and deciding payments after 300 ms."""
    process = SimulatorProcess(tmp_path_factory.mktemp("pg"), PG_SIM_LATENCY_MS=10, PG_SIM_PROCESSING_MS=300, PG_SIM_FAILURE_RATE=0)
    yield process
    process.stop()


@pytest.fixture
def start_simulator(tmp_path):
    """Start simulators with given knobs (and port); all are stopped after the test."""
    started: list[SimulatorProcess] = []

    def start(**knobs) -> SimulatorProcess:
        process = SimulatorProcess(tmp_path, **knobs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@dataclass(frozen=True)
class Delivery:
    body: bytes
    signature: str | None
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class CallbackReceiver:
    """Plays the shop's callback endpoint: records every delivery, refusing the first `fail_first` with 503."""

    def __init__(self, *, fail_first: int = 0, port: int = 0):
        self.fail_first = fail_first
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = 503 if len(receiver.deliveries) < receiver.fail_first else 200
                    receiver.deliveries.append(Delivery(body, self.headers.get("X-PG-Signature"), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v1/payments/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def for_transaction(self, transaction_key: str) -> list[Delivery]:
        return [delivery for delivery in self.snapshot() if delivery.json.get("transaction_key") == transaction_key]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receivers: list[CallbackReceiver] = []

    def make(**kwargs) -> CallbackReceiver:
        made = CallbackReceiver(**kwargs)
        receivers.append(made)
        return made

    yield make
    for made in receivers:
        made.close()


@pytest.fixture
def fast_retries(settings):
    """Backoff in milliseconds, so retried calls take a moment in tests."""
    settings.PG_RETRY_ATTEMPTS = 4
    settings.PG_RETRY_BACKOFF_SECONDS = 0.01
    settings.PG_RETRY_BACKOFF_CAP_SECONDS = 0.05
    settings.PG_RETRY_MAX_SECONDS = 10.0
    settings.PG_CONNECT_TIMEOUT_SECONDS = 0.5
    settings.PG_READ_TIMEOUT_SECONDS = 2.0
    return settings


@pytest.fixture
def breaker_name(request):
    """A breaker of its own per test (the cache is flushed between tests too)."""
    name = f"test-{request.node.name}"
    yield name
    breaker_module._memory_stores.pop(name, None)


@pytest.fixture
def make_gateway(fast_retries, breaker_name):
    def make(url: str, *, secret: str | None = None, policy: BreakerPolicy | None = None) -> PaymentGateway:
        return PaymentGateway(base_url=url, secret=secret, breaker=SharedBreaker(breaker_name, policy))

    return make
