"""Idempotency-Key handling (API.md): a retried request never charges or orders twice.

The key is recorded in the same database transaction as the work it guards, so "the work
committed" and "the key is completed" can never disagree, whatever fails afterwards:

1. The transaction starts by inserting the unique (user, key) row. A concurrent request with the
   same key waits on that insert until the first one ends: it then finds the stored response and
   replays it, or, if the first rolled back, does the work itself.
2. The work runs inside that transaction (services' own atomic blocks become savepoints).
3. The response (2xx and 4xx alike) is written to the row, and everything commits at once.

Nothing is ever left "in progress": a request that fails, or a process that dies, rolls its
transaction back and the key is free again at once. A 5xx, an unexpected exception or
CONCURRENT_UPDATE ("nothing changed, try again") stores nothing. Whatever runs after the commit
(on-commit steps are logged, never raised: apps.core.transactions.after_commit) cannot turn the
committed response into an error.

`execute_once` holds the rule; `@idempotent` applies it to DRF views and `run_once` to storefront
forms, which carry a hidden per-form token as their key.
"""

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.core import errors
from apps.core.models import IdempotencyKey
from apps.core.transactions import LOCK_WAIT_TIMEOUT, after_commit, is_lock_conflict, run_with_lock_retries

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length
_CLAIM_ATTEMPTS = 3
_PURGE_BATCH = 1000


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict | list | None
    replayed: bool


class _KeyTaken(Exception):
    """Another request holds (or held) this key: answer from its record."""


class _DoNotStore(Exception):
    """Carries an outcome out of the transaction so that it rolls back, key included."""

    def __init__(self, outcome: StoredResponse | BaseException):
        self.outcome = outcome


def fingerprint(*, method: str, path: str, body) -> str:
    """HMAC-SHA256 (keyed with SECRET_KEY) of the method, the path and the body as canonical JSON.

    Keyed, so that a stored fingerprint reveals nothing of the body (a card number, for one),
    even to someone who reads the database.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(settings.SECRET_KEY.encode(), f"{method.upper()}\n{path}\n{canonical}".encode(), hashlib.sha256).hexdigest()


def validate_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        message = f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters."
        raise errors.ValidationError(message, details={HEADER: [message]})


def execute_once(
    *, user, key: str, fingerprint: str, work: Callable[[], tuple[int, object]], store: Callable[[int, object], bool]
) -> StoredResponse:
    """Run `work` at most once per (user, key), in one transaction with the key's record.

    `work` returns (status, body); `store(status, body)` says whether that outcome is kept for
    replays (False rolls everything back, key included). Returns the outcome, or the stored one
    with `replayed=True`. Raises IdempotencyKeyReused for the same key with another fingerprint.
    Exceptions from `work` roll everything back and propagate.
    """
    validate_key(key)
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            return run_with_lock_retries(lambda: _attempt(user=user, key=key, fingerprint=fingerprint, work=work, store=store))
        except _KeyTaken:
            pass  # the key exists (or existed a moment ago): answer from it
        stored = _stored_response(user=user, key=key, fingerprint=fingerprint)
        if stored is not None:
            return stored
    raise errors.IdempotencyInProgress()


def _attempt(*, user, key: str, fingerprint: str, work, store) -> StoredResponse:
    committed = False

    def mark_committed() -> None:
        nonlocal committed
        committed = True

    outcome: StoredResponse | None = None
    try:
        with transaction.atomic():
            # Registered first, so it runs first after COMMIT: from then on the outcome stands.
            transaction.on_commit(mark_committed)
            record = _claim(user=user, key=key, fingerprint=fingerprint)
            try:
                status, body = work()
            except errors.DomainError as exc:
                raise _DoNotStore(exc) from exc
            outcome = StoredResponse(status=status, body=body, replayed=False)
            if not store(status, body):
                raise _DoNotStore(outcome)
            IdempotencyKey.objects.filter(pk=record.pk).update(
                status=IdempotencyKey.Status.COMPLETED, response_status=status, response_body=body, completed_at=timezone.now()
            )
            after_commit(_remember_completed, user_id=user.pk, key=key)
    except _DoNotStore as stop:
        if isinstance(stop.outcome, BaseException):
            raise stop.outcome from None
        return stop.outcome
    except Exception:
        if committed and outcome is not None:
            return outcome
        raise
    return outcome


def _claim(*, user, key: str, fingerprint: str) -> IdempotencyKey:
    """Insert the key's row: the first statement of the transaction, so a failure here leaves nothing to undo."""
    try:
        return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
    except IntegrityError as exc:
        raise _KeyTaken() from exc
    except OperationalError as exc:
        if is_lock_conflict(exc) and exc.args[0] == LOCK_WAIT_TIMEOUT:
            raise errors.IdempotencyInProgress() from exc  # waited too long behind the first request with this key
        raise


