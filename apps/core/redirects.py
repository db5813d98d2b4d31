"""Where a page may send the browser next: only back to this site."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_redirect_url(request, *candidates: str | None) -> str | None:
    """The first candidate that stays on this host (and on https when the request is), else None.

    Guards `?next=` and Referer against open redirects to another site.
    """
    for url in candidates:
        if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            return url
    return None
