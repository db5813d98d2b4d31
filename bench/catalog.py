"""Catalog reads with and without the cache: GET /api/v1/products (filtered, paginated), GET
/api/v1/products/{id} and the /products/ page, through gunicorn on MariaDB + Redis.

    .venv/bin/python bench/catalog.py [--threads 8] [--seconds 6] [--rounds 2] [--products 5000]

"cached" is the shipped configuration; "uncached" sets CATALOG_CACHE_SECONDS=0 so every read goes
to the database. Rounds alternate the two servers so both see the same machine load. Then it checks
freshness: a price change made through the staff API is visible in the very next read.
Its cache keys carry their own prefix and it never flushes Redis, so it can share a Redis db.
"""

import argparse
import random
import subprocess
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

CATEGORIES = 20
LIST_QUERIES = [
    "?ordering=price",
    "?category=category-{c}",
    "?category=category-{c}&ordering=-price&in_stock=true",
    "?q=blue",
    "?min_price=1000&max_price=5000&ordering=name",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--database", default="bench_catalog")
    parser.add_argument("--redis-db", type=int, default=2)
    return parser.parse_args()


def prepare(env: dict[str, str], database: str, products: int) -> list[int]:
    sql = f"DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}` CHARACTER SET utf8mb4"
    subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", sql], check=True)
    common.manage(env, "migrate", "--noinput")
    common.manage(env, "collectstatic", "--noinput")  # production settings serve hashed static files
    return common.django_call(env, "bench.seed:seed_search_catalog", products=products, categories=CATEGORIES)


def main() -> None:
    args = parse_args()
    base_env = common.bench_env(database=args.database, redis_db=args.redis_db)
    common.log(f"Preparing {args.products} products in {CATEGORIES} categories ...")
    product_ids = prepare(base_env, args.database, args.products)
    staff_token = common.seed_users(base_env, count=1, prefix="catalog-staff", staff=True)[0]
    envs = {
        "cached": {**base_env, "CACHE_KEY_PREFIX": f"bench-{args.database}-cached"},
        "uncached": {**base_env, "CACHE_KEY_PREFIX": f"bench-{args.database}-uncached", "CATALOG_CACHE_SECONDS": "0"},
    }
    # Requests pick from a bounded set, as real traffic does: popular list pages and product pages.
    hot_ids = random.Random(1).sample(product_ids, 200)

    def list_call(session, thread, i):
        query = LIST_QUERIES[(thread + i) % len(LIST_QUERIES)].format(c=(thread * 7 + i) % CATEGORIES)
        return common.outcome_of(session.get(f"{base}/api/v1/products{query}&page={1 + i % 3}", timeout=10))

    def detail_call(session, thread, i):
        return common.outcome_of(session.get(f"{base}/api/v1/products/{hot_ids[(thread * 31 + i) % len(hot_ids)]}", timeout=10))

    def page_call(session, thread, i):
        return common.outcome_of(session.get(f"{base}/products/?category=category-{(thread + i) % CATEGORIES}&sort=price", timeout=10))

    scenarios = {"list API": list_call, "detail API": detail_call, "list page": page_call}
    results: dict[tuple[str, str], list[common.LoadResult]] = {}
    logs = Path(__file__).resolve().parent / "results"
    logs.mkdir(exist_ok=True)
    for round_number in range(args.rounds):
        for mode, env in envs.items():
            with common.gunicorn(env, port=args.port, workers=args.workers, log_path=logs / f"catalog-{mode}.log") as server:
                base = server
                for name, call in scenarios.items():
                    result = common.run_load(call, threads=args.threads, duration=args.seconds, server=server)
                    results.setdefault((name, mode), []).append(result)
                    common.log(f"round {round_number + 1} {mode:<8} {name:<10} {result.summary()}")
                if mode == "cached" and round_number == 0:
                    check_freshness(server, staff_token, product_ids[0])

    common.log("\nBest round per scenario (highest req/s):")
    for (name, mode), runs in sorted(results.items()):
        best = max(runs, key=lambda r: r.per_second)
        common.log(f"  {name:<10} {mode:<8} {best.summary()}")


def check_freshness(base_url: str, staff_token: str, product_id: int) -> None:
    session = requests.Session()
    before = session.get(f"{base_url}/api/v1/products/{product_id}", timeout=10).json()["price"]
    new_price = before + 1
    price_list = f"{base_url}/api/v1/products?min_price={new_price}&max_price={new_price}&page_size=100"
    assert product_id not in [p["id"] for p in session.get(price_list, timeout=10).json()["results"]]  # now cached
    response = session.patch(
        f"{base_url}/api/v1/staff/products/{product_id}",
        json={"price": new_price},
        headers={"Authorization": f"Token {staff_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    seen = session.get(f"{base_url}/api/v1/products/{product_id}", timeout=10).json()["price"]
    listed = {p["id"]: p["price"] for p in session.get(price_list, timeout=10).json()["results"]}
    assert seen == new_price and listed.get(product_id) == new_price, (seen, listed.get(product_id))
    common.log(f"freshness: price {before} -> {new_price} visible in the very next detail and list reads (cached server)")

if __name__ == "__main__":
    main()
