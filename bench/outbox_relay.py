"""Outbox relay throughput: N pending events on MariaDB, one relay process delivering them to a fast
local receiver. Reports events relayed per second and the relay's CPU per event, and checks that the
receiver got every event exactly once with a valid signature.

    .venv/bin/python bench/outbox_relay.py [--events 20000] [--per-aggregate 2] [--batch-size 100] [--relays 1]

The relay runs in its own process with production settings (the code a Celery worker runs for
`relay_outbox`, called in a loop until nothing is pending), against its own database (dropped and
re-created) and Redis dbs. The receiver is a threaded HTTP/1.1 server in another process that
verifies each X-Signature.
"""

import argparse
import hashlib
import hmac
import json
import multiprocessing
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SECRET = "bench-data-platform-secret"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--per-aggregate", type=int, default=2, help="events per aggregate (they are delivered in order)")
    parser.add_argument("--batch-size", type=int, default=100, help="OUTBOX_BATCH_SIZE")
    parser.add_argument("--relays", type=int, default=1, help="relay processes running at once")
    parser.add_argument("--database", default="bench_outbox")
    parser.add_argument("--redis-db", type=int, default=8, help="cache db; the Celery broker uses the next one")
    return parser.parse_args()


def serve_receiver(port_queue) -> None:
    """The data platform stand-in: verify the signature, remember the id, answer 202."""
    seen: dict[str, int] = {}
    bad = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                event_id = self.headers["X-Event-Id"]
                seen[event_id] = seen.get(event_id, 0) + 1  # dict updates are atomic under the GIL
                self._answer(202, b"{}")
            else:
                bad[0] += 1
                self._answer(401, b"{}")

        def do_GET(self):
            self._answer(200, json.dumps({"received": sum(seen.values()), "unique": len(seen), "bad_signatures": bad[0]}).encode())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_port)
    server.serve_forever()


def main() -> None:
    args = parse_args()
    env = common.bench_env(database=args.database, redis_db=args.redis_db, DATA_PLATFORM_SECRET=SECRET, OUTBOX_BATCH_SIZE=str(args.batch_size))
    common.log(f"resetting database {args.database} and seeding {args.events} events ({args.per_aggregate} per aggregate)")
    common.reset_database(env, args.database)
    pending = common.django_call(env, "bench.seed:seed_pending_events", events=args.events, per_aggregate=args.per_aggregate)
    assert pending == args.events, pending

    port_queue = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=serve_receiver, args=(port_queue,), daemon=True)
    receiver.start()
    receiver_url = f"http://127.0.0.1:{port_queue.get(timeout=10)}"
    env["DATA_PLATFORM_URL"] = f"{receiver_url}/events"
    try:
        common.log(f"relaying with {args.relays} relay process(es), batch size {args.batch_size}")
        started = time.perf_counter()
        relays = [
            subprocess.Popen(common.django_command("bench.jobs:relay_until_done"), cwd=common.ROOT, env=env, stdout=subprocess.PIPE, text=True)
            for _ in range(args.relays)
        ]
        outputs = [relay.communicate()[0] for relay in relays]
        elapsed = time.perf_counter() - started
        if any(relay.returncode for relay in relays):
            raise SystemExit(f"a relay failed: {outputs}")
        results = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
        counts = common.requests.get(receiver_url, timeout=5).json()
    finally:
        receiver.terminate()

    left = common.django_call(env, "bench.invariants:events_not_sent")
    sent = sum(result["sent"] for result in results)
    relay_seconds = max(result["seconds"] for result in results)
    cpu = sum(result["cpu"] for result in results)
    common.log(f"receiver: {counts}; events not sent: {left}")
    assert counts == {"received": args.events, "unique": args.events, "bad_signatures": 0}, counts
    assert sent == args.events and left == 0
    common.log(
        f"RESULT {args.events} events relayed in {relay_seconds:.2f}s by {args.relays} relay process(es) = "
        f"{args.events / relay_seconds:.0f} events/s (wall clock with process start-up: {elapsed:.2f}s); "
        f"relay CPU {cpu * 1000 / args.events:.2f} ms/event; relay runs {[result['runs'] for result in results]}"
    )


if __name__ == "__main__":
    main()
