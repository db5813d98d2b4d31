"""Wallet charges over HTTP: many users charging at once, then every client on one hot wallet.
Reports charges per second and latency percentiles, the optimistic-retry count, and checks the
invariant afterwards: every balance equals its ledger sum and the sum of the 200 responses.

    .venv/bin/python bench/wallet_charge.py [--users 200] [--threads 32] [--seconds 20] [--workers 5]

Runs gunicorn (config/gunicorn.py, production settings) on MariaDB and Redis, against its own
database (dropped and re-created) and Redis dbs. Each request carries a fresh Idempotency-Key, as
a mobile client does, so the idempotency table is part of the measured path. The per-user charge
throttle is raised out of the way: this measures the charge path, not the limit.
"""

import argparse
import random
import sys
import threading
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--threads", type=int, default=32, help="client threads (concurrent requests)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database", default="bench_wallets")
    parser.add_argument("--redis-db", type=int, default=14, help="cache db; the Celery broker uses the next one")
    return parser.parse_args()


class Charger:
    """Sends charges and remembers what the server said it charged, per token (thread-safe)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.charged: dict[str, int] = defaultdict(int)
        self.ok: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def charge(self, session, token: str) -> str:
        amount = random.randint(1, 10_000)
        response = session.post(
            f"{self.base_url}/api/v1/wallet/charge",
            json={"amount": amount},
            headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=30,
        )
        if response.status_code == 200:
            with self._lock:
                self.charged[token] += amount
                self.ok[token] += 1
        return common.outcome_of(response)


def conflicts_retried(env) -> int:
    return common.django_call(env, "bench.jobs:wallet_conflicts_retried")


def main() -> int:
    args = parse_args()
    env = common.bench_env(database=args.database, redis_db=args.redis_db, THROTTLE_WALLET_CHARGE="1000000/min")
    common.log(f"Preparing database {args.database} and Redis db {args.redis_db}...")
    common.reset_database(env, args.database)
    tokens = common.seed_users(env, count=args.users, prefix="wallet")
    log_path = Path("/tmp") / f"{args.database}-gunicorn.log"
    failures: list[str] = []

    with common.gunicorn(env, port=args.port, workers=args.workers, log_path=log_path) as base_url:
        charger = Charger(base_url)

        spread = common.run_load(lambda session, i, n: charger.charge(session, random.choice(tokens)), threads=args.threads, duration=args.seconds)
        common.log(f"Spread ({args.users} users, {args.threads} client threads, {args.workers} gunicorn workers, {args.seconds:.0f}s): {spread.summary()}")
        retried_after_spread = conflicts_retried(env)

        hot = tokens[0]
        hot_run = common.run_load(lambda session, i, n: charger.charge(session, hot), threads=args.threads, duration=args.seconds)
        common.log(f"One hot wallet ({args.threads} client threads on the same user): {hot_run.summary()}")
        retried_total = conflicts_retried(env)
        common.log(f"Version conflicts retried: {retried_after_spread} while spread, {retried_total - retried_after_spread} on the hot wallet")

        for name, run in (("spread", spread), ("hot", hot_run)):
            unexpected = set(run.outcomes) - {"200", "409 CONCURRENT_UPDATE"}
            if unexpected:
                failures.append(f"{name}: unexpected outcomes {dict(run.outcomes)}")

    report = common.django_call(env, "bench.invariants:wallets_by_token")
    wallets = report["wallets"]
    bad = [w for w in wallets if w["balance"] != w["ledger_sum"] or w["balance"] < 0 or w["version"] != w["ledger_lines"]]
    mismatched = [w for w in wallets if w["balance"] != charger.charged.get(w["token"], 0) or w["ledger_lines"] != charger.ok.get(w["token"], 0)]
    total_ok = sum(charger.ok.values())
    common.log(
        f"Invariant: {len(wallets)} wallets, {sum(w['ledger_lines'] for w in wallets)} ledger lines, {total_ok} charges answered 200, "
        f"{report['idempotency_keys']} completed idempotency keys; "
        f"{len(bad)} wallets whose balance != ledger sum (or version != lines), {len(mismatched)} that differ from the 200 responses"
    )
    if bad:
        failures.append(f"balance != ledger sum: {bad[:5]}")
    if mismatched:
        failures.append(f"balance differs from what the server acknowledged: {mismatched[:5]}")
    if report["idempotency_keys"] != total_ok:
        failures.append(f"{report['idempotency_keys']} completed idempotency keys for {total_ok} charges")

    for failure in failures:
        common.log(f"FAIL: {failure}")
    common.log("OK: every balance equals its ledger and the acknowledged charges" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
