"""The API docs (Swagger UI at /api/v1/docs, ReDoc at /api/v1/redoc) are served from this site's own
static files (drf-spectacular-sidecar): they work offline and the policy names no other host."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

ASSET = re.compile(r"""\b(?:src|href)=["']([^"']+)["']""", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def _assets(html: str) -> list[str]:
    return ASSET.findall(html)


def _assert_same_origin_and_present(urls: list[str]) -> None:
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{url} is not on this site"
        if parts.path.startswith("/static/"):
            assert finders.find(parts.path.removeprefix("/static/")), f"{url} is not a static file of this site"


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
def test_docs_pages_reference_only_same_origin_assets(path):
    response = Client().get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assets = _assets(html)
    assert any("drf_spectacular_sidecar" in url for url in assets), assets
    _assert_same_origin_and_present(assets)
    assert "fonts.googleapis" not in html and "cdn.jsdelivr" not in html
    assert not INLINE_SCRIPT.search(html)
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"], "no page allows scripts from another host or inline"
    assert all("http" not in value for values in policy.values() for value in values), policy


def test_swagger_ui_loads_its_bundle_and_init_script_from_this_site():
    html = Client().get("/api/v1/docs").content.decode()
    assets = _assets(html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in assets
    init = Client().get("/api/v1/docs?script=")
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert '"/api/v1/schema"' in init.content.decode()
    assert "<style" not in html


def test_only_the_redoc_page_allows_inline_styles():
    redoc, swagger = _policy(Client().get("/api/v1/redoc")), _policy(Client().get("/api/v1/docs"))
    assert redoc["style-src"] == ["'self'", "'unsafe-inline'"] and redoc["worker-src"] == ["'self'", "blob:"]
    assert swagger["style-src"] == ["'self'"] and "worker-src" not in swagger


def test_the_schema_behind_both_pages_answers():
    response = Client().get("/api/v1/schema")
    assert response.status_code == 200 and b"openapi" in response.content
