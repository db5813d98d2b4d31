"""`make bench`: every load scenario in one run, against gunicorn + a Celery worker on MariaDB and Redis.

    .venv/bin/python bench/run.py [--seconds 10] [--floor-seconds 5] [--connections 32] [--only coupon,charge]

What it does, in two to three minutes (scenarios past --budget, 570 s by default, are skipped):
1. re-creates the bench database (BENCH_DATABASE, default bench_run) and empties its Redis dbs
   (BENCH_REDIS_DB and the next one, the Celery broker), migrates, and seeds (bench/seed.py): 2,000
   shoppers with API tokens and wallets funded through the wallet service, 1,000 products, one hot
   product with limited stock, and a 100-coupon campaign;
2. starts gunicorn (config/gunicorn.py, production settings; GUNICORN_WORKERS, default 2 x cores + 1),
   a Celery worker, and a data-platform receiver the outbox relay posts to;
3. runs each scenario with wrk (bench/wrk/flashcart.lua) on loopback, each right after the same
   load against GET /livez (the floor: a Django JSON view that does nothing), so every throughput
   is also given as a ratio to the floor measured on the same server a moment before;
4. waits for the outbox to drain, checks the invariants in the database (bench/invariants.py), and writes
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
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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

SCENARIOS = ["coupon", "charge", "spread", "hot", "list", "detail", "popular"]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    expected: frozenset[str]
    target: str = ""


CATALOG = {
    "list": Scenario("list", "browse: product list (cached pages)", frozenset({"200"})),
    "detail": Scenario("detail", "browse: product detail (cached)", frozenset({"200"}), ">= 60% of the floor"),
    "popular": Scenario("popular", "browse: popular products", frozenset({"200"})),
    "coupon": Scenario(
        "coupon",
        "coupon rush, once sold out",
        frozenset({"409 COUPON_SOLD_OUT", "409 COUPON_ALREADY_ISSUED"}),
        ">= 3,000 answered/s",
    ),
    "charge": Scenario("charge", "wallet charge", frozenset({"200", "409 CONCURRENT_UPDATE"}), ">= 1,000/s"),
    "spread": Scenario("spread", "checkout-spread (random products)", frozenset({"201", "409 CONCURRENT_UPDATE"}), ">= 500 orders/s, p95 < 50 ms"),
    "hot": Scenario("hot", "checkout-hot (one product, limited stock)", frozenset({"201", "409 OUT_OF_STOCK", "409 CONCURRENT_UPDATE"}), ">= 300 orders/s"),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured length of each scenario")
    parser.add_argument("--floor-seconds", type=float, default=5.0, help="length of the floor run before each scenario")
    parser.add_argument("--warmup-seconds", type=float, default=2.0, help="unmeasured load before each scenario")
    parser.add_argument("--connections", type=int, default=32, help="concurrent wrk connections (clients)")
    parser.add_argument("--hot-stock", type=int, default=2_000, help="stock of the checkout-hot product")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--drain-seconds", type=float, default=120.0, help="longest wait for the outbox to be delivered")
    parser.add_argument("--budget", type=float, default=570.0, help="seconds after which remaining scenarios are skipped")
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
    def lua_list(values) -> str:
        return "{" + ",".join(json.dumps(value) for value in values) + "}"

    path.write_text(
        "return {"
        f"tokens = {lua_list(seeded['tokens'])}, product_ids = {lua_list(seeded['product_ids'])}, "
        f"hot_ids = {lua_list(seeded['hot_ids'])}, coupon_id = {seeded['coupon_id']}, hot_product_id = {seeded['hot_product_id']}"
        "}\n"
    )


# --- Processes around the server -----------------------------------------------------------------



@contextlib.contextmanager
def celery_worker(env: dict[str, str], *, log_path: Path):
    """One Celery worker process (solo pool) relaying the outbox while the scenarios run."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
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


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds used so far by the Celery worker (started by celery_worker()), MariaDB, Redis and
    this process with its finished children (wrk), and the machine's busy and total CPU seconds:
    differences over a scenario say where its CPU went, and how much went to work that is not ours."""
    tick = os.sysconf("SC_CLK_TCK")
    times = os.times()
    snapshot = {"worker": 0.0, "mariadb": 0.0, "redis": 0.0, "self": times.user + times.system + times.children_user + times.children_system}
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat_path.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue  # the process ended while we looked
        fields, name = tail.split(), head.rsplit("(", 1)[-1]
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(stat_path.parent.name) in _worker_pids or int(fields[1]) in _worker_pids:
            snapshot["worker"] += seconds
        elif name in ("mariadbd", "mysqld"):
            snapshot["mariadb"] += seconds
        elif name == "redis-server":
            snapshot["redis"] += seconds
    cpu = [int(value) / tick for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    snapshot["total"], snapshot["busy"] = sum(cpu[:8]), sum(cpu[:8]) - cpu[3] - cpu[4]  # all but idle and iowait
    return snapshot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run: its JSON report plus the server CPU it cost."""

    report: dict
    server_cpu_seconds: float
    worker_cpu_seconds: float
    mariadb_cpu_seconds: float
    machine_busy: float  # fraction of all cores busy during the run, whoever used them
    other_cores: float  # cores kept busy meanwhile by work that is not this bench's (other people's)

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
    started = time.monotonic()
    cpu_before, before = common.server_cpu_seconds(base_url), cpu_snapshot()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    cpu, after = common.server_cpu_seconds(base_url) - cpu_before, cpu_snapshot()
    elapsed = time.monotonic() - started
    if result.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    delta = {key: after[key] - before[key] for key in after}
    ours = cpu + delta["worker"] + delta["mariadb"] + delta["redis"] + delta["self"]
    return Run(
        report=json.loads(out.read_text()),
        server_cpu_seconds=cpu,
        worker_cpu_seconds=delta["worker"],
        mariadb_cpu_seconds=delta["mariadb"],
        machine_busy=delta["busy"] / delta["total"] if delta["total"] else 0.0,
        other_cores=max(0.0, delta["busy"] - ours) / elapsed,
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


def check_invariants(
    facts: dict, database_checks: list, *, rows: dict[str, Row], race: common.LoadResult | None, receiver: EventReceiver, args, outbox: dict
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
    acknowledged_orders = sum(rows[key].run.statuses.get("201", 0) for key in ("spread", "hot") if key in rows)
    check(
        f"orders in the database ({facts['orders']}) == 201 answers ({acknowledged_orders}), plus at most the requests wrk cut off at its deadline "
        f"({args.connections} per checkout scenario)",
        acknowledged_orders <= facts["orders"] <= acknowledged_orders + args.connections * sum(key in rows for key in ("spread", "hot")),
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
    *, rows: dict[str, Row], race: common.LoadResult | None, checks, facts, env_info: dict, args, server: str, started: float, outbox_wait: float
) -> str:
    lines = [
        "# Flashcart load bench",
        "",
        f"`make bench` ({' '.join(['bench/run.py', *sys.argv[1:]])}). Server: gunicorn, {server}, production settings, "
        f"on MariaDB and Redis, with one Celery worker relaying the outbox to a local receiver throughout. Load: wrk, "
        f"{args.connections} connections, {args.seconds:.0f} s per scenario, each right after {args.floor_seconds:.0f} s of the same load on the floor "
        "(GET /livez, a Django JSON view that touches nothing). All on one machine, loopback.",
        "",
        "| scenario | req/s | answered/s | vs floor | p50 ms | p95 ms | p99 ms | errors | unexpected | outcomes "
        "| server CPU ms/req (floor) | worker, MariaDB CPU ms/req | machine busy | other work, cores | floor req/s | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in SCENARIOS:
        if key not in rows:
            continue
        row = rows[key]
        run = row.run
        orders = f" ({row.orders_per_second:,.0f} orders/s)" if row.orders_per_second is not None else ""
        verdict = "" if row.target_met is None else (" **met**" if row.target_met else " **missed**")
        outcomes = ", ".join(f"{k}: {v:,}" for k, v in sorted(run.statuses.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {row.scenario.title} | {run.per_second:,.0f} | {row.answered_per_second:,.0f}{orders} | {row.ratio:.0%} | "
            f"{run.latency_ms('p50'):.1f} | {run.latency_ms('p95'):.1f} | {run.latency_ms('p99'):.1f} | {row.errors} | "
            f"{sum(row.unexpected.values())} | {outcomes} | {run.cpu_ms_per_request:.2f} ({row.floor.cpu_ms_per_request:.2f}) | "
            f"{run.worker_cpu_ms_per_request:.2f}, {run.mariadb_cpu_ms_per_request:.2f} | {run.machine_busy:.0%} | {run.other_cores:.2f} | "
            f"{row.floor.per_second:,.0f} | "
            f"{row.scenario.target}{verdict} |"
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
        'errors are 5xx answers and socket errors; "vs floor" is answered/s over the floor\'s req/s. Orders/s for checkout-hot is '
        "the hot product's orders over the time between its first and last order (its selling window). Server CPU is gunicorn's "
        "(master and workers) user + system time per request: steadier than req/s when other work shares the machine; "
        "worker and MariaDB CPU are the Celery worker's (the outbox relay) and the database server's, per request of the "
        'scenario (MariaDB\'s includes any other client of it); "machine busy" is the share of all cores in use during the '
        'scenario, by anyone; "other work" is the CPU (in cores) used meanwhile by processes that are not this bench\'s '
        "(gunicorn, the worker, MariaDB, Redis, wrk, the receiver): other people's work on a shared machine.",
        "",
        "## Invariants (checked in the database after the run)",
        "",
    ]
    lines += [f"- {'OK' if ok else 'VIOLATED'}: {text}" for text, ok in checks]
    lines += [
        "",
        f"Outbox: {facts['events_total']:,} events; all delivered {outbox_wait:.0f} s after the load ended."
        if set(facts["events_by_status"]) <= {"sent"}
        else f"Outbox after waiting {outbox_wait:.0f} s: {facts['events_by_status']}.",
        "",
        "## Machine",
        "",
        *[f"- {name}: {value}" for name, value in env_info.items()],
        f"- total run time: {time.monotonic() - started:.0f} s",
        "",
    ]
    return "\n".join(lines)


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

    with EventReceiver(secret=DATA_PLATFORM_SECRET) as receiver:
        env = common.bench_env(database=args.database, redis_db=args.redis_db, DATA_PLATFORM_URL=receiver.url, DATA_PLATFORM_SECRET=DATA_PLATFORM_SECRET)
        common.log(f"Preparing database {args.database} and Redis dbs {args.redis_db}-{args.redis_db + 1} ...")
        common.reset_database(env, args.database)
        seeded = seed(env, hot_stock=args.hot_stock)
        data_path = work_dir / "data.lua"
        write_lua_data(seeded, data_path)
        common.log(f"Seeded {SHOPPERS:,} shoppers, {PRODUCTS:,} products, hot stock {args.hot_stock:,}, {COUPONS} coupons ({time.monotonic() - started:.0f} s)")

        port = free_port()
        with (
            celery_worker(env, log_path=work_dir / "celery.log"),
            common.gunicorn(env, port=port, workers=workers, log_path=work_dir / "gunicorn.log") as base_url,
        ):

            def measure(key: str) -> Row:
                scenario = CATALOG[key]
                _, waited = drain_outbox(env, args.database, seconds=60)
                if waited >= 1:
                    common.log(f"Waited {waited:.0f} s for the previous scenario's outbox events to be relayed")
                load = {"connections": args.connections, "data_path": data_path, "work_dir": work_dir}
                if args.warmup_seconds > 0 and key not in ("hot",):
                    wrk(base_url, scenario="floor" if key in ("charge", "spread") else key, seconds=args.warmup_seconds, **load)
                floor = wrk(base_url, scenario="floor", seconds=args.floor_seconds, **load)
                run = wrk(base_url, scenario=key, seconds=args.seconds, **load)
                row = Row(scenario=scenario, run=run, floor=floor)
                common.log(
                    f"{scenario.title}: {run.per_second:,.0f} req/s ({row.answered_per_second:,.0f} answered/s, {row.ratio:.0%} of the floor's "
                    f"{floor.per_second:,.0f}), p50 {run.latency_ms('p50'):.1f} ms, p95 {run.latency_ms('p95'):.1f} ms, "
                    f"p99 {run.latency_ms('p99'):.1f} ms, {run.cpu_ms_per_request:.2f} ms server CPU/request "
                    f"(floor {floor.cpu_ms_per_request:.2f}); {run.statuses}" + (f"; socket errors {run.report['errors']}" if run.socket_errors else "")
                )
                return row

            for key in SCENARIOS:
                if key not in args.only:
                    continue
                if time.monotonic() - started > args.budget:
                    common.log(f"Time budget ({args.budget:.0f} s) spent: skipping {key}")
                    continue
                if key == "coupon":
                    race = coupon_race(base_url, tokens=seeded["tokens"], coupon_id=seeded["coupon_id"], threads=args.connections)
                    common.log(f"Coupon race ({SHOPPERS:,} shoppers once each): {race.summary()}")
                if key == "list":  # the rankings consumer caught up, so popular products has sales to show
                    common.django_call(env, "bench.jobs:consume_rankings")
                rows[key] = measure(key)

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
        )
        facts = database["facts"]
        if "spread" in rows:
            rows["spread"].orders_per_second = rows["spread"].run.statuses.get("201", 0) / rows["spread"].run.seconds
        if "hot" in rows and facts["hot_window_seconds"]:
            rows["hot"].orders_per_second = facts["hot_orders"] / facts["hot_window_seconds"]
        evaluate_targets(rows)
        checks = check_invariants(facts, database["checks"], rows=rows, race=race, receiver=receiver, args=args, outbox=outbox)

    report = render(
        rows=rows,
        race=race,
        checks=checks,
        facts=facts,
        env_info=env_info,
        args=args,
        server=gunicorn_settings(workers),
        started=started,
        outbox_wait=outbox_wait,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    common.log(f"\n{report}\nWritten to {args.output}")
    failed = [text for text, ok in checks if not ok]
    return 1 if failed else 0


def evaluate_targets(rows: dict[str, Row]) -> None:
    if "detail" in rows:
        rows["detail"].target_met = rows["detail"].ratio >= 0.6
    if "coupon" in rows:
        rows["coupon"].target_met = rows["coupon"].answered_per_second >= 3000
    if "charge" in rows:
        rows["charge"].target_met = rows["charge"].run.statuses.get("200", 0) / rows["charge"].run.seconds >= 1000
    if "spread" in rows and rows["spread"].orders_per_second is not None:
        rows["spread"].target_met = rows["spread"].orders_per_second >= 500 and rows["spread"].run.latency_ms("p95") < 50
    if "hot" in rows and rows["hot"].orders_per_second is not None:
        rows["hot"].target_met = rows["hot"].orders_per_second >= 300


if __name__ == "__main__":
    sys.exit(main())
