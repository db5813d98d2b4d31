"""Shoppers as HTTP clients of a real server: every attempt is recorded with its timing and outcome."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

NO_ANSWER = 0  # the status recorded when the server never answered (connection refused or reset, timeout)
REQUEST_TIMEOUT = 60


@dataclass(frozen=True)
class Attempt:
    what: str
    status: int
    code: str | None
    started: float
    ended: float
    replayed: bool = False
    resource_id: int | None = None
    target: str = ""

    @property
    def outcome(self) -> tuple[int, str | None]:
        return self.status, self.code

    def overlaps(self, start: float, end: float) -> bool:
        return self.started <= end and self.ended >= start


class Log:
    """Every attempt of every client, in the order they ended; safe to append to from many threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self.attempts: list[Attempt] = []

    def add(self, attempt: Attempt) -> Attempt:
        with self._lock:
            self.attempts.append(attempt)
        return attempt

    def select(self, what: str | None = None, *, started_after: float | None = None, started_before: float | None = None) -> list[Attempt]:
        with self._lock:
            attempts = list(self.attempts)
        return [
            a
            for a in attempts
            if (what is None or a.what == what)
            and (started_after is None or a.started >= started_after)
            and (started_before is None or a.started < started_before)
        ]

    def outcomes(self, what: str | None = None, **window) -> Counter:
        return Counter(attempt.outcome for attempt in self.select(what, **window))

    def errors(self) -> Counter:
        """Attempts answered 5xx or not answered at all, by status."""
        return Counter(a.status for a in self.select() if a.status == NO_ANSWER or a.status >= 500)

    def failing(self) -> Counter:
        """Attempts answered 5xx or not answered at all, by request and status."""
        return Counter(f"{a.target} {a.status}" for a in self.select() if a.status == NO_ANSWER or a.status >= 500)


def call(log: Log, session: requests.Session, what: str, method: str, url: str, *, token: str | None = None, key: str | None = None, **kwargs) -> Attempt:
    headers = {}
    if token:
        headers["Authorization"] = f"Token {token}"
    if key:
        headers["Idempotency-Key"] = key
    target = f"{method} {urlsplit(url).path}"
    started = time.monotonic()
    try:
        response = session.request(method, url, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)
    except requests.RequestException:
        return log.add(Attempt(what, NO_ANSWER, None, started, time.monotonic(), target=target))
    ended = time.monotonic()
    code, resource_id = None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if response.status_code >= 400:
            code = (body.get("error") or {}).get("code")
        elif isinstance(body.get("id"), int):
            resource_id = body["id"]
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    return log.add(Attempt(what, response.status_code, code, started, ended, replayed, resource_id, target))


def run_clients(work: list[Callable[[requests.Session], object]], *, threads: int) -> list:
    """Run each callable on one of `threads` client threads (each with its own HTTP session); returns their results."""
    local = threading.local()

    def run(job):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return job(local.session)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, work, timeout=300))


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
