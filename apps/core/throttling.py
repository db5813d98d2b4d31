"""Throttles that fail open: a rate limit slows abuse down, it must not take the shop down with
the cache it counts in. When the cache errors, the request goes through and a warning is logged."""

import logging

from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


class FailOpenThrottleMixin:
    """Put before a DRF throttle class: a cache failure while counting allows the request."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # whatever the cache backend raises (connection, timeout, protocol)
            logger.warning("throttle %r failing open: its cache is unavailable", getattr(self, "scope", type(self).__name__), exc_info=True)
            return True


def client_address(request) -> str:
    """The client's address as throttles see it: REMOTE_ADDR, or X-Forwarded-For's entry
    NUM_PROXIES hops from the end when that many trusted proxies stand in front (0 by default)."""
    return BaseThrottle().get_ident(request)
