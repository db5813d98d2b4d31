"""Popular products at 100,000 and at 1,000,000 order items: GET /api/v1/products/popular requests per
second and p95 should not move, and one aggregation run over "a minute of new orders" should cost the
same at both sizes, because neither reads the order history.

    .venv/bin/python bench/popular.py [--threads 8] [--seconds 8] [--rounds 3] [--minute-orders 3000]

Fills one MariaDB database per size (dropped and re-created) with plain SQL (INSERT ... SELECT from a
doubling sequence table), runs the aggregation as the beat would, checks the published 7-day list
against a GROUP BY over the orders, then loads the endpoint through gunicorn (production settings).
Its cache keys carry their own prefix, so it shares a Redis db without flushing anyone's keys.
"""

import argparse
import contextlib
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

PRODUCTS = 2_000
CATEGORIES = 20
USERS = 1_000
ITEMS_PER_ORDER = 4
HISTORY_DAYS = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="client threads (concurrent requests)")
    parser.add_argument("--seconds", type=float, default=8.0, help="load duration per size and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurement rounds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--minute-orders", type=int, default=3_000, help="orders placed in the last minute before the timed run")
    parser.add_argument("--sizes", default="100000,1000000", help="order item counts to measure, ascending")
    parser.add_argument("--port", type=int, default=8791, help="this port and the next ones, one per size")
    parser.add_argument("--database", default="bench_popular")
    parser.add_argument("--redis-db", type=int, default=10)
    return parser.parse_args()


def sql(database: str, statements: str) -> str:
    result = subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "--batch", "--skip-column-names", database, "-e", statements],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"SQL failed: {result.stderr}\n{statements}")
    return result.stdout.strip()


def prepare(env: dict[str, str], database: str) -> None:
    subprocess.run(
        ["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}` CHARACTER SET utf8mb4"],
        check=True,
    )
    common.manage(env, "migrate", "--noinput")
    prefix = env["CACHE_KEY_PREFIX"]
    keys = subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "--scan", "--pattern", f"{prefix}:*"], capture_output=True, text=True, check=True)
    for key in keys.stdout.split():
        subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "DEL", key], capture_output=True, check=True)
    # A sequence 0..2^20-1, built by doubling: the source of every bulk insert below.
    doubling = "SET @c = (SELECT COUNT(*) FROM bench_seq); INSERT INTO bench_seq SELECT n + @c FROM bench_seq;" * 20
    sql(database, f"CREATE TABLE bench_seq (n INT PRIMARY KEY); INSERT INTO bench_seq VALUES (0); {doubling}")
    common.seed_users(env, count=USERS, prefix="pop")
    sql(
        database,
        f"""
        INSERT INTO catalog_category (name, slug) SELECT CONCAT('Category ', n), CONCAT('category-', n) FROM bench_seq WHERE n < {CATEGORIES};
        SET @c0 = (SELECT MIN(id) FROM catalog_category);
        INSERT INTO catalog_product (sku, name, slug, description, price, stock, category_id, image_url, is_active, created_at, updated_at)
        SELECT CONCAT('POP-', n), CONCAT('Product ', n), CONCAT('product-', n), '', 100 + (n * 37) % 9900, 1000,
               @c0 + n % {CATEGORIES}, '', n % 100 <> 99, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
        FROM bench_seq WHERE n < {PRODUCTS};
        """,
    )


def add_orders(database: str, *, count: int, first: int, seconds_back: int, offset: int) -> None:
    """`count` orders of ITEMS_PER_ORDER lines, stamped within `seconds_back` seconds before now - offset.

    Products are skewed (a few sell a lot); one order in 20 is cancelled.
    """
    sql(
        database,
        f"""
        SET @u0 = (SELECT MIN(id) FROM accounts_user), @p0 = (SELECT MIN(id) FROM catalog_product);
        SET @last = (SELECT COALESCE(MAX(id), 0) FROM orders_order);
        INSERT INTO orders_order (user_id, status, payment_method, subtotal, discount, total, created_at, paid_at, cancelled_at, updated_at)
        SELECT @u0 + n % {USERS}, IF(n % 20 = 0, 'cancelled', 'paid'), 'wallet', 0, 0, 0, ts, ts, IF(n % 20 = 0, ts, NULL), ts
        FROM (SELECT n, UTC_TIMESTAMP(6) - INTERVAL {offset} SECOND - INTERVAL ((n * 7919) % ({seconds_back} * 1000)) * 1000 MICROSECOND AS ts
              FROM bench_seq WHERE n >= {first} AND n < {first + count}) s;
        INSERT INTO orders_orderitem (order_id, product_id, product_name, unit_price, quantity, line_total)
        SELECT x.order_id, p.id, p.name, p.price, x.q, p.price * x.q
        FROM (SELECT o.id AS order_id, @p0 + FLOOR(POW(RAND(o.id * 7 + k.k), 3) * {PRODUCTS}) AS pid, 1 + (o.id + k.k) % 3 AS q
              FROM orders_order o CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) k
              WHERE o.id > @last) x
        JOIN catalog_product p ON p.id = x.pid;
        UPDATE orders_order o JOIN (SELECT order_id, SUM(line_total) AS s FROM orders_orderitem WHERE order_id > @last GROUP BY order_id) t
            ON t.order_id = o.id SET o.subtotal = t.s, o.total = t.s;
        """,
    )


