"""The PG client: signed requests, bounded retries on network errors and 5xx, and the shared breaker."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.core.errors import PaymentUnavailable
from apps.payments.breaker import BreakerPolicy, SharedBreaker
from apps.payments.gateway import GatewayRejected, GatewayUnreachable
from tests.payments.conftest import BASE_DIR, free_port

APPROVED_BODY = {"transaction_key": "pg_scripted", "status": "pending"}


class ScriptedPg:
    """A gateway that answers with the next status of `script` (then `then` for ever), recording each request."""

    def __init__(self, script=(), *, then=202, delay: float = 0.0):
        self.script, self.then, self.delay = list(script), then, delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        pg = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with pg.lock:
                    status = pg.script.pop(0) if pg.script else pg.then
                    pg.requests.append({"method": self.command, "path": self.path, "body": body, "headers": dict(self.headers)})
                time.sleep(pg.delay)
                data = json.dumps(APPROVED_BODY if status < 400 else {"error": "scripted"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(*args, **kwargs) -> ScriptedPg:
        server = ScriptedPg(*args, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def charge(pg, order_id=1, key="payment-1"):
    return pg.create_payment(order_id=order_id, amount=500, currency="USD", card_number="4242424242424242", idempotency_key=key, callback="http://127.0.0.1:9/cb")


def test_requests_are_signed_and_carry_the_idempotency_key(scripted, make_gateway, settings):
    server = scripted()
    payment = charge(make_gateway(server.url), order_id=7, key="flashcart-payment-7")
    assert payment.transaction_key == "pg_scripted"
    [request] = server.requests
    assert (request["method"], request["path"]) == ("POST", "/payments")
    expected = "sha256=" + hmac.new(settings.PG_SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-PG-Signature"] == expected
    assert request["headers"]["Idempotency-Key"] == "flashcart-payment-7"
    assert json.loads(request["body"]) == {
        "order_id": 7, "amount": 500, "currency": "USD", "card_number": "4242424242424242", "callback_url": "http://127.0.0.1:9/cb"
    }


def test_default_callback_url_is_built_from_site_url(scripted, make_gateway, settings):
    settings.SITE_URL = "https://shop.example.com/"
    server = scripted()
    make_gateway(server.url).create_payment(order_id=1, amount=1, currency="USD", card_number="4242424242424242", idempotency_key="k")
    assert json.loads(server.requests[0]["body"])["callback_url"] == "https://shop.example.com/api/v1/payments/callback"


def test_5xx_answers_are_retried_with_the_same_request(scripted, make_gateway):
    server = scripted([500, 502, 503])
    pg = make_gateway(server.url)
    assert charge(pg).status == "pending"
    assert server.count == 4
    assert len({(request["body"], request["headers"]["Idempotency-Key"]) for request in server.requests}) == 1
    assert pg.breaker.state().name == "closed"
    assert (pg.breaker.state().outcomes, pg.breaker.state().failures) == (1, 0)  # one call, one success


def test_retries_are_bounded(scripted, make_gateway, fast_retries):
    server = scripted(then=500)
    with pytest.raises(GatewayUnreachable):
        charge(make_gateway(server.url))
    assert server.count == fast_retries.PG_RETRY_ATTEMPTS


def test_retries_stop_at_the_deadline(scripted, make_gateway, fast_retries):
    fast_retries.PG_RETRY_ATTEMPTS = 100
    fast_retries.PG_RETRY_MAX_SECONDS = 0.5
    server = scripted(then=500, delay=0.1)
    started = time.monotonic()
    with pytest.raises(GatewayUnreachable):
        charge(make_gateway(server.url))
    assert time.monotonic() - started < 2.0
    assert 2 <= server.count <= 7


def test_read_timeouts_are_retried(scripted, make_gateway, fast_retries):
    fast_retries.PG_READ_TIMEOUT_SECONDS = 0.2
    server = scripted(then=202, delay=0.5)
    with pytest.raises(GatewayUnreachable):
        charge(make_gateway(server.url))
    assert server.count == fast_retries.PG_RETRY_ATTEMPTS


def test_connection_refused_is_retried_then_unreachable(make_gateway):
    with pytest.raises(GatewayUnreachable) as raised:
        charge(make_gateway(f"http://127.0.0.1:{free_port()}"))
    assert "4242424242424242" not in str(raised.value)


def test_4xx_is_not_retried_and_counts_as_the_gateway_working(scripted, make_gateway):
    server = scripted([422])
    pg = make_gateway(server.url)
    with pytest.raises(GatewayRejected) as raised:
        charge(pg)
    assert raised.value.status_code == 422
    assert server.count == 1
    assert (pg.breaker.state().outcomes, pg.breaker.state().failures) == (1, 0)


def test_a_gateway_failing_40_percent_of_requests_still_serves_every_call(start_simulator, make_gateway, fast_retries):
    fast_retries.PG_RETRY_ATTEMPTS = 12  # a call fails only if 12 attempts in a row do: 0.4**12 = 2e-5
    simulator = start_simulator(PG_SIM_FAILURE_RATE=0.4, PG_SIM_LATENCY_MS=5, PG_SIM_PROCESSING_MS=60000)
    pg = make_gateway(simulator.url)
    keys = {charge(pg, order_id=number, key=f"payment-{number}").transaction_key for number in range(20)}
    assert len(keys) == 20
    assert simulator.output().count("simulated failure (500)") >= 3  # P(fewer) is about 1e-4 over ~33 requests
    state = pg.breaker.state()
    assert (state.name, state.outcomes, state.failures) == ("closed", 10, 0)


# --- the circuit breaker ----------------------------------------------------------------------------

POLICY = BreakerPolicy(window=10, min_calls=5, failure_rate=0.5, open_seconds=1.0, trial_seconds=5.0)


@pytest.fixture(params=["redis", "memory"])
def store(request, settings):
    """Each rule is checked on the shared Redis store and on the embedded default's in-process one."""
    if request.param == "memory":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return request.param


