"""Content-Security-Policy on every page, and no inline script or style for it to block (issue 11,
defect 13)."""

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("apps/*/templates"))]
# A JSON-LD block (<script type="application/ld+json">, product pages' structured data) is data the
# browser never runs, so the policy does not apply to it; every other inline script is refused.
INLINE_SCRIPT = re.compile(r'<script(?![^>]*\bsrc=)(?![^>]*\btype="application/ld\+json")[^>]*>', re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def test_no_template_has_an_inline_script_style_or_event_handler():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for folder in TEMPLATE_DIRS
        for path in folder.rglob("*.html")
        for match in [*INLINE_SCRIPT.finditer(path.read_text()), *INLINE_STYLE.finditer(path.read_text())]
    ]
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "logged_in"),
    [
        *[(path, False) for path in ("/", "/products/", "/accounts/login/", "/accounts/signup/", "/admin/login/")],
        *[(path, True) for path in ("/cart/", "/orders/")],
    ],
)
def test_pages_carry_a_policy_that_allows_only_this_site(path, logged_in, user):
    client = Client()
    if logged_in:
        client.post("/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD})
    response = client.get(path)

    assert response.status_code == 200, path
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html), path
