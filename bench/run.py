"""`make bench`: every load scenario in one run, against gunicorn + a Celery worker on MariaDB and Redis.

    .venv/bin/python bench/run.py [--seconds 10] [--floor-seconds 5] [--connections 32] [--only coupon,charge]

What it does, in four to five minutes on a quiet machine (scenarios past --budget, 840 s by default, are skipped):
1. re-creates the bench database (BENCH_DATABASE, default bench_run) and empties its Redis dbs
   (BENCH_REDIS_DB and the next one, the Celery broker), migrates, and seeds (bench/seed.py): 2,000
   shoppers with API tokens and wallets funded through the wallet service, 1,000 products, one hot
   product with limited stock, a marker product, and a 100-coupon campaign;
2. starts the PG simulator (`manage.py pg_simulator`, its default latency), gunicorn (config/gunicorn.py,
   production settings; GUNICORN_WORKERS, default 2 x cores + 1), a Celery worker (as docker compose
   runs it: prefork, --worker-concurrency 4) and a data-platform receiver the outbox relay posts to;
   PG_URL, PG_SECRET and SITE_URL point the shop and the simulator at each other;
3. runs each scenario with wrk (bench/wrk/flashcart.lua) on loopback, each right after the same
   load against GET /livez (the floor: a Django JSON view that does nothing), so every throughput
   is also given as a ratio to the floor measured on the same server a moment before; MariaDB's
   statement and commit counters are read around every run;
4. around the scenarios: while checkout-spread runs, a probe buys the marker product and times how
   long GET /products/popular takes to count it; before checkout-hot, threads time how long a
   checkout holds the hot product's row lock (bench/lock_hold.py); before "checkout-hot once sold
   out", the hot product's last units are bought; after card checkout, every card order is waited for
   until the PG's callback has settled it;
5. waits for the outbox to drain, checks the invariants in the database (bench/invariants.py), and writes
   bench/results/latest.md (the table, the invariant checks and the machine).

Expected refusals (409 COUPON_SOLD_OUT, 409 OUT_OF_STOCK, ...) count as answered; 5xx answers and
socket errors count as errors; any other status is "unexpected" and fails the run like a broken
invariant. Exit status 0 only when there are no errors, nothing unexpected and every invariant holds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import runpy
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench import common  # noqa: E402
from tests.receiver import EventReceiver  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "wrk" / "flashcart.lua"
RESULTS = BENCH_DIR / "results"
CELERY = str(common.ROOT / ".venv" / "bin" / "celery")

SHOPPERS = 2_000
PRODUCTS = 1_000
CATEGORIES = 10
SPREAD_STOCK = 1_000_000
WALLET_FUNDS = 50_000_000
COUPONS = 100
DATA_PLATFORM_SECRET = "bench-data-platform-secret"

PG_SECRET = "bench-pg-secret"
CARD_NUMBER = "4242424242424242"  # the PG simulator's approved test card
PROBE_QUANTITY = 50  # units of the marker product per probe order: it tops the popular list at once

SCENARIOS = ["coupon", "charge", "spread", "hot", "soldout", "card", "list", "detail", "popular"]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    expected: frozenset[str]
    target: str = ""


# Targets are the speed issue's, as shares of the floor measured in the same run.
CATALOG = {
    "list": Scenario("list", "browse: product list (cached pages)", frozenset({"200"}), ">= 40%"),
    "detail": Scenario("detail", "browse: product detail (cached)", frozenset({"200"}), ">= 60%"),
    "popular": Scenario("popular", "browse: popular products", frozenset({"200"}), ">= 50%"),
    "coupon": Scenario("coupon", "coupon rush, once sold out", frozenset({"409 COUPON_SOLD_OUT", "409 COUPON_ALREADY_ISSUED"}), ">= 60%"),
    "charge": Scenario("charge", "wallet charge", frozenset({"200", "409 CONCURRENT_UPDATE"}), ">= 20%"),
    "spread": Scenario("spread", "checkout-spread (wallet, random products)", frozenset({"201", "409 CONCURRENT_UPDATE"}), ">= 10%, p95 < 100 ms"),
    "hot": Scenario("hot", "checkout-hot (wallet, one product, limited stock)", frozenset({"201", "409 OUT_OF_STOCK", "409 CONCURRENT_UPDATE"}), ">= 10%"),
    "soldout": Scenario("soldout", "checkout-hot once sold out", frozenset({"409 OUT_OF_STOCK"}), ">= 50%"),
    "card": Scenario("card", "card checkout (PG simulator on loopback)", frozenset({"201", "409 CONCURRENT_UPDATE"}), ">= 8%"),
}
TARGET_SHARES = {"list": 0.4, "detail": 0.6, "popular": 0.5, "coupon": 0.6, "charge": 0.2, "spread": 0.1, "hot": 0.1, "soldout": 0.5, "card": 0.08}
SPREAD_P95_TARGET_MS = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured length of each scenario")
    parser.add_argument("--floor-seconds", type=float, default=5.0, help="length of the floor run before each scenario")
    parser.add_argument("--warmup-seconds", type=float, default=2.0, help="unmeasured load before each scenario")
    parser.add_argument("--connections", type=int, default=32, help="concurrent wrk connections (clients)")
    parser.add_argument("--hot-stock", type=int, default=2_000, help="stock of the checkout-hot product")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--drain-seconds", type=float, default=120.0, help="longest wait for the outbox to be delivered")
    parser.add_argument("--settle-seconds", type=float, default=180.0, help="longest wait for the card orders to be paid")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="Celery worker processes (docker compose runs 4)")
    parser.add_argument("--lock-threads", type=int, default=8, help="threads buying the hot product while its lock is timed")
    parser.add_argument("--lock-orders", type=int, default=25, help="orders per thread while the hot product's lock is timed")
    parser.add_argument("--budget", type=float, default=840.0, help="seconds after which remaining scenarios are skipped")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "bench_run"))
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", "8")), help="cache db; the broker uses the next")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


# --- Seeding -------------------------------------------------------------------------------------

def seed(env: dict[str, str], *, hot_stock: int) -> dict:
    """Shoppers with API tokens, then the shop (bench.seed.seed_shop): products, the coupon campaign and
    the shoppers' wallets, funded through the wallet service."""
    tokens = common.seed_users(env, count=SHOPPERS, prefix="shopper")
    seeded = common.django_call(
        env,
        "bench.seed:seed_shop",
        shopper_prefix="shopper",
        wallet_funds=WALLET_FUNDS,
        products=PRODUCTS,
        categories=CATEGORIES,
        stock=SPREAD_STOCK,
        hot_stock=hot_stock,
        coupons=COUPONS,
    )
    seeded["tokens"] = tokens
    seeded["hot_ids"] = seeded["product_ids"][:200]  # browse reads a bounded set, as real traffic does
    return seeded


