"""The storefront's one look: header and menu, search wording, SEO tags, one money and one date format."""

import datetime
import json
import re
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from apps.cart.services import add_to_cart
from apps.catalog.forms import SEARCH_MAX_LENGTH
from apps.catalog.images import set_product_image
from apps.core.money import format_money
from tests.catalog.test_images import _photo
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context))


# --- Header -----------------------------------------------------------------------------------


def test_header_has_a_details_menu_for_phones_and_a_cart_icon_with_the_count(shopper_client):
    product = ProductFactory(stock=10)
    add_to_cart(user=shopper_client.user, product_id=product.pk, quantity=3)
    html = shopper_client.get("/").content.decode()
    menu = re.search(r'<details class="site-menu">(.*?)</details>', html, re.S).group(1)
    assert "<summary" in menu and 'href="/orders/"' in menu and "Log out" in menu
    cart = re.search(r'<a class="cart-link" href="/cart/" aria-label="([^"]+)">(.*?)</a>', html, re.S)
    assert cart.group(1) == "3 items in cart" and '<span class="badge" aria-hidden="true">3</span>' in cart.group(2)
    assert "<script" not in html.replace('<script type="application/ld+json">', ""), "every page works without JavaScript"


def test_header_for_a_visitor_offers_log_in_and_an_empty_cart(client):
    html = client.get("/").content.decode()
    assert 'aria-label="0 items in cart"' in html and 'class="badge"' not in html
    assert html.count('href="/accounts/login/"') == 2  # the wide-screen nav and the phone menu


# --- Search -----------------------------------------------------------------------------------


def test_search_keeps_its_query_and_says_results_for(client):
    ProductFactory(name="Quiet Kettle")
    html = client.get("/products/", {"q": "kettle"}).content.decode()
    assert "<h1>Results for “kettle”</h1>" in html
    assert re.search(r'<input id="site-search" type="search" name="q" value="kettle"', html)
    assert html.count('type="search"') == 1, "the list page has one search box: the header's"
    assert '<input type="hidden" name="q" value="kettle">' in html, "filters and sorting keep the query"


def test_a_search_over_the_limit_is_cut_and_explained_not_dropped(client):
    ProductFactory(name="Kettle")
    query = "kettle " + "x" * 150
    html = client.get("/products/", {"q": query}).content.decode()
    kept = query[:SEARCH_MAX_LENGTH]
    assert f"Searches can be up to {SEARCH_MAX_LENGTH} characters long, so we searched for the first {SEARCH_MAX_LENGTH}" in html
    assert f'value="{kept}"' in html and f"Results for “{kept}”" in html
    assert "No products found" in html


def test_list_heading_without_a_search_names_the_category_or_all_products(client):
    CategoryFactory(name="Audio", slug="audio")
    assert "<h1>Audio</h1>" in client.get("/products/", {"category": "audio"}).content.decode()
    assert "<h1>All products</h1>" in client.get("/products/").content.decode()


# --- SEO -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/products/", "/products/?category=audio&sort=price", "/products/lamp/", "/rankings/"])
def test_every_page_has_a_description_a_canonical_link_and_open_graph(client, path):
    CategoryFactory(name="Audio", slug="audio")
    ProductFactory(slug="lamp", name="Lamp", description="A warm light for long evenings.")
    html = client.get(path).content.decode()
    description = re.search(r'<meta name="description" content="([^"]+)">', html).group(1)
    assert 40 <= len(description) <= 200
    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', html).group(1)
    assert canonical.startswith("http://testserver/") and "sort=" not in canonical
    assert '<meta property="og:title"' in html and '<meta property="og:url"' in html


def test_canonical_link_keeps_the_category_and_drops_sort_and_search(client):
    CategoryFactory(slug="audio")
    html = client.get("/products/", {"category": "audio", "sort": "price", "q": "x"}).content.decode()
    assert '<link rel="canonical" href="http://testserver/products/?category=audio">' in html


def test_product_page_has_schema_org_product_json_ld_and_open_graph_image(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    product = ProductFactory(name="Lamp </script><b>", slug="lamp", price=4999, stock=3, sku="LMP-1", description="Warm.")
    set_product_image(product_id=product.pk, upload=_photo())
    html = client.get("/products/lamp/").content.decode()
    block = re.search(JSON_LD, html).group(1)
    assert "</script>" not in block and "<b>" not in block
    data = json.loads(block)
    assert data["@type"] == "Product" and data["name"] == "Lamp </script><b>" and data["sku"] == "LMP-1"
    assert data["offers"] == {
        "@type": "Offer",
        "url": "http://testserver/products/lamp/",
        "price": "49.99",
        "priceCurrency": "USD",
        "availability": "https://schema.org/InStock",
        "itemCondition": "https://schema.org/NewCondition",
    }
    assert data["image"][0].startswith("http://testserver/media/products/renditions/") and data["image"][0].endswith("-800.webp")
    assert f'<meta property="og:image" content="{data["image"][0]}">' in html
    assert '<meta property="og:type" content="product">' in html


def test_sold_out_product_is_out_of_stock_in_structured_data(client):
    ProductFactory(slug="gone", stock=0)
    block = re.search(JSON_LD, client.get("/products/gone/").content.decode()).group(1)
    assert json.loads(block)["offers"]["availability"] == "https://schema.org/OutOfStock"


# --- Money and dates ---------------------------------------------------------------------------


def test_money_has_one_format_with_a_real_minus_sign():
    assert format_money(-500) == "\u2212$5.00" and format_money(123456) == "$1,234.56" and format_money(0) == "$0.00"
    assert _render("{% load money %}{{ a|money }} {{ b|minus_money }} {{ 0|minus_money }}", a=-1250, b=300) == "\u2212$12.50 \u2212$3.00 $0.00"


def test_dates_have_one_format_in_the_shops_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    moment = datetime.datetime(2026, 1, 5, 3, 7, tzinfo=datetime.UTC)
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        html = _render("{% load dates %}{{ m|when }} | {{ m|day }} | {{ d|day }} | {{ none|when }}", m=moment, d=datetime.date(2026, 3, 9), none=None)
    assert html == (
        '<time datetime="2026-01-04T22:07:00-05:00">Jan 4, 2026, 22:07</time> | '
        '<time datetime="2026-01-04">Jan 4, 2026</time> | <time datetime="2026-03-09">Mar 9, 2026</time> | '
    )