def _completed_marker(*, user_id: int, key: str) -> str:
    return "idempotency:completed:" + hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()


def _remember_completed(*, user_id: int, key: str) -> None:
    cache.set(_completed_marker(user_id=user_id, key=key), 1, timeout=int(settings.IDEMPOTENCY_TTL.total_seconds()))


def may_replay(*, user, key: str | None) -> bool:
    """Whether this request could be a retry of a completed one, as far as the cache knows.

    For answers given from memory before the database is asked (a sold-out product): a retry of a
    completed request must get its first response again, not a refusal. A cache that forgot the
    key (flushed) makes a retry answered from memory; the database still never repeats the work.
    """
    if key is None or not user.is_authenticated:
        return False
    return cache.get(_completed_marker(user_id=user.pk, key=key)) is not None


def _stored_response(*, user, key: str, fingerprint: str) -> StoredResponse | None:
    """The completed request's response, or None when the key is free (again): the caller retries."""
    existing = IdempotencyKey.objects.filter(user=user, key=key).first()
    if existing is None:
        return None
    if existing.created_at < timezone.now() - settings.IDEMPOTENCY_TTL:
        IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
        return None
    if existing.fingerprint != fingerprint:
        raise errors.IdempotencyKeyReused()
    if existing.status != IdempotencyKey.Status.COMPLETED:
        raise errors.IdempotencyInProgress()  # a claim committed on its own by an older release, during a rolling deploy
    return StoredResponse(status=existing.response_status, body=existing.response_body, replayed=True)


def purge_expired_keys() -> int:
    """Deletes rows older than IDEMPOTENCY_TTL in small batches (short locks); returns how many."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_TTL
    deleted = 0
    while True:
        ids = list(IdempotencyKey.objects.filter(created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:_PURGE_BATCH])
        if not ids:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=ids, created_at__lt=cutoff).delete()[0]


def run_once(*, user, key: str, fingerprint: str, action: Callable[[], dict]) -> tuple[dict, bool]:
    """For callers that are not DRF views (storefront forms): runs `action` at most once per key.

    `action` returns a JSON-serialisable summary, stored as the key's response in the same
    transaction as the action's work. Returns (summary, False) after running it, or (the stored
    summary, True) for a repeat. Any exception from `action` (a DomainError means nothing changed)
    leaves the key free, so the corrected form can be sent again.
    """
    outcome = execute_once(user=user, key=key, fingerprint=fingerprint, work=lambda: (200, action()), store=lambda status, body: True)
    return outcome.body, outcome.replayed


def idempotent(view_method):
    """Makes a DRF APIView's `post(self, request, ...)` honour the Idempotency-Key header.

    No header (or an anonymous user, whom the view rejects anyway) → a plain call. 2xx and 4xx
    answers are stored with the work; 5xx and CONCURRENT_UPDATE are not (the client may retry).
    """

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        validate_key(key)

        def work() -> tuple[int, object]:
            try:
                response = view_method(self, request, *args, **kwargs)
            except APIException as exc:  # DRF's own refusals (validation, parsing) are answered here so they can be stored
                response = self.handle_exception(exc)
            return response.status_code, _stored_body(response)

        try:
            outcome = execute_once(user=request.user, key=key, fingerprint=_request_fingerprint(request), work=work, store=_storable)
        except errors.DomainError as exc:
            if isinstance(exc, errors.ConcurrentUpdate | errors.IdempotencyInProgress | errors.IdempotencyKeyReused) or exc.status_code >= 500:
                raise
            # The work refused (nothing changed): keep that answer for replays, in its own short transaction.
            response = self.handle_exception(exc)
            _store_refusal(user=request.user, key=key, fingerprint=_request_fingerprint(request), response=response)
            return response
        headers = {REPLAY_HEADER: "true"} if outcome.replayed else None
        return Response(outcome.body, status=outcome.status, headers=headers)

    return wrapper


def _storable(status: int, body) -> bool:
    if status >= 500:
        return False
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return code != errors.ConcurrentUpdate.code


def _store_refusal(*, user, key: str, fingerprint: str, response: Response) -> None:
    """Records a refused request's answer; a concurrent request that completed the key first wins."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                user=user,
                key=key,
                fingerprint=fingerprint,
                status=IdempotencyKey.Status.COMPLETED,
                response_status=response.status_code,
                response_body=_stored_body(response),
                completed_at=timezone.now(),
            )
    except IntegrityError:
        pass


def _request_fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):
        data = dict(data.lists())
    return fingerprint(method=request.method, path=request.path, body=data)


def _stored_body(response: Response):
    """The body exactly as the client receives it: DRF's JSON rendering, read back into plain data."""
    return json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