def write_lua_data(seeded: dict, path: Path) -> None:
    """The data wrk's script reads; the last shopper is the popular-products probe's, kept out of wrk's load."""

    def lua_list(values) -> str:
        return "{" + ",".join(json.dumps(value) for value in values) + "}"

    path.write_text(
        "return {"
        f"tokens = {lua_list(seeded['tokens'][:-1])}, product_ids = {lua_list(seeded['product_ids'])}, "
        f"hot_ids = {lua_list(seeded['hot_ids'])}, coupon_id = {seeded['coupon_id']}, hot_product_id = {seeded['hot_product_id']}, "
        f"card_number = {json.dumps(CARD_NUMBER)}"
        "}\n"
    )


# --- Processes around the server -----------------------------------------------------------------



@contextlib.contextmanager
def celery_worker(env: dict[str, str], *, log_path: Path, concurrency: int):
    """One Celery worker (prefork, `concurrency` processes, as docker compose runs it) relaying the outbox,
    running the consumers and asking the PG for card payments while the scenarios run."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                CELERY, "-A", "config", "worker", "--concurrency", str(concurrency), "--loglevel", "WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=common.ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _worker_pids.append(proc.pid)
    try:
        yield proc
    finally:
        _worker_pids.remove(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


_worker_pids: list[int] = []
_simulator_pids: list[int] = []


@contextlib.contextmanager
def pg_simulator(env: dict[str, str], *, port: int, log_path: Path):
    """`manage.py pg_simulator` on 127.0.0.1:port with its default latency and callback delay (no PG_SIM_* setting
    is passed on). apps.devtools, which holds it, is installed by the local settings only. Yields its first line."""
    sim_env = {key: value for key, value in env.items() if not key.startswith("PG_SIM_")}
    sim_env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [common.PYTHON, "manage.py", "pg_simulator", "--port", str(port)], cwd=common.ROOT, env=sim_env, stdout=log, stderr=subprocess.STDOUT
        )
    _simulator_pids.append(proc.pid)
    try:
        deadline = time.monotonic() + 30
        while not common.port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the PG simulator did not start; see {log_path}")
            time.sleep(0.1)
        yield log_path.read_text().strip().splitlines()[0]
    finally:
        _simulator_pids.remove(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds used so far by the Celery worker (started by celery_worker()), MariaDB, Redis and
    this process with its finished children (wrk), and the machine's busy and total CPU seconds:
    differences over a scenario say where its CPU went, and how much went to work that is not ours."""
    tick = os.sysconf("SC_CLK_TCK")
    times = os.times()
    snapshot = {"worker": 0.0, "pg": 0.0, "mariadb": 0.0, "redis": 0.0, "self": times.user + times.system + times.children_user + times.children_system}
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat_path.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue  # the process ended while we looked
        fields, name = tail.split(), head.rsplit("(", 1)[-1]
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(stat_path.parent.name) in _worker_pids or int(fields[1]) in _worker_pids:
            snapshot["worker"] += seconds
        elif int(stat_path.parent.name) in _simulator_pids:
            snapshot["pg"] += seconds
        elif name in ("mariadbd", "mysqld"):
            snapshot["mariadb"] += seconds
        elif name == "redis-server":
            snapshot["redis"] += seconds
    cpu = [int(value) / tick for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    snapshot["total"], snapshot["busy"] = sum(cpu[:8]), sum(cpu[:8]) - cpu[3] - cpu[4]  # all but idle and iowait
    return snapshot


DB_COUNTERS = ("Questions", "Com_select", "Com_insert", "Com_update", "Com_delete", "Com_commit", "Com_rollback")


def db_counters() -> dict[str, int]:
    """MariaDB's server-wide statement counters (SHOW GLOBAL STATUS): every client's, the bench's and anyone else's."""
    names = ", ".join(f"'{name}'" for name in DB_COUNTERS)
    result = subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "--batch", "--skip-column-names", "-e", f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {name: int(value) for name, value in (line.split("\t") for line in result.stdout.splitlines() if line)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run: its JSON report plus the server CPU and the database statements it cost."""

    report: dict
    server_cpu_seconds: float
    worker_cpu_seconds: float
    mariadb_cpu_seconds: float
    machine_busy: float  # fraction of all cores busy during the run, whoever used them
    other_cores: float  # cores kept busy meanwhile by work that is not this bench's (other people's)
    db: dict[str, int] = field(default_factory=dict)  # growth of db_counters() over the run
    elapsed: float = 0.0  # wall-clock seconds between the two counter readings

    @property
    def statements(self) -> int:
        """SQL statements that read or write rows: SELECT (SELECT ... FOR UPDATE included), INSERT, UPDATE, DELETE."""
        return sum(self.db.get(name, 0) for name in ("Com_select", "Com_insert", "Com_update", "Com_delete"))

    @property
    def commits(self) -> int:
        return self.db.get("Com_commit", 0)

    @property
    def seconds(self) -> float:
        return self.report["duration_us"] / 1e6

    @property
    def requests(self) -> int:
        return self.report["requests"]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def statuses(self) -> dict[str, int]:
        return self.report["statuses"]

    def count(self, outcomes) -> int:
        return sum(n for key, n in self.statuses.items() if key in outcomes)

    @property
    def socket_errors(self) -> int:
        return sum(self.report["errors"].values())

    @property
    def server_errors(self) -> int:
        return sum(n for key, n in self.statuses.items() if key.startswith("5"))

    def latency_ms(self, percentile: str) -> float:
        return self.report["latency_us"][percentile] / 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def worker_cpu_ms_per_request(self) -> float:
        return self.worker_cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def mariadb_cpu_ms_per_request(self) -> float:
        return self.mariadb_cpu_seconds * 1000 / self.requests if self.requests else 0.0


def wrk(base_url: str, *, scenario: str, seconds: float, connections: int, data_path: Path, work_dir: Path) -> Run:
    out = work_dir / f"wrk-{scenario}-{uuid.uuid4().hex[:8]}.json"
    env = {**os.environ, "BENCH_SCENARIO": scenario, "BENCH_DATA": str(data_path), "BENCH_NONCE": uuid.uuid4().hex[:12], "BENCH_OUT": str(out)}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA_SCRIPT), base_url]
    db_before = db_counters()
    started = time.monotonic()
    cpu_before, before = common.server_cpu_seconds(base_url), cpu_snapshot()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    cpu, after = common.server_cpu_seconds(base_url) - cpu_before, cpu_snapshot()
    elapsed = time.monotonic() - started
    db_after = db_counters()
    if result.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    delta = {key: after[key] - before[key] for key in after}
    ours = cpu + delta["worker"] + delta["pg"] + delta["mariadb"] + delta["redis"] + delta["self"]
    return Run(
        report=json.loads(out.read_text()),
        server_cpu_seconds=cpu,
        worker_cpu_seconds=delta["worker"],
        mariadb_cpu_seconds=delta["mariadb"],
        machine_busy=delta["busy"] / delta["total"] if delta["total"] else 0.0,
        other_cores=max(0.0, delta["busy"] - ours) / elapsed,
        db={name: db_after[name] - db_before[name] for name in DB_COUNTERS},
        elapsed=elapsed,
    )


@dataclass
class Row:
    scenario: Scenario
    run: Run
    floor: Run
    orders_per_second: float | None = None
    target_met: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return self.run.count(self.scenario.expected)

    @property
    def answered_per_second(self) -> float:
        return self.answered / self.run.seconds if self.run.seconds else 0.0

    @property
    def unexpected(self) -> dict[str, int]:
        return {key: n for key, n in self.run.statuses.items() if key not in self.scenario.expected and not key.startswith("5")}

    @property
    def errors(self) -> int:
        return self.run.server_errors + self.run.socket_errors

    @property
    def ratio(self) -> float:
        return self.answered_per_second / self.floor.per_second if self.floor.per_second else 0.0

    def _background(self, count: int) -> float:
        """Of a counter's growth over the run, what other clients of the server would have added meanwhile: its rate
        during the floor run just before (the floor touches no database, and the outbox was drained before it)."""
        return count / self.floor.elapsed * self.run.elapsed if self.floor.elapsed else 0.0

    @property
    def background_statements(self) -> float:
        return self._background(self.floor.statements)

    @property
    def statements_per_request(self) -> float:
        return max(0.0, self.run.statements - self.background_statements) / self.run.requests if self.run.requests else 0.0

    @property
    def commits_per_request(self) -> float:
        return max(0.0, self.run.commits - self._background(self.floor.commits)) / self.run.requests if self.run.requests else 0.0


def coupon_race(base_url: str, *, tokens: list[str], coupon_id: int, threads: int) -> common.LoadResult:
    """Every shopper asks once, in random order, from `threads` concurrent clients: exact outcomes."""
    import random

    order = list(range(len(tokens)))
    random.shuffle(order)

    def call(session, thread_index, iteration):
        position = thread_index + iteration * threads
        if position >= len(order):
            return None
        response = session.post(f"{base_url}/api/v1/coupons/{coupon_id}/issue", headers={"Authorization": f"Token {tokens[order[position]]}"}, timeout=30)
        return common.outcome_of(response)

    return common.run_load(call, threads=threads, iterations=len(order), server=base_url)


class PopularLagProbe:
    """While a scenario runs: buy PROBE_QUANTITY units of the marker product (which nothing else buys) as the probe's
    shopper, then poll GET /products/popular?days=1 until it counts them; the time from the 201 to the first answer
    that does is one lag sample. One sample at a time, until stop()."""

    POLL_SECONDS = 0.05
    GIVE_UP_SECONDS = 60.0

    def __init__(self, base_url: str, *, token: str, product_id: int):
        self.base_url, self.product_id = base_url, product_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.lags: list[float] = []
        self.outcomes: dict[str, int] = {}
        self.bought = 0
        self.missed = 0  # samples not counted within GIVE_UP_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the sample in flight (it is measured to its end)."""
        self._stop.set()
        self._thread.join()

    @property
    def orders(self) -> int:
        return self.outcomes.get("201", 0)

    def counted(self) -> int:
        response = self.session.get(f"{self.base_url}/api/v1/products/popular", params={"days": 1, "limit": 50}, timeout=10)
        response.raise_for_status()
        return next((entry["quantity_sold"] for entry in response.json()["results"] if entry["product"]["id"] == self.product_id), 0)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            response = self.session.post(
                f"{self.base_url}/api/v1/orders",
                json={"items": [{"product_id": self.product_id, "quantity": PROBE_QUANTITY}]},
                headers={"Idempotency-Key": f"probe-{uuid.uuid4().hex[:12]}-{number}"},
                timeout=30,
            )
            outcome = common.outcome_of(response)
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            if outcome != "201":
                time.sleep(0.5)
                continue
            paid, self.bought = time.perf_counter(), self.bought + PROBE_QUANTITY
            while self.counted() < self.bought:
                if time.perf_counter() - paid > self.GIVE_UP_SECONDS:
                    self.missed += 1
                    return
                time.sleep(self.POLL_SECONDS)
            self.lags.append(time.perf_counter() - paid)
            self._stop.wait(0.5)

    def summary(self) -> dict:
        ordered = sorted(self.lags)
        if not ordered:
            return {"count": 0, "missed": self.missed}

        def rank(p: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000

        return {"count": len(ordered), "missed": self.missed, "p50": rank(50), "p95": rank(95), "max": ordered[-1] * 1000}


# --- Invariants ----------------------------------------------------------------------------------

def outbox_counts(database: str) -> dict[str, int]:
    """Outbox rows by status, read with the mariadb client (cheap enough to poll)."""
    result = subprocess.run(
        [
            "mariadb",
            "-h127.0.0.1",
            "-uroot",
            "--batch",
            "--skip-column-names",
            database,
            "-e",
            "SELECT status, COUNT(*) FROM outbox_outboxevent GROUP BY status",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {status: int(n) for status, n in (line.split("\t") for line in result.stdout.split("\n") if line)}


def card_orders_by_status(database: str) -> dict[str, int]:
    """Card orders by status, read with the mariadb client (cheap enough to poll)."""
    result = subprocess.run(
        [
            "mariadb",
            "-h127.0.0.1",
            "-uroot",
            "--batch",
            "--skip-column-names",
            database,
            "-e",
            "SELECT status, COUNT(*) FROM orders_order WHERE payment_method = 'card' GROUP BY status",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {status: int(n) for status, n in (line.split("\t") for line in result.stdout.split("\n") if line)}


def settle_card_orders(database: str, *, seconds: float) -> tuple[dict[str, int], float]:
    """Wait until no card order is pending_payment (the PG's callbacks have come in), or `seconds` pass."""
    started = time.monotonic()
    while True:
        counts = card_orders_by_status(database)
        if not counts.get("pending_payment") or time.monotonic() - started > seconds:
            return counts, time.monotonic() - started
        time.sleep(0.5)


def queued_tasks(env: dict[str, str]) -> int:
    """Celery messages waiting in the broker's default queue."""
    result = subprocess.run(["redis-cli", "-u", env["CELERY_BROKER_URL"], "LLEN", "celery"], capture_output=True, text=True, check=True)
    return int(result.stdout.strip() or 0)


def drain_outbox(env: dict[str, str], database: str, *, seconds: float) -> tuple[dict[str, int], float]:
    """Wait until no event is pending and no task is queued (or `seconds` pass); nudges the relay
    when progress stalls. Before a scenario it keeps the previous one's background work out of it."""
    started = time.monotonic()
    last_pending, stalled_since = None, time.monotonic()
    while True:
        counts = outbox_counts(database)
        pending = counts.get("pending", 0)
        if (pending == 0 and queued_tasks(env) == 0) or time.monotonic() - started > seconds:
            return counts, time.monotonic() - started
        if pending != last_pending:
            last_pending, stalled_since = pending, time.monotonic()
        elif time.monotonic() - stalled_since > 5:  # every trigger already ran: what beat's sweep would do
            common.django_call(env, "bench.jobs:queue_relay")
            stalled_since = time.monotonic()
        time.sleep(1)


@dataclass
class Steps:
    """What ran beside the wrk scenarios, for the report and the order count."""

    lock: dict | None = None  # bench.lock_hold.measure_hot_row_lock's result
    sell_out: dict | None = None  # bench.jobs.sell_out's result
    probe: PopularLagProbe | None = None
    card_settled: dict[str, int] | None = None  # card orders by status once settled
    card_settle_seconds: float = 0.0

    @property
    def orders(self) -> int:
        """Orders these steps were answered 201 for (or, for the sell-out, placed through the service)."""
        return (
            (self.lock["statuses"].get("201", 0) if self.lock else 0)
            + (self.sell_out["orders"] if self.sell_out else 0)
            + (self.probe.orders if self.probe else 0)
        )


ORDER_SCENARIOS = ("spread", "hot", "card")


def check_invariants(
    facts: dict,
    database_checks: list,
    *,
    rows: dict[str, Row],
    race: common.LoadResult | None,
    steps: Steps,
    receiver: EventReceiver,
    args,
    outbox: dict,
) -> list[tuple[str, bool]]:
    """The database's own invariants (bench.invariants.shop_checks), between the coupon race's exact
    outcomes and the checks that compare the database with what the server answered."""
    checks: list[tuple[str, bool]] = []

    def check(text: str, ok: bool) -> None:
        checks.append((text, bool(ok)))

    if race is not None:
        expected = {"201": COUPONS, "409 COUPON_SOLD_OUT": SHOPPERS - COUPONS}
        check(f"coupon race: {SHOPPERS:,} shoppers once each got exactly {dict(race.outcomes)} == {expected}", dict(race.outcomes) == expected)
    for text, ok in database_checks:
        check(text, ok)
    lines = facts["ledger_lines"]
    acknowledged_orders = sum(rows[key].run.statuses.get("201", 0) for key in ORDER_SCENARIOS if key in rows) + steps.orders
    check(
        f"orders in the database ({facts['orders']}) == 201 answers ({acknowledged_orders}, the lock timing's, the sell-out's and the probe's "
        f"included), plus at most the requests wrk cut off at its deadline ({args.connections} per checkout scenario)",
        acknowledged_orders <= facts["orders"] <= acknowledged_orders + args.connections * sum(key in rows for key in ORDER_SCENARIOS),
    )
    if steps.lock is not None:
        check(f"hot product's lock timing: every order answered 201 ({steps.lock['statuses']})", set(steps.lock["statuses"]) == {"201"})
    if steps.sell_out is not None:
        check(f"before checkout-hot once sold out: the hot product's last units bought ({steps.sell_out}), none left", facts["hot_stock_left"] == 0)
    if steps.probe is not None:
        summary = steps.probe.summary()
        check(
            f"popular-products probe: every order answered 201 ({steps.probe.outcomes}) and counted within {PopularLagProbe.GIVE_UP_SECONDS:.0f} s "
            f"({summary['count']} samples, {summary['missed']} missed)",
            set(steps.probe.outcomes) == {"201"} and summary["count"] > 0 and summary["missed"] == 0,
        )
    if "card" in rows:
        check(
            f"every card order settled as paid {steps.card_settle_seconds:.0f} s after the load (card orders by status: {steps.card_settled})",
            set(steps.card_settled or {}) == {"paid"},
        )
    if "charge" in rows:
        acknowledged = rows["charge"].run.statuses.get("200", 0)
        check(
            f"charges in the ledger ({lines.get('charge', 0)}) == 200 answers ({acknowledged}), plus at most {args.connections} cut off at the deadline",
            acknowledged <= lines.get("charge", 0) <= acknowledged + args.connections,
        )
    check(f"outbox fully delivered: {outbox} (no pending, none dead)", set(outbox) <= {"sent"})
    check(
        f"the receiver got every event ({len(receiver.event_ids):,} distinct of {facts['events_total']:,}; {len(receiver.deliveries):,} deliveries), "
        f"all correctly signed ({receiver.bad_signatures} bad)",
        len(receiver.event_ids) == facts["events_total"] and receiver.bad_signatures == 0,
    )
    for key, row in rows.items():
        check(f"{key}: no 5xx or socket errors ({row.errors}) and nothing unexpected ({row.unexpected or 'none'})", row.errors == 0 and not row.unexpected)
        check(f"{key} floor: only 200s ({row.floor.statuses}), no socket errors", set(row.floor.statuses) == {"200"} and row.floor.socket_errors == 0)
    return checks


# --- Report --------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    def first_line(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    redis_version = next(
        (
            line.split(":", 1)[1]
            for line in subprocess.run(["redis-cli", "-h", "127.0.0.1", "INFO", "server"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("redis_version")
        ),
        "unknown",
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "cpu": cpu_model,
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "mariadb": first_line(["mariadb", "-h127.0.0.1", "-uroot", "--batch", "--skip-column-names", "-e", "SELECT VERSION()"]),
        "redis": redis_version.strip(),
        "python": platform.python_version(),
        "wrk": first_line(["wrk", "--version"]).split(" Copyright")[0],
        "commit": first_line(["git", "-C", str(common.ROOT), "rev-parse", "--short", "HEAD"]),
    }


def gunicorn_settings(workers: int) -> str:
    """How the server runs, as config/gunicorn.py sets it (its worker class and threads), with `workers` workers."""
    conf = runpy.run_path(str(common.ROOT / "config" / "gunicorn.py"))
    threads = f" x {conf['threads']} threads" if conf.get("threads") and conf.get("worker_class") == "gthread" else ""
    return f"{workers} {conf.get('worker_class') or 'sync'} workers{threads}"


def render(
    *,
    rows: dict[str, Row],
    race: common.LoadResult | None,
    steps: Steps,
    checks,
    facts,
    env_info: dict,
    args,
    server: str,
    simulator: str,
    started: float,
    outbox_wait: float,
) -> str:
    lines = [
        "# Flashcart load bench",
        "",
        f"`make bench` ({' '.join(['bench/run.py', *sys.argv[1:]])}). Server: gunicorn, {server}, production settings, "
        f"on MariaDB and Redis, with one Celery worker ({args.worker_concurrency} processes) relaying the outbox to a local receiver, "
        f"running the consumers and asking the PG simulator for card payments throughout ({simulator}). Load: wrk, "
        f"{args.connections} connections, {args.seconds:.0f} s per scenario, each right after {args.floor_seconds:.0f} s of the same load on the floor "
        "(GET /livez, a Django JSON view that touches nothing). All on one machine, loopback.",
        "",
        summary_table(rows),
        "",
        "| scenario | req/s | answered/s | vs floor | p50 ms | p95 ms | p99 ms | errors | unexpected | outcomes "
        "| server CPU ms/req (floor) | worker, MariaDB CPU ms/req | statements/req | commits/req | machine busy | other work, cores | floor req/s | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in SCENARIOS:
        if key not in rows:
            continue
        row = rows[key]
        run = row.run
        orders = f" ({row.orders_per_second:,.0f} orders/s)" if row.orders_per_second is not None else ""
        outcomes = ", ".join(f"{k}: {v:,}" for k, v in sorted(run.statuses.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {row.scenario.title} | {run.per_second:,.0f} | {row.answered_per_second:,.0f}{orders} | {row.ratio:.0%} | "
            f"{run.latency_ms('p50'):.1f} | {run.latency_ms('p95'):.1f} | {run.latency_ms('p99'):.1f} | {row.errors} | "
            f"{sum(row.unexpected.values())} | {outcomes} | {run.cpu_ms_per_request:.2f} ({row.floor.cpu_ms_per_request:.2f}) | "
            f"{run.worker_cpu_ms_per_request:.2f}, {run.mariadb_cpu_ms_per_request:.2f} | {row.statements_per_request:.1f} | "
            f"{row.commits_per_request:.2f} | {run.machine_busy:.0%} | {run.other_cores:.2f} | {row.floor.per_second:,.0f} | "
            f"{row.scenario.target}{verdict(row)} |"
        )
    lines.append("")
    if race is not None:
        lines.append(
            f"Coupon race: {SHOPPERS:,} shoppers, each once, {args.connections} concurrent Python clients, for {COUPONS} coupons: "
            f"{race.per_second:,.0f} req/s, p50 {race.percentile(50):.1f} ms, p95 {race.percentile(95):.1f} ms, "
            f"p99 {race.percentile(99):.1f} ms; outcomes {dict(race.outcomes)}."
        )
        lines.append("")
    lines += [
        '"answered" counts the scenario\'s expected outcomes (201/200, and refusals such as 409 COUPON_SOLD_OUT or 409 OUT_OF_STOCK); '
        'errors are 5xx answers and socket errors; "vs floor" is answered/s over the floor\'s req/s, and the targets are shares of it. '
        "Orders/s for checkout-hot is the hot product's orders over the time between its first and last order of the scenario (its "
        "selling window). Server CPU is gunicorn's (master and workers) user + system time per request: steadier than req/s when other "
        "work shares the machine; worker and MariaDB CPU are the Celery worker's (outbox relay, consumers, PG requests) and the database "
        "server's, per request of the scenario (MariaDB's includes any other client of it). A card order's CPU includes the PG's "
        'callback to gunicorn when it came during the scenario. "machine busy" is the share of all cores in use during the '
        'scenario, by anyone; "other work" is the CPU (in cores) used meanwhile by processes that are not this bench\'s '
        "(gunicorn, the worker, the PG simulator, MariaDB, Redis, wrk, the receiver): other people's work on a shared machine.",
        "",
        "Statements/req and commits/req come from MariaDB's server-wide counters (SHOW GLOBAL STATUS), read before and after each "
        "run: statements are Com_select + Com_insert + Com_update + Com_delete (the statements that read or write rows; a SELECT ... "
        "FOR UPDATE is a Com_select), commits are Com_commit (explicit COMMITs: a statement in autocommit mode is not one). They "
        "include the Celery worker's work during the run (outbox relay, consumers, PG requests) and the PG callbacks' requests. Other "
        "clients of the server are taken out at the rate the same counters grew during the floor run just before (the floor touches "
        "no database and starts with the outbox drained); the raw counts are under \"Database counters\" below.",
        "",
    ]
    lines += side_measurements(rows, steps, facts, args)
    lines += ["## Invariants (checked in the database after the run)", ""]
    lines += [f"- {'OK' if ok else 'VIOLATED'}: {text}" for text, ok in checks]
    lines += [
        "",
        f"Outbox: {facts['events_total']:,} events; all delivered {outbox_wait:.0f} s after the load ended."
        if set(facts["events_by_status"]) <= {"sent"}
        else f"Outbox after waiting {outbox_wait:.0f} s: {facts['events_by_status']}.",
        "",
        "## Database counters (server-wide growth over each run)",
        "",
        "| scenario | requests | seconds | Questions | statements | Com_commit | Com_rollback | floor statements/s, commits/s (taken out) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in SCENARIOS:
        if key in rows:
            row = rows[key]
            floor_rate = row.floor.statements / row.floor.elapsed if row.floor.elapsed else 0.0
            floor_commits = row.floor.commits / row.floor.elapsed if row.floor.elapsed else 0.0
            lines.append(
                f"| {row.scenario.title} | {row.run.requests:,} | {row.run.elapsed:.1f} | {row.run.db.get('Questions', 0):,} | {row.run.statements:,} | "
                f"{row.run.commits:,} | {row.run.db.get('Com_rollback', 0):,} | {floor_rate:,.0f}, {floor_commits:,.0f} |"
            )
    lines += [
        "",
        "## Machine",
        "",
        *[f"- {name}: {value}" for name, value in env_info.items()],
        f"- total run time: {time.monotonic() - started:.0f} s",
        "",
    ]
    return "\n".join(lines)


def verdict(row: Row) -> str:
    return "" if row.target_met is None else (" **met**" if row.target_met else " **missed**")


def summary_table(rows: dict[str, Row]) -> str:
    """The short table (README's Performance section): per scenario, throughput against the floor, latency and cost."""
    lines = [
        "| scenario | answered/s | vs floor | p95 ms | CPU ms/req | statements/req | commits/req | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in SCENARIOS:
        if key in rows:
            row = rows[key]
            lines.append(
                f"| {row.scenario.title} | {row.answered_per_second:,.0f} | {row.ratio:.0%} | {row.run.latency_ms('p95'):.1f} | "
                f"{row.run.cpu_ms_per_request:.2f} | {row.statements_per_request:.1f} | {row.commits_per_request:.2f} | "
                f"{row.scenario.target}{verdict(row)} |"
            )
    return "\n".join(lines)


def side_measurements(rows: dict[str, Row], steps: Steps, facts: dict, args) -> list[str]:
    lines = []
    if "card" in rows:
        card, paid = rows["card"], facts["card_paid_seconds"]
        lines += [
            f"Card checkout: {card.orders_per_second or 0:,.0f} card orders/s, p95 {card.run.latency_ms('p95'):.1f} ms to the 201; "
            f"from order to `paid` (paid_at - created_at in the database, over the {paid['count']:,} paid card orders, warm-up's "
            f"included): p50 {paid['p50']:.2f} s, p95 {paid['p95']:.2f} s, max {paid['max']:.2f} s; all settled "
            f"{steps.card_settle_seconds:.0f} s after the load. The simulator answers after its latency and calls back after its "
            "processing delay (both its defaults), so that delay is the floor of the time to paid.",
            "",
        ]
    if steps.lock is not None:
        hold, wait = steps.lock["hold_ms"], steps.lock["wait_ms"]
        lines += [
            f"Hot product's row lock (bench/lock_hold.py, before checkout-hot): {steps.lock['threads']} threads x {args.lock_orders} "
            f"checkouts of one unit through the API's code in one process, production settings: held from the lock's grant to COMMIT "
            f"p50 {hold['p50']:.2f} ms, p95 {hold['p95']:.2f} ms, max {hold['max']:.2f} ms over {hold['count']} checkouts; "
            f"waited for p50 {wait['p50']:.2f} ms, p95 {wait['p95']:.2f} ms.",
            "",
        ]
    if steps.probe is not None:
        lag = steps.probe.summary()
        if lag["count"]:
            lines += [
                f"Popular-products lag under the checkout-spread load: a paid order of the marker product to GET "
                f"/api/v1/products/popular?days=1 counting it, polled every {PopularLagProbe.POLL_SECONDS * 1000:.0f} ms: "
                f"p50 {lag['p50']:.0f} ms, p95 {lag['p95']:.0f} ms, max {lag['max']:.0f} ms over {lag['count']} samples.",
                "",
            ]
    if steps.sell_out is not None:
        lines += [
            f"Before checkout-hot once sold out, the hot product's last {steps.sell_out['units']:,} units were bought "
            f"({steps.sell_out['orders']} orders through the order service); the same requests as checkout-hot then kept coming.",
            "",
        ]
    return lines


# --- Main ----------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    if shutil.which("wrk") is None:
        common.log("wrk is not installed: apt-get install -y wrk")
        return 2
    for service, command in {
        "MariaDB": ["mariadb-admin", "--protocol=tcp", "-h127.0.0.1", "-uroot", "ping"],
        "Redis": ["redis-cli", "-h", "127.0.0.1", "ping"],
    }.items():
        if subprocess.run(command, capture_output=True).returncode != 0:
            common.log(f"{service} does not answer on 127.0.0.1: start it as DEVELOPERS.md shows")
            return 2
    work_dir = Path(f"/tmp/flashcart-bench-{args.database}")
    work_dir.mkdir(exist_ok=True)
    workers = int(os.environ.get("GUNICORN_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
    env_info = machine()
    rows: dict[str, Row] = {}
    race = None
    steps = Steps()
    hot_run: list[str] | None = None

    with EventReceiver(secret=DATA_PLATFORM_SECRET) as receiver:
        port, pg_port = free_port(), free_port()
        env = common.bench_env(
            database=args.database,
            redis_db=args.redis_db,
            DATA_PLATFORM_URL=receiver.url,
            DATA_PLATFORM_SECRET=DATA_PLATFORM_SECRET,
            PG_URL=f"http://127.0.0.1:{pg_port}",
            PG_SECRET=PG_SECRET,
            SITE_URL=f"http://127.0.0.1:{port}",
        )
        common.log(f"Preparing database {args.database} and Redis dbs {args.redis_db}-{args.redis_db + 1} ...")
        common.reset_database(env, args.database)
        seeded = seed(env, hot_stock=args.hot_stock)
        data_path = work_dir / "data.lua"
        write_lua_data(seeded, data_path)
        common.log(f"Seeded {SHOPPERS:,} shoppers, {PRODUCTS:,} products, hot stock {args.hot_stock:,}, {COUPONS} coupons ({time.monotonic() - started:.0f} s)")

        with (
            pg_simulator(env, port=pg_port, log_path=work_dir / "pg-simulator.log") as simulator,
            celery_worker(env, log_path=work_dir / "celery.log", concurrency=args.worker_concurrency),
            common.gunicorn(env, port=port, workers=workers, log_path=work_dir / "gunicorn.log") as base_url,
        ):
            common.log(simulator)

            def measure(key: str, *, beside: PopularLagProbe | None = None) -> Row:
                scenario = CATALOG[key]
                _, waited = drain_outbox(env, args.database, seconds=60)
                if waited >= 1:
                    common.log(f"Waited {waited:.0f} s for the previous scenario's outbox events to be relayed")
                load = {"connections": args.connections, "data_path": data_path, "work_dir": work_dir}
                if args.warmup_seconds > 0 and key != "hot":
                    wrk(base_url, scenario="floor" if key in ("charge", "spread", "card") else key, seconds=args.warmup_seconds, **load)
                floor = wrk(base_url, scenario="floor", seconds=args.floor_seconds, **load)
                if beside is not None:
                    beside.start()
                run = wrk(base_url, scenario=key, seconds=args.seconds, **load)
                if beside is not None:
                    beside.stop()
                row = Row(scenario=scenario, run=run, floor=floor)
                common.log(
                    f"{scenario.title}: {run.per_second:,.0f} req/s ({row.answered_per_second:,.0f} answered/s, {row.ratio:.0%} of the floor's "
                    f"{floor.per_second:,.0f}), p50 {run.latency_ms('p50'):.1f} ms, p95 {run.latency_ms('p95'):.1f} ms, "
                    f"p99 {run.latency_ms('p99'):.1f} ms, {run.cpu_ms_per_request:.2f} ms server CPU/request "
                    f"(floor {floor.cpu_ms_per_request:.2f}), {row.statements_per_request:.1f} statements and {row.commits_per_request:.2f} "
                    f"commits/request; {run.statuses}" + (f"; socket errors {run.report['errors']}" if run.socket_errors else "")
                )
                return row

            for key in SCENARIOS:
                if key not in args.only:
                    continue
                if time.monotonic() - started > args.budget:
                    common.log(f"Time budget ({args.budget:.0f} s) spent: skipping {key}")
                    continue
                beside = None
                if key == "coupon":
                    race = coupon_race(base_url, tokens=seeded["tokens"], coupon_id=seeded["coupon_id"], threads=args.connections)
                    common.log(f"Coupon race ({SHOPPERS:,} shoppers once each): {race.summary()}")
                if key == "spread":
                    beside = steps.probe = PopularLagProbe(base_url, token=seeded["tokens"][-1], product_id=seeded["marker_product_id"])
                if key == "hot":
                    steps.lock = common.django_call(
                        env,
                        "bench.lock_hold:measure_hot_row_lock",
                        product_id=seeded["hot_product_id"],
                        shopper_prefix="shopper",
                        threads=args.lock_threads,
                        orders_per_thread=args.lock_orders,
                        nonce=uuid.uuid4().hex[:12],
                    )
                    common.log(f"Hot product's row lock: held {steps.lock['hold_ms']}, waited for {steps.lock['wait_ms']} (ms); {steps.lock['statuses']}")
                    hot_run = [datetime.now(UTC).isoformat()]
                if key == "soldout":
                    steps.sell_out = common.django_call(env, "bench.jobs:sell_out", product_id=seeded["hot_product_id"], token=seeded["tokens"][-1])
                    common.log(f"Hot product sold out: its last {steps.sell_out['units']} units bought in {steps.sell_out['orders']} orders")
                if key == "list":  # the rankings consumer caught up, so popular products has sales to show
                    common.django_call(env, "bench.jobs:consume_rankings")
                rows[key] = measure(key, beside=beside)
                if key == "hot":
                    hot_run.append(datetime.now(UTC).isoformat())
                if key == "spread" and steps.probe.lags:
                    common.log(f"Popular-products lag under checkout-spread (ms): {steps.probe.summary()}")
                if key == "card":
                    steps.card_settled, steps.card_settle_seconds = settle_card_orders(args.database, seconds=args.settle_seconds)
                    common.log(f"Card orders {steps.card_settled} {steps.card_settle_seconds:.0f} s after the load")

            common.log("Load done; waiting for the outbox relay to deliver every event ...")
            outbox, outbox_wait = drain_outbox(env, args.database, seconds=args.drain_seconds)

        database = common.django_call(
            env,
            "bench.invariants:shop_invariants",
            hot_product_id=seeded["hot_product_id"],
            hot_stock=args.hot_stock,
            spread_stock=SPREAD_STOCK,
            coupon_id=seeded["coupon_id"],
            coupons_issued=COUPONS if race is not None else 0,
            card_number=CARD_NUMBER,
            hot_run=hot_run,
        )
        facts = database["facts"]
        for key in ("spread", "card"):
            if key in rows:
                rows[key].orders_per_second = rows[key].run.statuses.get("201", 0) / rows[key].run.seconds
        if "hot" in rows and facts["hot_window_seconds"]:
            rows["hot"].orders_per_second = facts["hot_orders"] / facts["hot_window_seconds"]
        evaluate_targets(rows)
        checks = check_invariants(facts, database["checks"], rows=rows, race=race, steps=steps, receiver=receiver, args=args, outbox=outbox)

    report = render(
        rows=rows,
        race=race,
        steps=steps,
        checks=checks,
        facts=facts,
        env_info=env_info,
        args=args,
        server=gunicorn_settings(workers),
        simulator=simulator,
        started=started,
        outbox_wait=outbox_wait,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    common.log(f"\n{report}\nWritten to {args.output}")
    failed = [text for text, ok in checks if not ok]
    return 1 if failed else 0


def evaluate_targets(rows: dict[str, Row]) -> None:
    """Each scenario's target is a share of the floor (TARGET_SHARES); checkout-spread's also bounds its p95."""
    for key, row in rows.items():
        row.target_met = row.ratio >= TARGET_SHARES[key]
    if "spread" in rows:
        rows["spread"].target_met = rows["spread"].target_met and rows["spread"].run.latency_ms("p95") < SPREAD_P95_TARGET_MS


if __name__ == "__main__":
    sys.exit(main())