def make_breaker(name, policy=POLICY):
    return SharedBreaker(name, policy)


def record(breaker, *outcomes: bool) -> list[bool]:
    """Record call outcomes (True = failed); returns whether the breaker was open after each."""
    return [breaker.record(breaker.acquire(), success=not failed) for failed in outcomes]


def test_store_follows_the_cache(store, breaker_name):
    assert type(make_breaker(breaker_name)._store).__name__ == ("_RedisStore" if store == "redis" else "_MemoryStore")


def test_opens_on_the_failure_rate_not_on_consecutive_failures(store, breaker_name):
    breaker = make_breaker(breaker_name)
    # Never two failures in a row (a consecutive-failure breaker would never open): 4 of the last 10...
    assert record(breaker, *[False] * 5, *[True, False] * 4) == [False] * 13
    assert (breaker.state().name, breaker.state().outcomes, breaker.state().failures) == ("closed", 10, 4)
    assert record(breaker, True) == [True]  # ...then 5 of the last 10
    assert breaker.state().name == "open"
    with pytest.raises(PaymentUnavailable) as raised:
        breaker.acquire()
    assert raised.value.retry_after == 1
    assert raised.value.details == {"retry_after": 1}


def test_below_the_rate_it_stays_closed_as_the_window_slides(store, breaker_name):
    breaker = make_breaker(breaker_name)
    assert not any(record(breaker, *([True, False, False] * 10)))  # a third failing, 30 calls
    state = breaker.state()
    assert (state.name, state.outcomes) == ("closed", 10)
    assert state.failures in (3, 4)


def test_old_failures_leave_the_window(store, breaker_name):
    breaker = make_breaker(breaker_name)
    assert not any(record(breaker, *[False] * 6, *[True] * 4))
    assert (breaker.state().name, breaker.state().failures) == ("closed", 4)
    assert not any(record(breaker, *[False] * 10))  # the 4 failures are pushed out
    assert (breaker.state().name, breaker.state().failures) == ("closed", 0)
    assert record(breaker, True, True, True, True) == [False, False, False, False]  # 4 of 10
    assert record(breaker, True) == [True]


def test_judges_only_after_min_calls(store, breaker_name):
    breaker = make_breaker(breaker_name)
    assert record(breaker, True, True, True, True) == [False] * 4
    assert record(breaker, True) == [True]


def test_half_open_after_the_wait_a_successful_trial_closes(store, breaker_name):
    breaker = make_breaker(breaker_name)
    record(breaker, *[True] * 5)
    assert breaker.state().name == "open"
    time.sleep(POLICY.open_seconds + 0.05)
    assert breaker.state().name == "half_open"
    permit = breaker.acquire()
    assert permit.name == "TRIAL"
    with pytest.raises(PaymentUnavailable):  # one trial at a time
        breaker.acquire()
    assert breaker.record(permit, success=True) is False
    state = breaker.state()
    assert (state.name, state.outcomes) == ("closed", 0)
    assert breaker.acquire().name == "CALL"


