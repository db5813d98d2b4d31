"""Coupon rush: N users with API tokens race for a 100-coupon campaign over HTTP, then keep hammering
the sold-out campaign. Reports issue requests per second once sold out (answered by the Redis gate),
latency percentiles, and checks that exactly `quantity` coupons were issued.

    .venv/bin/python bench/coupon_rush.py [--users 500] [--threads 32] [--hammer-seconds 20] [--compare-db-only]

Runs gunicorn (config/gunicorn.py, production settings) on MariaDB and Redis, against its own
database (dropped and re-created) and Redis dbs.
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--quantity", type=int, default=100)
    parser.add_argument("--threads", type=int, default=32, help="client threads (concurrent requests)")
    parser.add_argument("--hammer-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="bench_coupons")
    parser.add_argument("--redis-db", type=int, default=12, help="cache db; the Celery broker uses the next one")
    parser.add_argument("--compare-db-only", action="store_true", help="hammer again with COUPON_REDIS_GATE=false")
    return parser.parse_args()


def issue(base_url: str, coupon_id: int, token: str, session) -> str:
    response = session.post(f"{base_url}/api/v1/coupons/{coupon_id}/issue", headers={"Authorization": f"Token {token}"}, timeout=30)
    return common.outcome_of(response)


def hammer(base_url: str, coupon_id: int, tokens: list[str], args) -> common.LoadResult:
    def call(session, thread_index, iteration):
        return issue(base_url, coupon_id, random.choice(tokens), session)

    return common.run_load(call, threads=args.threads, duration=args.hammer_seconds, server=base_url)


def main() -> int:
    args = parse_args()
    env = common.bench_env(database=args.database, redis_db=args.redis_db)
    common.log(f"Preparing database {args.database} and Redis db {args.redis_db}...")
    common.reset_database(env, args.database)
    tokens = common.seed_users(env, count=args.users, prefix="rush")
    [staff_token] = common.seed_users(env, count=1, prefix="staff", staff=True)
    log_path = Path("/tmp") / f"{args.database}-gunicorn.log"
    failures: list[str] = []

    with common.gunicorn(env, port=args.port, workers=args.workers, log_path=log_path) as base_url:
        created = common.requests.post(
            f"{base_url}/api/v1/staff/coupons",
            json={"name": "Bench rush", "discount_type": "fixed", "discount_value": 500, "total_quantity": args.quantity},
            headers={"Authorization": f"Token {staff_token}"},
            timeout=30,
        )
        created.raise_for_status()
        coupon_id = created.json()["id"]

        order = list(range(args.users))
        random.shuffle(order)

        def rush_call(session, thread_index, iteration):
            position = thread_index + iteration * args.threads
            if position >= len(order):
                return None
            return issue(base_url, coupon_id, tokens[order[position]], session)

        rush = common.run_load(rush_call, threads=args.threads, iterations=len(order), server=base_url)
        common.log(f"Rush ({args.users} users, each once, {args.threads} client threads, {args.workers} gunicorn workers): {rush.summary()}")
        expected = {"201": args.quantity, "409 COUPON_SOLD_OUT": args.users - args.quantity}
        if dict(rush.outcomes) != expected:
            failures.append(f"rush outcomes {dict(rush.outcomes)} != {expected}")

        sold_out = hammer(base_url, coupon_id, tokens, args)
        common.log(f"Sold out, Redis gate on ({args.hammer_seconds:.0f}s, random users): {sold_out.summary()}")
        if set(sold_out.outcomes) - {"409 COUPON_SOLD_OUT", "409 COUPON_ALREADY_ISSUED"}:
            failures.append(f"unexpected outcomes once sold out: {dict(sold_out.outcomes)}")

        def me_call(session, thread_index, iteration):
            response = session.get(f"{base_url}/api/v1/me", headers={"Authorization": f"Token {random.choice(tokens)}"}, timeout=30)
            return common.outcome_of(response)

        baseline = common.run_load(me_call, threads=args.threads, duration=args.hammer_seconds, server=base_url)
        common.log(f"Baseline, GET /api/v1/me (token auth, no other work), same load: {baseline.summary()}")

    if args.compare_db_only:
        db_env = {**env, "COUPON_REDIS_GATE": "false"}
        with common.gunicorn(db_env, port=args.port, workers=args.workers, log_path=log_path) as base_url:
            db_only = hammer(base_url, coupon_id, tokens, args)
        common.log(f"Sold out, database only (COUPON_REDIS_GATE=false): {db_only.summary()}")
        if set(db_only.outcomes) - {"409 COUPON_SOLD_OUT", "409 COUPON_ALREADY_ISSUED"}:
            failures.append(f"unexpected outcomes once sold out (database only): {dict(db_only.outcomes)}")

    counts = common.django_call(env, "bench.invariants:coupon_counts", coupon_id=coupon_id)
    common.log(f"Database after the run: {counts}")
    if set(counts.values()) != {args.quantity}:
        failures.append(f"expected exactly {args.quantity} everywhere, got {counts}")

    for failure in failures:
        common.log(f"FAIL: {failure}")
    common.log(f"OK: exactly {args.quantity} issued" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
