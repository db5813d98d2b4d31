"""What search engines and link previews read: canonical and absolute URLs, JSON-LD data blocks."""

import json

from django import template
from django.utils.html import _json_script_escapes
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

register = template.Library()

# Query parameters that pick different content; every other one (sort, q, ...) shares the canonical page.
CANONICAL_PARAMETERS = ("category", "page", "period")


@register.simple_tag(takes_context=True)
def canonical_url(context) -> str:
    request = context["request"]
    kept = [(name, request.GET[name]) for name in CANONICAL_PARAMETERS if request.GET.get(name) and request.GET[name] != "1"]
    return request.build_absolute_uri(request.path + (f"?{urlencode(kept)}" if kept else ""))


@register.simple_tag(takes_context=True)
def absolute_url(context, path: str) -> str:
    return context["request"].build_absolute_uri(path) if path else ""


@register.filter(name="json_ld", is_safe=True)
def json_ld(data) -> str:
    """JSON for a <script type="application/ld+json"> block: <, > and & escaped so it cannot end the block."""
    return mark_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_json_script_escapes))
