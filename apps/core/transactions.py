"""Transaction helpers every app uses: work after COMMIT, and reruns after a lock conflict.

The global lock order (docs/architecture.md) is: idempotency key → cart → products (ascending id) →
coupon → wallet → order → payment. Flows that follow it do not deadlock with each other, but InnoDB
may still abort a transaction over a lock conflict (gap locks, foreign-key checks, lock wait
timeouts); `run_with_lock_retries` reruns the whole transaction so the caller gets an answer, never a
database error.
"""

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, transaction

from apps.core.errors import ConcurrentUpdate

logger = logging.getLogger(__name__)

T = TypeVar("T")

# MySQL/MariaDB give up on a lock with these: 1213 deadlock (transaction rolled back), 1205 lock wait timeout.
DEADLOCK, LOCK_WAIT_TIMEOUT = 1213, 1205
LOCK_CONFLICT_ERRORS = frozenset({DEADLOCK, LOCK_WAIT_TIMEOUT})


def is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] in LOCK_CONFLICT_ERRORS


def after_commit(func: Callable[..., object], *args, **kwargs) -> None:
    """Run `func(*args, **kwargs)` once the current transaction commits; a failure is logged, never raised.

    The work is committed by then: nothing that runs afterwards (a cache invalidation, queueing a
    task on a broker that is down) may turn the committed success into an error for the caller.
    """
    name = getattr(func, "__qualname__", repr(func))

    def run() -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("after-commit step %s failed; the transaction itself is committed", name)

    transaction.on_commit(run)


@contextmanager
def current_or_new_transaction() -> Iterator[None]:
    """The caller's open transaction, or a new one: no savepoint.

    For service steps that refuse (raise) before they write anything, so a refusal leaves the
    caller's transaction as it was and the caller decides what to roll back. A savepoint would
    cost two more statements per call on the hottest paths (orders, charges).
    """
    if transaction.get_connection().in_atomic_block:
        yield
    else:
        with transaction.atomic():
            yield


def run_with_lock_retries(attempt: Callable[[], T], *, tries: int | None = None) -> T:
    """Run `attempt` (a whole transaction) again when the database aborts it over a lock conflict.

    Inside an outer transaction nothing can be rerun, so the error is left to the caller that owns
    it. When the tries are used up the conflict becomes ConcurrentUpdate (409, "try again").
    """
    if transaction.get_connection().in_atomic_block:
        return attempt()
    tries = max(1, tries if tries is not None else settings.ORDER_LOCK_RETRIES)
    number = 1
    while True:
        try:
            return attempt()
        except OperationalError as exc:
            if not is_lock_conflict(exc):
                raise
            logger.warning("transaction hit lock conflict %s (attempt %d of %d)", exc.args[0], number, tries)
            if number >= tries:
                raise ConcurrentUpdate() from exc
        time.sleep(random.uniform(0, 0.02 * 2**number))
        number += 1
