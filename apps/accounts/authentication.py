"""API token authentication answered from the shared cache (apps.accounts.token_cache)."""

from rest_framework.authentication import TokenAuthentication

from apps.accounts import token_cache


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication, with the token → user lookup cached in Redis for every process.

    A hit costs no database query; a miss (or Redis down) asks the database exactly as DRF does
    and caches what it found. Revocations reach the cache through apps.accounts.services (and the
    receivers in apps.accounts.receivers), so a revoked token fails on the very next request.
    """

    def authenticate_credentials(self, key):
        if not token_cache.enabled():
            return super().authenticate_credentials(key)
        cached = token_cache.lookup(key)
        if cached.user is not None:
            return cached.user, token_cache.token(key, user=cached.user)
        user, token = super().authenticate_credentials(key)
        token_cache.store(key, user=user, generation=cached.generation)
        return user, token
