"""GET /metrics for the monitoring system only (API.md, Operations): a request carrying
`Authorization: Bearer <METRICS_TOKEN>`, or coming from an address in METRICS_ALLOWED_IPS
(addresses or networks, e.g. 10.0.0.0/8), gets the Prometheus text; anyone else gets 403."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_prometheus import exports

from apps.core.throttling import client_address


def _has_token(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _from_allowed_address(request) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(allowed, strict=False) for allowed in settings.METRICS_ALLOWED_IPS)


@require_safe
@never_cache
def metrics(request):
    if not (_has_token(request) or _from_allowed_address(request)):
        return HttpResponseForbidden("Metrics are for the monitoring system.", content_type="text/plain")
    return exports.ExportToDjangoView(request)
