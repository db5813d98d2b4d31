"""A stand-in for the data platform on a free loopback port, for the many-nodes test and the bench.

Standard library only (the bench imports it outside Django). Each delivery is checked against the
HMAC-SHA256 signature the outbox relay sends and recorded as (event id, type, signed correctly).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Delivery:
    event_id: str
    type: str
    signed: bool


class EventReceiver:
    def __init__(self, *, secret: str):
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        key = secret.encode()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
                event = json.loads(body)
                delivery = Delivery(str(event.get("id")), str(event.get("type")), hmac.compare_digest(expected, self.headers.get("X-Signature", "")))
                with receiver._lock:
                    receiver.deliveries.append(delivery)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    @property
    def event_ids(self) -> set[str]:
        """Ids of the correctly signed events received (each counted once, however often delivered)."""
        return {delivery.event_id for delivery in self._snapshot() if delivery.signed}

    @property
    def bad_signatures(self) -> int:
        return sum(not delivery.signed for delivery in self._snapshot())

    def types_of_distinct_events(self) -> Counter:
        return Counter({delivery.event_id: delivery.type for delivery in self._snapshot() if delivery.signed}.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> EventReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