def cancel_some(database: str, *, count: int) -> None:
    """Older paid orders cancelled during the last minute, as the orders service does it."""
    sql(
        database,
        f"""
        UPDATE orders_order SET status = 'cancelled', cancelled_at = UTC_TIMESTAMP(6) - INTERVAL id % 60 SECOND,
            updated_at = UTC_TIMESTAMP(6) - INTERVAL id % 60 SECOND
        WHERE status = 'paid' AND id % 97 = 0 AND updated_at < UTC_TIMESTAMP(6) - INTERVAL 600 SECOND LIMIT {count};
        """,
    )


def load(base_url: str, *, threads: int, seconds: float) -> common.LoadResult:
    windows = [1, 3, 7, 30]

    def call(session, thread_index, iteration):
        days = windows[(thread_index + iteration) % len(windows)]
        response = session.get(f"{base_url}/api/v1/products/popular", params={"days": days, "limit": 10}, timeout=30)
        if response.status_code == 200 and len(response.json()["results"]) != 10:
            return "200 short"
        return common.outcome_of(response)

    return common.run_load(call, threads=threads, duration=seconds, server=base_url)


def merge(results: list[common.LoadResult]) -> common.LoadResult:
    merged = common.LoadResult()
    for result in results:
        merged.requests += result.requests
        merged.seconds += result.seconds
        merged.server_cpu_seconds += result.server_cpu_seconds
        merged.latencies.extend(result.latencies)
        merged.outcomes.update(result.outcomes)
    return merged


def _run_text(run: dict) -> str:
    return f"{run['seconds'] * 1000:.0f} ms (CPU {run['cpu'] * 1000:.0f} ms; {run['read']:,} read, {run['changed']:,} counted)"


def main() -> int:
    """One database per size, measured in alternating rounds so that other load on the machine
    (it is shared) falls on both sizes alike."""
    args = parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    databases = {size: f"{args.database}_{size}" for size in sizes}
    envs = {size: common.bench_env(database=databases[size], redis_db=args.redis_db) for size in sizes}
    failures: list[str] = []

    for size in sizes:
        database, env = databases[size], envs[size]
        orders = size // ITEMS_PER_ORDER
        common.log(f"{database}: {PRODUCTS:,} products, {USERS:,} users, {size:,} order items ({orders:,} orders over {HISTORY_DAYS} days)...")
        prepare(env, database)
        add_orders(database, count=orders, first=0, seconds_back=HISTORY_DAYS * 86400, offset=600)
        backfill = common.django_call(env, "bench.jobs:aggregate_sales", batch_size=5000)
        common.log(f"  first run over the whole history: {backfill['seconds']:.1f} s for {backfill['read']:,} orders")

    minute: dict[int, list[dict]] = {size: [] for size in sizes}
    idle: dict[int, list[dict]] = {size: [] for size in sizes}
    for _ in range(args.rounds):
        for size in sizes:
            database, env = databases[size], envs[size]
            add_orders(database, count=args.minute_orders, first=0, seconds_back=60, offset=0)
            cancel_some(database, count=args.minute_orders // 30)
            minute[size].append(common.django_call(env, "bench.jobs:aggregate_sales", batch_size=1000))
            idle[size].append(common.django_call(env, "bench.jobs:aggregate_sales", batch_size=1000))
    for size in sizes:
        check = common.django_call(envs[size], "bench.invariants:popular_list_matches_orders")
        if not check["equal"]:
            failures.append(f"at {size:,} items the published 7-day list differs from a GROUP BY over the orders")
        runs = ", ".join(_run_text(run) for run in minute[size])
        idles = ", ".join(_run_text(run) for run in idle[size])
        common.log(f"{size:,} items, a minute of new orders ({args.minute_orders:,} orders + {args.minute_orders // 30} cancellations): {runs}")
        common.log(f"{size:,} items, the run after it (overlap only): {idles}; 7-day list equals brute force: {check['equal']}")

    loads: dict[int, list[common.LoadResult]] = {size: [] for size in sizes}
    with contextlib.ExitStack() as stack:
        urls = {
            size: stack.enter_context(
                common.gunicorn(envs[size], port=args.port + i, workers=args.workers, log_path=Path("/tmp") / f"{databases[size]}-gunicorn.log")
            )
            for i, size in enumerate(sizes)
        }
        for size in sizes:
            load(urls[size], threads=args.threads, seconds=2)  # warm-up
        for round_number in range(1, args.rounds + 1):
            for size in sizes:
                result = load(urls[size], threads=args.threads, seconds=args.seconds)
                loads[size].append(result)
                common.log(f"round {round_number}, {size:,} items: {result.summary()}")

    common.log("Summary (all rounds together):")
    for size in sizes:
        total = merge(loads[size])
        if set(total.outcomes) != {"200"}:
            failures.append(f"at {size:,} items: unexpected outcomes {dict(total.outcomes)}")
        minute_ms = sorted(run["seconds"] * 1000 for run in minute[size])
        common.log(
            "  "
            + json.dumps(
                {
                    "order_items": size,
                    "requests_per_second": round(total.per_second),
                    "p50_ms": round(total.percentile(50), 1),
                    "p95_ms": round(total.percentile(95), 1),
                    "server_cpu_ms_per_request": round(total.server_cpu_seconds * 1000 / max(total.requests, 1), 2),
                    "minute_of_orders_run_ms_median": round(minute_ms[len(minute_ms) // 2]),
                    "overlap_only_run_ms_median": round(sorted(run["seconds"] * 1000 for run in idle[size])[len(idle[size]) // 2]),
                }
            )
        )
    for failure in failures:
        common.log(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
