"""Rankings read cost at 100,000 and 1,000,000 order items, and the rankings consumer's throughput.

    .venv/bin/python bench/popular.py [--sizes 100000,1000000] [--reads 200] [--events 3000]

Per size: one MariaDB database (dropped, re-created, migrated), 2,000 products, and the daily table
seeded in bulk with plain SQL as if the consumer had counted `size` order items over 365 days (the
weekly and monthly rollups summed from it). Then, in one Django process (production settings, this
Redis db with the bench's own key prefix): queries and milliseconds of GET /products/popular's read
(days 1, 7 and 30, limit 50; the first read of a window repairs its days from the table) and of
GET /products/rankings' read (day, week, month). Last, `--events` order.paid events are written to
the outbox and the rankings consumer runs until it has handled them all: events per second.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

PRODUCTS = 2_000
HISTORY_DAYS = 365


def sql(database: str, statements: str) -> str:
    result = subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "--batch", "--skip-column-names", database, "-e", statements], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"SQL failed: {result.stderr}\n{statements}")
    return result.stdout.strip()


def prepare(env: dict[str, str], database: str, *, items: int) -> None:
    """A migrated database with products and the totals tables of `items` order items (skewed: a few products sell most)."""
    recreate = f"DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}` CHARACTER SET utf8mb4"
    subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", recreate], check=True)
    common.manage(env, "migrate", "--noinput")
    pattern = f"{env['CACHE_KEY_PREFIX']}:*"
    keys = subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "--scan", "--pattern", pattern], capture_output=True, text=True, check=True)
    for key in keys.stdout.split():
        subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "DEL", key], capture_output=True, check=True)
    doubling = "SET @c = (SELECT COUNT(*) FROM bench_seq); INSERT INTO bench_seq SELECT n + @c FROM bench_seq;" * 20
    sql(
        database,
        f"""
        CREATE TABLE bench_seq (n INT PRIMARY KEY); INSERT INTO bench_seq VALUES (0); {doubling}
        INSERT INTO catalog_product (sku, name, slug, description, price, stock, category_id, image_url, is_active, created_at, updated_at)
        SELECT CONCAT('POP-', n), CONCAT('Product ', n), CONCAT('product-', n), '', 100 + (n * 37) % 9900, 1000, NULL, '', n % 100 <> 99,
               UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
        FROM bench_seq WHERE n < {PRODUCTS};
        SET @p0 = (SELECT MIN(id) FROM catalog_product);
        INSERT INTO rankings_productsalesdaily (day, product_id, units_sold, revenue, version, updated_at)
        SELECT CURDATE() - INTERVAL (n % {HISTORY_DAYS}) DAY, @p0 + FLOOR(POW(RAND(n), 3) * {PRODUCTS}), 1 + n % 3, (1 + n % 3) * 500, 1, UTC_TIMESTAMP(6)
        FROM bench_seq WHERE n < {items}
        ON DUPLICATE KEY UPDATE units_sold = units_sold + VALUES(units_sold), revenue = revenue + VALUES(revenue), version = version + 1;
        INSERT INTO rankings_productsalesweekly (week, product_id, units_sold, revenue, updated_at)
        SELECT day - INTERVAL WEEKDAY(day) DAY, product_id, SUM(units_sold), SUM(revenue), UTC_TIMESTAMP(6)
        FROM rankings_productsalesdaily GROUP BY 1, 2;
        INSERT INTO rankings_productsalesmonthly (month, product_id, units_sold, revenue, updated_at)
        SELECT day - INTERVAL (DAY(day) - 1) DAY, product_id, SUM(units_sold), SUM(revenue), UTC_TIMESTAMP(6)
        FROM rankings_productsalesdaily GROUP BY 1, 2;
        ANALYZE TABLE rankings_productsalesdaily, rankings_productsalesweekly, rankings_productsalesmonthly;
        """,
    )


def _timed(read, *, reads: int) -> dict:
    """Queries of one read, then the median and p95 milliseconds of `reads` reads."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        read()
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"queries": len(captured.captured_queries), "median_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(len(times) * 0.95) - 1], 2)}


def measure_reads(*, reads: int) -> dict:
    """Inside Django: the popular and calendar reads the two endpoints make (selectors plus the product payload)."""
    from apps.catalog.api import product_data
    from apps.rankings import selectors
    from apps.rankings.models import ProductSalesDaily

    result = {"daily_rows": ProductSalesDaily.objects.count()}
    for days in (1, 7, 30):
        started = time.perf_counter()
        selectors.popular_products(days=days, limit=50)  # the first read of the window repairs its days from the table
        result[f"popular_{days}d_first_read_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result[f"popular_{days}d"] = _timed(lambda days=days: [product_data(e.product) for e in selectors.popular_products(days=days, limit=50)], reads=reads)
    today = selectors.local_today()
    for period in selectors.Period.CHOICES:
        result[f"rankings_{period}"] = _timed(
            lambda period=period: [product_data(e.product) for e in selectors.calendar_ranking(period=period, day=today, limit=50).results], reads=reads
        )
    return result


def consumer_throughput(*, events: int) -> dict:
    """Inside Django: `events` order.paid events (1 to 4 lines each) handled by one rankings consumer process."""
    from django.utils import timezone

    from apps.catalog.models import Product
    from apps.outbox import consumers
    from apps.outbox.models import OutboxEvent

    products = list(Product.objects.values_list("id", "price")[:200])
    now = timezone.now()
    rows = []
    for n in range(events):
        lines = [products[(n * 13 + k * 7) % len(products)] for k in range(1 + n % 4)]
        items = [{"product_id": pid, "quantity": 1 + k % 2, "line_total": price * (1 + k % 2)} for k, (pid, price) in enumerate(lines)]
        payload = {"order_id": n, "status": "paid", "paid_at": now.isoformat(), "cancelled_at": None, "items": items}
        rows.append(OutboxEvent(type="order.paid", aggregate_type="orders.order", aggregate_id=str(n), payload=payload))
    OutboxEvent.objects.bulk_create(rows, batch_size=1000)
    started, cpu, handled = time.perf_counter(), time.process_time(), 0
    while handled < events:
        report = consumers.run("rankings")
        handled += report.handled
        if not report.handled:
            break
    seconds = time.perf_counter() - started
    return {"events": handled, "seconds": round(seconds, 2), "events_per_second": round(handled / seconds), "cpu_seconds": round(time.process_time() - cpu, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="order item counts, comma separated")
    parser.add_argument("--reads", type=int, default=200, help="timed reads per measurement")
    parser.add_argument("--events", type=int, default=3000, help="events for the consumer throughput")
    parser.add_argument("--database", default="bench_rankings")
    parser.add_argument("--redis-db", type=int, default=11)
    args = parser.parse_args()
    for size in [int(size) for size in args.sizes.split(",")]:
        database = f"{args.database}_{size}"
        env = common.bench_env(database=database, redis_db=args.redis_db)
        common.log(f"{database}: {PRODUCTS:,} products, daily table of {size:,} order items over {HISTORY_DAYS} days ...")
        prepare(env, database, items=size)
        reads = common.django_call(env, "bench.popular:measure_reads", reads=args.reads)
        common.log(f"  reads at {size:,} items: {json.dumps(reads)}")
        if size == int(args.sizes.split(",")[0]):
            throughput = common.django_call(env, "bench.popular:consumer_throughput", events=args.events)
            common.log(f"  rankings consumer, one process: {json.dumps(throughput)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
