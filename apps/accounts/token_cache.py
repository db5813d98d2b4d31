"""API token → user, cached in Redis, so that a token request costs no database query.

One entry per token, filed under a SHA-256 of the key (the key itself never appears in Redis),
holding what a request needs of the user: id, email, name, is_staff, is_superuser. Only active
users are cached. Every process reads the same entries, so a revocation is seen by all at once:

- Whatever changes a token or what an entry carries (a token deleted, a password changed, a user
  deactivated, made staff or renamed) calls `forget_after_commit` with the user's token keys: the
  entry is deleted and the token's generation replaced (one MULTI) at once and again after COMMIT.
- A reader that missed stores what it read from the database only if the token's generation is
  still the one it saw before reading (a script checks and sets atomically). So a reader that read
  the old row just before the COMMIT cannot put it back after the forget: it finds a new generation.
- Entries expire after ENTRY_SECONDS: the bound on staleness should a forget not reach Redis
  (Redis unreachable at that moment). A forget that fails is logged as an error.

Redis unreachable: every read misses (the database answers, as without the cache) and nothing is
stored. Without Redis (the embedded default's per-process cache) nothing is cached: one process
could not tell the others.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.authtoken.models import Token

from apps.core.transactions import after_commit

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 300
# Outlives every entry stored under an older generation.
GENERATION_SECONDS = 2 * ENTRY_SECONDS
# What a request reads of request.user; any other field is loaded from the database if touched.
CARRIED_FIELDS = ("id", "email", "name", "is_staff", "is_superuser")
# A save that changes one of these must forget the user's entries (password: its change revokes the token).
INVALIDATING_FIELDS = frozenset({"email", "name", "is_staff", "is_superuser", "is_active", "password"})

_STORE_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Lookup:
    """What the cache knows of a token: the user it authenticates (None: ask the database) and the
    generation to store under after asking."""

    user: object | None
    generation: str


def enabled() -> bool:
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _entry_key(digest: str) -> str:
    return cache.make_key(f"auth:token:{digest}")


def _generation_key(digest: str) -> str:
    return cache.make_key(f"auth:token-gen:{digest}")


def lookup(key: str) -> Lookup:
    """The cached user of this token, in one round trip; a miss whenever Redis cannot answer."""
    digest = _digest(key)
    try:
        entry, generation = get_redis_connection("default").mget([_entry_key(digest), _generation_key(digest)])
    except RedisError:
        logger.warning("Token cache unreachable; authenticating from the database", exc_info=True)
        return Lookup(user=None, generation="")
    generation = generation.decode() if generation else ""
    if entry is None:
        return Lookup(user=None, generation=generation)
    return Lookup(user=_user_from(json.loads(entry)), generation=generation)


def store(key: str, *, user, generation: str) -> None:
    """Cache the token's user, unless the token was forgotten since `lookup` returned `generation`."""
    if not user.is_active:
        return
    digest = _digest(key)
    entry = json.dumps({field: getattr(user, field) for field in CARRIED_FIELDS})
    try:
        client = get_redis_connection("default")
        client.register_script(_STORE_IF_UNCHANGED)(keys=[_entry_key(digest), _generation_key(digest)], args=[generation, entry, ENTRY_SECONDS])
    except RedisError:
        logger.warning("Token cache unreachable; this token's user is not cached", exc_info=True)


def token(key: str, *, user) -> Token:
    """The Token a cached lookup stands for (request.auth), built without a query."""
    instance = _instance(Token, {"key": key, "user_id": user.pk})
    instance.user = user
    return instance


def forget(keys: Iterable[str]) -> None:
    """Drop these tokens' entries now and turn away stores of lookups made before."""
    digests = [_digest(key) for key in keys]
    if not digests or not enabled():
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=True)
        for digest in digests:
            pipe.set(_generation_key(digest), uuid.uuid4().hex, ex=GENERATION_SECONDS)
            pipe.delete(_entry_key(digest))
        pipe.execute()
    except RedisError:
        logger.error(
            "Could not forget %d cached API token(s); they keep working for at most %d seconds", len(digests), ENTRY_SECONDS, exc_info=True
        )


def forget_after_commit(keys: Iterable[str]) -> None:
    """`forget` now, and again once the current transaction commits.

    Now: later reads in this very transaction miss too. After the COMMIT: a reader who read the
    old row between the two cannot have stored it under the generation the second forget replaces.
    """
    keys = list(keys)
    if keys and enabled():
        forget(keys)
        if connection.in_atomic_block:
            after_commit(forget, keys)


def forget_user_after_commit(user_id: int) -> None:
    """Forget every token of this user once the current transaction commits."""
    if enabled():
        forget_after_commit(Token.objects.filter(user_id=user_id).values_list("key", flat=True))


def _user_from(entry: dict):
    return _instance(get_user_model(), {**{field: entry[field] for field in CARRIED_FIELDS}, "is_active": True})


def _instance(model, known: dict):
    """A model instance as if loaded from the database with only these fields: the others are deferred."""
    fields = [field.attname for field in model._meta.concrete_fields if field.attname in known]
    return model.from_db(DEFAULT_DB_ALIAS, fields, [known[name] for name in fields])
