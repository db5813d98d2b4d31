"""Idempotency-Key handling (API.md): a retried request never charges or orders twice.

A key is claimed by inserting the unique (user, key) row in its own short transaction before any
work starts, so a concurrent duplicate sees it at once (IntegrityError) instead of racing. The first
request's response (2xx and 4xx) is stored and replayed; a 5xx, an unexpected exception or a
CONCURRENT_UPDATE (nothing changed, "try again") releases the key so the client can retry with it.

A process that dies between its work and storing the response leaves the key in progress until it
expires: the client sees 409 IDEMPOTENCY_IN_PROGRESS, never a second charge.

`claim_key`/`complete_key`/`release_key` hold the rule; `@idempotent` applies it to DRF views and
`run_once` to storefront forms, which carry a hidden per-form token as their key.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.core import errors
from apps.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length
_CLAIM_ATTEMPTS = 3
_PURGE_BATCH = 1000


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict | list | None


def fingerprint(*, method: str, path: str, body) -> str:
    """sha256 of the method, the path and the body as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def validate_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        message = f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters."
        raise errors.ValidationError(message, details={HEADER: [message]})


def claim_key(*, user, key: str, fingerprint: str) -> IdempotencyKey | StoredResponse:
    """Claims (user, key) for this request, or answers from the existing claim.

    Returns the new in-progress row (the caller now does the work, then completes or releases it),
    or the stored response of a completed request with the same fingerprint. Raises
    IdempotencyKeyReused for a different fingerprint and IdempotencyInProgress while the first
    request still runs. A row older than IDEMPOTENCY_TTL counts as absent.
    """
    validate_key(key)
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            continue  # released between our insert and this read: claim again
        if existing.created_at < timezone.now() - settings.IDEMPOTENCY_TTL:
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
                    return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
            except IntegrityError:
                continue  # another request re-claimed the expired key first
        if existing.fingerprint != fingerprint:
            raise errors.IdempotencyKeyReused()
        if existing.status == IdempotencyKey.Status.COMPLETED:
            return StoredResponse(status=existing.response_status, body=existing.response_body)
        raise errors.IdempotencyInProgress()
    raise errors.IdempotencyInProgress()


def complete_key(*, record: IdempotencyKey, status: int, body) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        status=IdempotencyKey.Status.COMPLETED, response_status=status, response_body=body, completed_at=timezone.now()
    )


def release_key(*, record: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).delete()


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

    `action` returns a JSON-serialisable summary, stored as the key's response. Returns
    (summary, False) after running it, or (the stored summary, True) for a repeat. Any exception
    from `action` (a DomainError means nothing changed) releases the key, so the corrected form can
    be sent again.
    """
    claim = claim_key(user=user, key=key, fingerprint=fingerprint)
    if isinstance(claim, StoredResponse):
        return claim.body, True
    try:
        summary = action()
    except BaseException:
        release_key(record=claim)
        raise
    complete_key(record=claim, status=200, body=summary)
    return summary, False


def idempotent(view_method):
    """Makes a DRF APIView's `post(self, request, ...)` honour the Idempotency-Key header.

    No header (or an anonymous user, whom the view rejects anyway) → a plain call.
    """

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        claim = claim_key(user=request.user, key=key, fingerprint=_request_fingerprint(request))
        if isinstance(claim, StoredResponse):
            return Response(claim.body, status=claim.status, headers={REPLAY_HEADER: "true"})
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception as exc:  # every failure is answered here so its response can be stored
            try:
                response = self.handle_exception(exc)
            except BaseException:
                release_key(record=claim)
                raise
            if isinstance(exc, errors.ConcurrentUpdate):
                release_key(record=claim)
                return response
        if response.status_code >= 500:
            release_key(record=claim)
        else:
            complete_key(record=claim, status=response.status_code, body=_stored_body(response))
        return response

    return wrapper


def _request_fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):
        data = dict(data.lists())
    return fingerprint(method=request.method, path=request.path, body=data)


def _stored_body(response: Response):
    """The body exactly as the client receives it: DRF's JSON rendering, read back into plain data."""
    return json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
