import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from apps.rankings import selectors, tasks
from apps.rankings.models import ProductSalesDaily
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import make_order
from tests.rankings.oracle import actual_daily, expected_daily

pytestmark = pytest.mark.django_db


def test_beat_runs_the_aggregation_every_interval():
    entry = settings.CELERY_BEAT_SCHEDULE["rankings-aggregate-sales"]
    assert entry == {"task": "apps.rankings.tasks.aggregate_sales", "schedule": settings.RANKINGS_INTERVAL_SECONDS}
    assert tasks.aggregate_sales.name == entry["task"]


def test_the_task_counts_new_sales_and_is_safe_to_repeat():
    product = ProductFactory(price=100)
    make_order(user=UserFactory(), lines=[(product, 2)], paid_at=timezone.now())
    assert tasks.aggregate_sales.apply().get() == {"ran": True, "orders_read": 1, "orders_changed": 1}
    assert tasks.aggregate_sales.apply().get() == {"ran": True, "orders_read": 1, "orders_changed": 0}
    assert actual_daily() == expected_daily() == {(selectors.local_today(), product.pk): (2, 200)}


def test_the_popular_block_renders_ranked_products():
    best, second = ProductFactory(name="Kettle", price=2500), ProductFactory(name="Teapot", price=1200)
    user = UserFactory()
    make_order(user=user, lines=[(best, 3), (second, 1)], paid_at=timezone.now())
    tasks.aggregate_sales.apply()
    html = render_to_string("rankings/_popular_block.html", {"popular": selectors.popular_products(days=3, limit=5), "days": 3})
    assert "Popular in the last 3 days" in html
    assert html.index("Kettle") < html.index("Teapot")
    assert f'href="/products/{best.slug}/"' in html
    assert "#1 · 3 sold" in html and "#2 · 1 sold" in html


def test_the_popular_block_says_so_when_nothing_sold():
    html = render_to_string("rankings/_popular_block.html", {"popular": [], "days": 3})
    assert "Nothing has sold in the last 3 days yet." in html


@pytest.fixture
def admin_client_with_sales():
    product, other = ProductFactory(name="Blue kettle"), ProductFactory(name="Red teapot")
    today = timezone.localdate()
    ProductSalesDaily.objects.create(day=today, product=product, units_sold=4, revenue=400)
    ProductSalesDaily.objects.create(day=today - timedelta(days=1), product=other, units_sold=2, revenue=300)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client, product, other, today


def test_admin_lists_daily_sales_filtered_by_day_product_and_name(admin_client_with_sales):
    client, product, other, today = admin_client_with_sales
    url = "/admin/rankings/productsalesdaily/"

    def listed(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return [row.product_id for row in response.context["cl"].result_list]

    assert sorted(listed()) == sorted([product.pk, other.pk])
    assert listed(day=str(today)) == [product.pk]
    assert listed(product__id__exact=other.pk) == [other.pk]
    assert listed(q="kettle") == [product.pk]
    assert listed(day__gte=str(today - timedelta(days=1)), day__lt=str(today)) == [other.pk]


def test_admin_cannot_add_change_or_delete_daily_sales(admin_client_with_sales):
    client, product, _, _ = admin_client_with_sales
    row = ProductSalesDaily.objects.get(product=product)
    assert client.get("/admin/rankings/productsalesdaily/add/").status_code == 403
    assert client.post(f"/admin/rankings/productsalesdaily/{row.pk}/change/", {"units_sold": 1}).status_code == 403
    assert client.post(f"/admin/rankings/productsalesdaily/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.units_sold == 4


def test_the_home_page_shows_the_top_five_of_the_last_three_days(client):
    user = UserFactory()
    products = [ProductFactory(name=f"Seller {units}", price=100) for units in range(1, 8)]
    for units, product in enumerate(products, start=1):
        make_order(user=user, lines=[(product, units)], paid_at=timezone.now())
    old = ProductFactory(name="Old favourite", price=100)
    make_order(user=user, lines=[(old, 50)], paid_at=timezone.now() - timedelta(days=3))
    tasks.aggregate_sales.apply()
    html = client.get("/").content.decode()
    block = html[html.index("Popular in the last 3 days") : html.index("</section>", html.index("Popular in the last 3 days"))]
    assert re.findall(r"#(\d) · (\d+) sold", block) == [("1", "7"), ("2", "6"), ("3", "5"), ("4", "4"), ("5", "3")]
    assert "Seller 7" in block and "Seller 2" not in block and "Old favourite" not in block
