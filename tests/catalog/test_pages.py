import re

import pytest

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _names(response) -> list[str]:
    return re.findall(r'<h3><a href="/products/[^"]+/">([^<]+)</a></h3>', response.content.decode())


# --- Home ------------------------------------------------------------------------------------


def test_home_shows_categories_and_newest_products(client):
    audio = CategoryFactory(name="Audio", slug="audio")
    ProductFactory.create_batch(9, category=audio)
    newest = ProductFactory(name="Brand New Thing", price=1250, category=audio)
    ProductFactory(name="Hidden Thing", is_active=False)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/products/?category=audio"' in html
    names = _names(response)
    assert names[0] == "Brand New Thing" and len(names) == 8
    assert "Hidden Thing" not in html
    assert "$12.50" in html
    assert f'href="/products/{newest.slug}/"' in html


def test_home_without_products(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No products yet" in response.content.decode()


def test_home_is_named_home(client):
    from django.urls import reverse

    assert reverse("home") == "/"


# --- List ------------------------------------------------------------------------------------


def test_list_shows_active_products_with_a_search_form(client):
    ProductFactory(name="Kettle")
    ProductFactory(name="Old Kettle", is_active=False)
    response = client.get("/products/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(response) == ["Kettle"]
    assert 'name="q"' in html and 'name="category"' in html and 'name="sort"' in html


def test_list_search_category_and_sort(client):
    audio, books = CategoryFactory(name="Audio", slug="audio"), CategoryFactory(name="Books", slug="books")
    ProductFactory(name="Quiet Headphones", price=900, category=audio)
    ProductFactory(name="Loud Headphones", price=500, category=audio)
    ProductFactory(name="Headphones Handbook", price=300, category=books)
    response = client.get("/products/?q=headphones&category=audio&sort=price")
    assert _names(response) == ["Loud Headphones", "Quiet Headphones"]
    html = response.content.decode()
    assert '<option value="audio" selected>' in html
    assert '<option value="price" selected>' in html
    assert 'value="headphones"' in html
    assert _names(client.get("/products/?sort=-price")) == ["Quiet Headphones", "Loud Headphones", "Headphones Handbook"]
    assert _names(client.get("/products/?sort=name")) == ["Headphones Handbook", "Loud Headphones", "Quiet Headphones"]
    assert _names(client.get("/products/?sort=-name")) == ["Quiet Headphones", "Loud Headphones", "Headphones Handbook"]
    assert _names(client.get("/products/?sort=newest"))[0] == "Headphones Handbook"


def test_list_pagination_keeps_the_other_parameters(client):
    audio = CategoryFactory(slug="audio")
    for number in range(30):
        ProductFactory(name=f"Speaker {number:02d}", category=audio)
    ProductFactory(name="Speaker elsewhere")
    first = client.get("/products/?category=audio&q=speaker&sort=name")
    assert len(_names(first)) == 24
    html = first.content.decode()
    assert "Page 1 of 2" in html
    next_link = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert next_link.startswith("?") and "category=audio" in next_link and "q=speaker" in next_link and "sort=name" in next_link
    assert "page=2" in next_link
    second = client.get("/products/" + next_link)
    assert _names(second) == [f"Speaker {n:02d}" for n in range(24, 30)]
    previous_link = re.search(r'rel="prev" href="([^"]+)"', second.content.decode()).group(1).replace("&amp;", "&")
    assert "page=1" in previous_link and "category=audio" in previous_link


@pytest.mark.parametrize("query", ["page=abc", "page=0", "page=-3", "sort=bogus", "category=no%20such", "q=" + "x" * 300, "page=99999999999999999999999"])
def test_list_bad_parameters_never_break_the_page(client, query):
    ProductFactory.create_batch(3)
    response = client.get(f"/products/?{query}")
    assert response.status_code == 200


def test_list_page_past_the_end_shows_the_last_page(client):
    for number in range(26):
        ProductFactory(name=f"Item {number:02d}")
    response = client.get("/products/?page=9&sort=name")
    assert response.status_code == 200
    assert "Page 2 of 2" in response.content.decode()
    assert _names(response) == ["Item 24", "Item 25"]


def test_list_unknown_category_says_so(client):
    ProductFactory()
    response = client.get("/products/?category=nothing")
    html = response.content.decode()
    assert "We don't have that category" in html
    assert "No products found" in html


def test_list_with_no_match(client):
    ProductFactory(name="Kettle")
    html = client.get("/products/?q=zebra").content.decode()
    assert "No products found for “zebra”" in html


# --- Detail ----------------------------------------------------------------------------------


def test_detail_shows_the_product_and_an_add_to_cart_form(client):
    product = ProductFactory(name="Chef's Knife", slug="chefs-knife", price=5900, stock=4, description="Sharp.")
    response = client.get("/products/chefs-knife/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chef&#x27;s Knife" in html and "$59.00" in html and "Only 4 left" in html and "Sharp." in html
    form = re.search(r'<form class="buy" action="/cart/add/" method="post">(.*?)</form>', html, re.S).group(1)
    assert f'name="product_id" value="{product.pk}"' in form
    assert 'name="quantity"' in form and 'max="4"' in form
    assert "csrfmiddlewaretoken" in form


def test_detail_of_a_sold_out_product_has_no_form(client):
    ProductFactory(slug="gone", stock=0)
    html = client.get("/products/gone/").content.decode()
    assert "Sold out" in html and 'action="/cart/add/"' not in html


@pytest.mark.parametrize("slug", ["inactive-one", "no-such-product", "x" * 500])
def test_detail_of_an_inactive_or_unknown_product_is_a_styled_404(client, slug):
    ProductFactory(slug="inactive-one", is_active=False)
    response = client.get(f"/products/{slug}/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_detail_url_comes_from_the_model(client):
    product = ProductFactory(slug="a-slug")
    assert product.get_absolute_url() == "/products/a-slug/"
