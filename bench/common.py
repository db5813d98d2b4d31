"""What every bench scenario needs: its own MariaDB database and Redis db, gunicorn in front, seeded
users with API tokens, and a threaded HTTP load loop that reports throughput and latency percentiles.

Scenarios import this module (`from bench import common` when run as `python bench/<name>.py`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
MYSQL_URL = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306")
REDIS_BASE = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")


def bench_env(*, database: str, redis_db: int, **overrides: str) -> dict[str, str]:
    """Environment for manage.py and gunicorn: production settings on the bench database and Redis db.

    Celery gets a broker (the next Redis db) so background work is queued, not run inside requests.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "bench-secret-key-not-for-production-use-0123456789",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": f"{MYSQL_URL}/{database}",
            "REDIS_URL": f"{REDIS_BASE}/{redis_db}",
            "CELERY_BROKER_URL": f"{REDIS_BASE}/{redis_db + 1}",
            "CACHE_KEY_PREFIX": f"bench-{database}",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django_command(target: str, **kwargs) -> list[str]:
    """The command line running bench function `target` ("bench.<module>:<function>", from bench/seed.py,
    bench/jobs.py or bench/invariants.py) inside Django through bench/call.py: arguments and result travel as JSON."""
    return [PYTHON, "-m", "bench.call", target, json.dumps(kwargs)]


def django_call(env: dict[str, str], target: str, **kwargs) -> object:
    """Run a bench function inside Django on the bench database (`env`), in a fresh process, and return its result."""
    result = subprocess.run(django_command(target, **kwargs), cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{target} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def reset_database(env: dict[str, str], database: str) -> None:
    """Drop and re-create the bench database, migrate it, and empty the bench's Redis dbs."""
    sql = f"DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}` CHARACTER SET utf8mb4"
    subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", sql], check=True)
    manage(env, "migrate", "--noinput")
    for url in (env["REDIS_URL"], env["CELERY_BROKER_URL"]):
        subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], check=True, capture_output=True)


def seed_users(env: dict[str, str], *, count: int, prefix: str, staff: bool = False) -> list[str]:
    """Create `count` users with API tokens in bulk (bench.seed.seed_users); returns their token keys in creation order."""
    return django_call(env, "bench.seed:seed_users", count=count, prefix=prefix, staff=staff)


_servers: dict[str, subprocess.Popen] = {}


def server_cpu_seconds(base_url: str) -> float:
    """CPU time (user + system) used so far by the gunicorn started for `base_url`, master and workers.

    On a shared machine this is steadier than wall-clock throughput: divide its growth over a phase
    by the requests served to get the server's CPU cost per request.
    """
    master = _servers[base_url].pid
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_path.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        pid, ppid = int(stat_path.parent.name), int(fields[1])
        if pid == master or ppid == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def gunicorn(env: dict[str, str], *, port: int, workers: int, log_path: Path) -> Iterator[str]:
    """Run gunicorn (config/gunicorn.py) on 127.0.0.1:port until the block ends; yields the base URL."""
    if port_open(port):
        raise RuntimeError(f"port {port} is already in use")
    run_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [GUNICORN, "config.wsgi:application", "--config", "config/gunicorn.py", "--access-logfile", "/dev/null"],
            cwd=ROOT,
            env=run_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                requests.get(f"{base_url}/api/v1/coupons", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or a worker still starting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Touch every worker once so imports and connections are warm before measuring.
        for _ in range(workers * 4):
            requests.get(f"{base_url}/healthz", timeout=5)
        _servers[base_url] = proc
        yield base_url
    finally:
        _servers.pop(f"http://127.0.0.1:{port}", None)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    server_cpu_seconds: float = 0.0  # set when run_load is given the server's base_url

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary(self) -> str:
        cpu = f"server CPU {self.server_cpu_seconds * 1000 / self.requests:.2f} ms/request; " if self.server_cpu_seconds and self.requests else ""
        return (
            f"{self.requests} requests in {self.seconds:.2f}s = {self.per_second:.0f} req/s; "
            f"p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms, p99 {self.percentile(99):.1f} ms; "
            f"{cpu}outcomes {dict(self.outcomes)}"
        )


def run_load(
    call: Callable[[requests.Session, int, int], str | None],
    *,
    threads: int,
    duration: float | None = None,
    iterations: int | None = None,
    server: str | None = None,
) -> LoadResult:
    """Run `call(session, thread_index, iteration)` from `threads` threads, started together by a barrier.

    Each thread stops after `iterations` calls or when `duration` seconds have passed, whichever is
    set. `call` returns an outcome label (e.g. "201" or "409 COUPON_SOLD_OUT") that is counted, or
    None when the thread has nothing left to do. With `server` (a base URL from gunicorn()), the
    result also carries the CPU time gunicorn spent during the run.
    """
    if duration is None and iterations is None:
        raise ValueError("give a duration or a number of iterations")
    barrier = threading.Barrier(threads + 1)
    lock = threading.Lock()
    result = LoadResult()

    def worker(index: int) -> None:
        session = requests.Session()
        latencies: list[float] = []
        outcomes: Counter = Counter()
        barrier.wait()
        stop_at = time.perf_counter() + duration if duration is not None else None
        i = 0
        while (iterations is None or i < iterations) and (stop_at is None or time.perf_counter() < stop_at):
            started = time.perf_counter()
            try:
                outcome = call(session, index, i)
            except requests.RequestException as exc:
                outcome = f"error {type(exc).__name__}"
            if outcome is None:
                break
            latencies.append(time.perf_counter() - started)
            outcomes[outcome] += 1
            i += 1
        with lock:
            result.latencies.extend(latencies)
            result.outcomes.update(outcomes)

    pool = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(threads)]
    for thread in pool:
        thread.start()
    cpu_before = server_cpu_seconds(server) if server else 0.0
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    result.seconds = time.perf_counter() - started
    if server:
        result.server_cpu_seconds = server_cpu_seconds(server) - cpu_before
    result.requests = len(result.latencies)
    return result


def outcome_of(response: requests.Response) -> str:
    """"201", or "409 COUPON_SOLD_OUT": the status plus the API error code when there is one."""
    if response.status_code < 400:
        return str(response.status_code)
    try:
        return f"{response.status_code} {response.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


def log(message: str) -> None:
    print(message, flush=True, file=sys.stdout)
