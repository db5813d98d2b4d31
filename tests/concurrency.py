"""Real threads against the real database, released together by a barrier."""

import contextlib
import threading

from django.db import connection


def race(workers: list, *, timeout: float = 180, max_connections: int | None = None) -> list:
    """Start one thread per callable, release them together, return each one's result or exception.

    `max_connections` caps how many hold a database connection at once (the server's limit is
    shared with everything else on it); all threads are still released by the same barrier.
    """
    barrier = threading.Barrier(len(workers))
    slots = threading.BoundedSemaphore(max_connections) if max_connections else contextlib.nullcontext()
    results: list = [None] * len(workers)

    def run(index, work):
        barrier.wait()
        with slots:
            try:
                results[index] = work()
            except Exception as exc:  # the caller asserts on every outcome
                results[index] = exc
            finally:
                connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results
