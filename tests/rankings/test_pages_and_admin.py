"""The /rankings/ page, the popular block on the home page and the read-only admin of the three tables."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.rankings import selectors
from apps.rankings.models import ProductSalesDaily, ProductSalesMonthly, ProductSalesWeekly
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales():
    kettle, teapot, old = ProductFactory(name="Kettle", price=2500), ProductFactory(name="Teapot", price=1200), ProductFactory(name="Old mug")
    user = UserFactory()
    make_order(user=user, lines=[(kettle, 3), (teapot, 1)], paid_at=timezone.now())
    make_order(user=user, lines=[(old, 9)], paid_at=timezone.now() - timedelta(days=40))
    return kettle, teapot, old


def test_the_rankings_page_shows_today_with_tabs_for_the_week_and_the_month(client, sales):
    kettle, teapot, old = sales
    html = client.get("/rankings/").content.decode()
    assert '<a href="/rankings/?period=day" class="active" aria-current="page">Today</a>' in html
    assert 'href="/rankings/?period=week"' in html and 'href="/rankings/?period=month"' in html
    assert html.index("Kettle") < html.index("Teapot") and "Old mug" not in html
    assert "#1 · 3 sold" in html and "#2 · 1 sold" in html
    assert f'href="{kettle.get_absolute_url()}"' in html
    assert 'href="/rankings/">Best sellers</a>' in html  # the navigation


def test_the_rankings_page_week_tab_and_an_unknown_period(client, sales):
    html = client.get("/rankings/", {"period": "week"}).content.decode()
    assert 'class="active" aria-current="page">This week</a>' in html
    start, end = selectors.period_bounds("week", selectors.local_today())
    assert client.get("/rankings/", {"period": "century"}).context["ranking"].period == "day"
    assert client.get("/rankings/", {"period": "month"}).context["ranking"].start == selectors.local_today().replace(day=1)
    assert (start, end) == (client.get("/rankings/", {"period": "week"}).context["ranking"].start, end)


def test_the_rankings_page_says_so_when_nothing_sold(client):
    assert "Nothing has sold this month yet." in client.get("/rankings/", {"period": "month"}).content.decode()


def test_the_home_page_shows_the_popular_block(client, sales):
    html = client.get("/").content.decode()
    block = html[html.index('<section class="popular"') :]
    assert block.index("Kettle") < block.index("Teapot") and "#1 · 3 sold" in block


@pytest.mark.parametrize(
    ("model", "path", "column"),
    [
        (ProductSalesDaily, "productsalesdaily", "day"),
        (ProductSalesWeekly, "productsalesweekly", "week"),
        (ProductSalesMonthly, "productsalesmonthly", "month"),
    ],
)
def test_admin_lists_each_table_filtered_by_period_and_product_read_only(admin_client, sales, model, path, column):
    kettle, teapot, old = sales
    url = f"/admin/rankings/{path}/"
    current = selectors.period_bounds(column, selectors.local_today())[0]

    def listed(**params):
        response = admin_client.get(url, params)
        assert response.status_code == 200
        return sorted(row.product_id for row in response.context["cl"].result_list)

    assert listed() == sorted([kettle.pk, teapot.pk, old.pk])
    assert listed(**{column: current.isoformat()}) == sorted([kettle.pk, teapot.pk])
    assert listed(product__id__exact=old.pk) == [old.pk]
    assert listed(q="kettle") == [kettle.pk]
    row = model.objects.get(product=kettle)
    assert admin_client.get(f"{url}add/").status_code == 403
    assert admin_client.post(f"{url}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"{url}{row.pk}/change/", {"units_sold": 1})
    row.refresh_from_db()
    assert row.units_sold == 3
