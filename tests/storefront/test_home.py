"""The home page (apps.storefront) brings catalog and rankings together; catalog imports neither it nor rankings."""

import pytest
from django.utils import timezone

from apps.catalog.filters import register_storefront_ordering, storefront_ordering_choices
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import make_order

pytestmark = pytest.mark.django_db


def test_home_shows_the_best_sellers_of_the_last_three_days_ranked(client):
    best, second = ProductFactory(name="Kettle", price=2500), ProductFactory(name="Teapot", price=1200)
    make_order(user=UserFactory(), lines=[(best, 3), (second, 1)], paid_at=timezone.now())

    html = client.get("/").content.decode()

    popular = html[html.index('<section class="popular"') : html.index("</section>", html.index('<section class="popular"'))]
    assert "Popular in the last 3 days" in popular
    assert popular.index("Kettle") < popular.index("Teapot")
    assert "#1 · 3 sold" in popular and "#2 · 1 sold" in popular


def test_rankings_provides_the_popular_sort_to_the_product_list():
    assert storefront_ordering_choices()[-1] == ("popular", "Most popular")
    assert [value for value, _ in storefront_ordering_choices()] == ["newest", "price", "-price", "name", "-name", "popular"]


def test_a_sort_cannot_take_the_name_of_one_of_api_md_orderings():
    with pytest.raises(ValueError):
        register_storefront_ordering("price", label="Cheapest", order=lambda queryset: queryset)
