"""Checkout under load: concurrent POST /api/v1/orders over HTTP, paid from funded wallets.

    .venv/bin/python bench/checkout.py [--users 200] [--products 500] [--threads 32] [--seconds 20] [--hot-stock 300]

(a) spread: each request buys 1-3 units of a random product out of many (little lock contention);
(b) hot: every request buys 1 unit of one product with limited stock until it is long sold out
    (every order queues on that product's row lock).
Reports orders per second and p50/p95 latency for both, then checks the invariants in the database:
no stock below zero, units ordered == stock decrease per product, every wallet's balance == the sum of
its ledger, one order.paid event per order, and as many orders as 201 answers.

Runs gunicorn (config/gunicorn.py, production settings) on MariaDB and Redis, against its own database
(dropped and re-created) and Redis dbs, through bench/common.py.
"""

import argparse
import random
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SPREAD_STOCK = 100_000
WALLET_FUNDS = 1_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--products", type=int, default=500, help="products for the spread scenario")
    parser.add_argument("--threads", type=int, default=32, help="client threads (concurrent requests)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the spread scenario")
    parser.add_argument("--hot-stock", type=int, default=300, help="stock of the hot product")
    parser.add_argument("--hot-requests", type=int, default=0, help="requests in the hot scenario (default 2 x hot stock)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database", default="bench_checkout")
    parser.add_argument("--redis-db", type=int, default=14, help="cache db; the Celery broker uses the next one")
    return parser.parse_args()


def seed_catalog_and_wallets(env: dict[str, str], *, products: int, hot_stock: int) -> dict:
    """Products (spread ones with plenty of stock, one hot one) and a wallet funded through the wallet service for every buyer."""
    return common.django_call(
        env,
        "bench.seed:seed_shop",
        shopper_prefix="buyer",
        wallet_funds=WALLET_FUNDS,
        products=products,
        categories=1,
        stock=SPREAD_STOCK,
        hot_stock=hot_stock,
    )


def order(base_url: str, session, token: str, items: list[dict]) -> str:
    response = session.post(
        f"{base_url}/api/v1/orders",
        json={"items": items},
        headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
    )
    return common.outcome_of(response)


def report(name: str, result: common.LoadResult) -> str:
    orders = result.outcomes.get("201", 0)
    return f"{name}: {orders} orders in {result.seconds:.2f}s = {orders / result.seconds:.1f} orders/s; {result.summary()}"


def check_invariants(env: dict[str, str], *, hot_id: int, hot_stock: int, created: int) -> dict:
    facts = common.django_call(env, "bench.invariants:checkout_facts", hot_product_id=hot_id, hot_stock=hot_stock, spread_stock=SPREAD_STOCK)
    failures = []
    if facts["orders"] != created or facts["order_paid_events"] != created:
        failures.append(f"{created} orders answered 201, but {facts['orders']} orders and {facts['order_paid_events']} order.paid events exist")
    if facts["min_stock"] < 0 or facts["min_balance"] < 0:
        failures.append("a stock or a balance went below zero")
    if facts["products_where_units_sold_differ_from_stock_decrease"] or facts["wallets_where_balance_or_version_differs_from_ledger"]:
        failures.append("units sold != stock decrease, or balance != ledger sum (or version != ledger lines)")
    if facts["hot_units_sold"] + facts["hot_stock_left"] != hot_stock:
        failures.append("hot product's sold + left != its stock")
    if facts["order_totals"] != facts["payments"]:
        failures.append("order totals != wallet payments")
    return {"facts": facts, "failures": failures}


def main() -> int:
    args = parse_args()
    hot_requests = args.hot_requests or 2 * args.hot_stock
    env = common.bench_env(database=args.database, redis_db=args.redis_db)
    common.log(f"Preparing database {args.database} and Redis db {args.redis_db}...")
    common.reset_database(env, args.database)
    tokens = common.seed_users(env, count=args.users, prefix="buyer")
    seeded = seed_catalog_and_wallets(env, products=args.products, hot_stock=args.hot_stock)
    spread_ids, hot_id = seeded["product_ids"], seeded["hot_product_id"]
    log_path = Path("/tmp") / f"{args.database}-gunicorn.log"
    failures: list[str] = []

    with common.gunicorn(env, port=args.port, workers=args.workers, log_path=log_path) as base_url:

        def spread_call(session, thread_index, iteration):
            items = [{"product_id": pid, "quantity": random.randint(1, 3)} for pid in random.sample(spread_ids, random.randint(1, 3))]
            return order(base_url, session, random.choice(tokens), items)

        spread = common.run_load(spread_call, threads=args.threads, duration=args.seconds)
        common.log(report(f"(a) spread over {len(spread_ids)} products, 1-3 lines per order, {args.threads} client threads, {args.workers} workers", spread))

        def hot_call(session, thread_index, iteration):
            if thread_index + iteration * args.threads >= hot_requests:
                return None
            return order(base_url, session, random.choice(tokens), [{"product_id": hot_id, "quantity": 1}])

        hot = common.run_load(hot_call, threads=args.threads, iterations=hot_requests)
        common.log(report(f"(b) one hot product, stock {args.hot_stock}, {hot_requests} requests", hot))

    if set(spread.outcomes) != {"201"}:
        failures.append(f"spread scenario answered something else than 201: {dict(spread.outcomes)}")
    if dict(hot.outcomes) != {"201": args.hot_stock, "409 OUT_OF_STOCK": hot_requests - args.hot_stock}:
        failures.append(f"hot scenario outcomes {dict(hot.outcomes)}: expected exactly {args.hot_stock} orders, the rest OUT_OF_STOCK")
    checked = check_invariants(env, hot_id=hot_id, hot_stock=args.hot_stock, created=spread.outcomes["201"] + hot.outcomes["201"])
    common.log(f"Database after the run: {checked['facts']}")
    failures += checked["failures"]
    for failure in failures:
        common.log(f"FAIL: {failure}")
    common.log("OK: all invariants hold" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
