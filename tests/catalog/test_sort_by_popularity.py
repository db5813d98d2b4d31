import pytest

from apps.rankings.models import ProductSalesDaily
from apps.rankings.selectors import local_today
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_storefront_list_sorts_by_units_sold_then_revenue_with_unsold_last(client):
    unsold = ProductFactory(name="Unsold Umbrella")
    steady = ProductFactory(name="Steady Seller")
    hit = ProductFactory(name="Big Hit")
    pricier_tie = ProductFactory(name="Pricier Tie")
    today = local_today()
    ProductSalesDaily.objects.create(day=today, product=steady, units_sold=5, revenue=500)
    ProductSalesDaily.objects.create(day=today, product=hit, units_sold=9, revenue=900)
    ProductSalesDaily.objects.create(day=today, product=pricier_tie, units_sold=5, revenue=2_000)

    response = client.get("/products/", {"sort": "popular"})

    assert response.status_code == 200
    names = [product.name for product in response.context["page"].products]
    assert names == ["Big Hit", "Pricier Tie", "Steady Seller", "Unsold Umbrella"]
    assert unsold.name in response.content.decode()
    assert '<option value="popular" selected>Most popular</option>' in response.content.decode()


def test_the_api_ordering_keeps_the_documented_values(api_client):
    response = api_client.get("/api/v1/products", {"ordering": "popular"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "ordering" in response.json()["error"]["details"]