def test_a_failed_trial_opens_it_again(store, breaker_name):
    breaker = make_breaker(breaker_name)
    record(breaker, *[True] * 5)
    time.sleep(POLICY.open_seconds + 0.05)
    assert breaker.record(breaker.acquire(), success=False) is True
    assert breaker.state().name == "open"
    with pytest.raises(PaymentUnavailable):
        breaker.acquire()


def test_a_trial_whose_caller_vanished_is_given_to_another_after_its_lease(store, breaker_name):
    breaker = make_breaker(breaker_name, BreakerPolicy(window=10, min_calls=5, failure_rate=0.5, open_seconds=0.2, trial_seconds=0.3))
    record(breaker, *[True] * 5)
    time.sleep(0.25)
    assert breaker.acquire().name == "TRIAL"  # and never recorded
    with pytest.raises(PaymentUnavailable):
        breaker.acquire()
    time.sleep(0.35)
    assert breaker.acquire().name == "TRIAL"


def test_outcomes_of_calls_begun_before_it_opened_do_not_count(store, breaker_name):
    breaker = make_breaker(breaker_name)
    late = breaker.acquire()
    record(breaker, *[True] * 5)
    assert breaker.record(late, success=True) is True  # still open: a late success closes nothing
    assert breaker.state().name == "open"


def test_exactly_one_trial_among_concurrent_callers(breaker_name):
    breaker = make_breaker(breaker_name)
    record(breaker, *[True] * 5)
    time.sleep(POLICY.open_seconds + 0.05)
    permits, refused = [], []
    barrier = threading.Barrier(20)

    def call():
        own = make_breaker(breaker_name)  # every caller with its own client, as separate processes would be
        barrier.wait()
        try:
            permits.append(own.acquire())
        except PaymentUnavailable:
            refused.append(1)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [permit.name for permit in permits] == ["TRIAL"]
    assert len(refused) == 19


def breaker_state_in_another_process(name: str) -> dict:
    script = (
        "import json, django; django.setup();"
        "from apps.payments.breaker import SharedBreaker;"
        "from apps.core.errors import PaymentUnavailable;"
        f"breaker = SharedBreaker({name!r});"
        "state = breaker.state()\n"
        "try:\n    breaker.ensure_closed(); refused = None\n"
        "except PaymentUnavailable as exc:\n    refused = exc.retry_after\n"
        "print(json.dumps({'state': state.name, 'refused_retry_after': refused}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    completed = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_pg_down_opens_the_breaker_for_every_process_and_recovery_closes_it(scripted, make_gateway, fast_retries, breaker_name):
    open_seconds = 8.0  # long enough for another Python process to start and look
    policy = BreakerPolicy(window=10, min_calls=5, failure_rate=0.5, open_seconds=open_seconds, trial_seconds=5.0)
    down = scripted(then=500)
    pg = make_gateway(down.url, policy=policy)
    for number in range(5):
        with pytest.raises(GatewayUnreachable):
            charge(pg, order_id=number)
    assert down.count == 5 * fast_retries.PG_RETRY_ATTEMPTS

    started = time.monotonic()
    with pytest.raises(PaymentUnavailable) as raised:
        charge(pg, order_id=99)
    assert time.monotonic() - started < 0.5  # refused at once,
    assert down.count == 5 * fast_retries.PG_RETRY_ATTEMPTS  # without calling the gateway
    assert 1 <= raised.value.retry_after <= open_seconds

    fresh = make_gateway(down.url, policy=policy)  # a new client in this process
    with pytest.raises(PaymentUnavailable):
        fresh.ensure_available()
    elsewhere = breaker_state_in_another_process(breaker_name)  # and another process
    assert elsewhere["state"] == "open" and 1 <= elsewhere["refused_retry_after"] <= open_seconds

    with down.lock:
        down.then = 202  # the gateway recovers
    calls_before_recovery = down.count
    time.sleep(max(0.0, open_seconds + 0.05 - (time.monotonic() - started)))
    assert breaker_state_in_another_process(breaker_name)["state"] == "half_open"
    assert fresh.breaker.state().name == "half_open"
    assert charge(fresh, order_id=100).transaction_key == "pg_scripted"  # the trial call
    assert down.count == calls_before_recovery + 1
    assert breaker_state_in_another_process(breaker_name) == {"state": "closed", "refused_retry_after": None}
    assert charge(pg, order_id=101).status == "pending"
