import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings


class PlatformStub:
    """A data platform on 127.0.0.1 (random port): records every call, fails the first `fail_first`."""

    def __init__(self):
        self.fail_first = 0
        self.always_fail = False
        self.delay = 0.0  # seconds to wait before answering
        self.on_request = None  # called with the parsed body before answering
        self.calls = []  # (headers, body bytes) of every request, answered or not
        self.received = []  # parsed bodies of the requests answered 2xx, in arrival order
        self._mutex = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if stub.on_request:
                    stub.on_request(json.loads(body))
                time.sleep(stub.delay)
                with stub._mutex:
                    stub.calls.append((dict(self.headers), body))
                    failing = stub.always_fail or len(stub.calls) <= stub.fail_first
                    if not failing:
                        stub.received.append(json.loads(body))
                status, answer = (503, b"platform down") if failing else (202, b"{}")
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):  # the relay gave up waiting (timeout)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def signature_of(body: bytes) -> str:
    return "sha256=" + hmac.new(settings.DATA_PLATFORM_SECRET.encode(), body, hashlib.sha256).hexdigest()
