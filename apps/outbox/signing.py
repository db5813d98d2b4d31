"""The X-Signature header: `sha256=<hex HMAC-SHA256 of the exact body bytes with DATA_PLATFORM_SECRET>`."""

import hashlib
import hmac

from django.conf import settings

PREFIX = "sha256="


def sign(body: bytes, *, secret: str | None = None) -> str:
    key = (settings.DATA_PLATFORM_SECRET if secret is None else secret).encode()
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, *, secret: str | None = None) -> bool:
    return hmac.compare_digest(sign(body, secret=secret), signature or "")
