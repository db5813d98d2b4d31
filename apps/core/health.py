"""Health endpoints: /healthz checks the database, the cache and the broker (when configured);
/livez only says the process answers, for load balancers and as the bench's floor."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def _check_broker() -> None:
    from config.celery import app

    # Socket timeouts too: a broker that accepts the connection but never answers must not hang /healthz.
    timeouts = {"socket_timeout": 2, "socket_connect_timeout": 2}
    with app.connection_for_write(connect_timeout=2, transport_options=timeouts) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


@require_safe
@never_cache
def healthz(request):
    """200 when every check passes, else 503; the body names each check "ok" or "error"."""
    checks = {"database": _check_database, "cache": _check_cache}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = _check_broker
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a health check reports every failure, whatever its type
            logger.warning("health check %s failed: %s", name, exc)
            results[name] = "error"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503)


@require_safe
@never_cache
def livez(request):
    """200 {"status": "ok"} whenever the process serves requests; touches no database, cache or broker.

    A load balancer's liveness probe must not take every replica out when a shared service blips.
    """
    return JsonResponse({"status": "ok"})
