import pytest

from apps.catalog import services
from apps.catalog.models import Category, Product
from apps.core.errors import NotFound, OutOfStock, ValidationError
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_create_product_makes_a_slug_from_the_name():
    product = services.create_product(sku="A-1", name="  Café Crème Set ", price=1000, stock=3)
    assert (product.name, product.slug, product.stock, product.is_active) == ("Café Crème Set", "cafe-creme-set", 3, True)


def test_create_product_duplicate_slug_given_explicitly():
    ProductFactory(slug="taken")
    with pytest.raises(ValidationError) as exc:
        services.create_product(sku="A-2", name="Other", slug="taken", price=1)
    assert "slug" in exc.value.details
    assert Product.objects.count() == 1


@pytest.mark.parametrize("price", [-1, 2_147_483_648, True, "10"])
def test_create_product_refuses_bad_prices(price):
    with pytest.raises(ValidationError):
        services.create_product(sku="A-3", name="X", price=price)
    assert not Product.objects.exists()


def test_update_product_changes_only_what_is_given():
    category = CategoryFactory()
    product = ProductFactory(name="Keep", price=100, description="keep", stock=9, category=category)
    services.update_product(product_id=product.pk, price=200)
    product.refresh_from_db()
    assert (product.name, product.price, product.description, product.stock, product.category_id) == ("Keep", 200, "keep", 9, category.pk)
    services.update_product(product_id=product.pk, category_id=None)
    product.refresh_from_db()
    assert product.category_id is None


def test_update_product_unknown_category():
    product = ProductFactory()
    with pytest.raises(ValidationError):
        services.update_product(product_id=product.pk, category_id=987654)


def test_adjust_stock_unknown_product():
    with pytest.raises(NotFound):
        services.adjust_stock(product_id=987654, delta=1, reason="x")


def test_adjust_stock_requires_a_reason_and_a_non_zero_delta():
    product = ProductFactory(stock=1)
    with pytest.raises(ValidationError):
        services.adjust_stock(product_id=product.pk, delta=1, reason="  ")
    with pytest.raises(ValidationError):
        services.adjust_stock(product_id=product.pk, delta=0, reason="x")
    product.refresh_from_db()
    assert product.stock == 1


def test_adjust_stock_out_of_stock_details():
    product = ProductFactory(stock=1)
    with pytest.raises(OutOfStock) as exc:
        services.adjust_stock(product_id=product.pk, delta=-2, reason="x")
    assert exc.value.details == {"product_id": product.pk, "requested": 2, "available": 1}


def test_categories_create_update_delete():
    category = services.create_category(name="Audio", slug="audio")
    with pytest.raises(ValidationError):
        services.create_category(name="Audio again", slug="audio")
    product = ProductFactory(category=category)
    services.update_category(category_id=category.pk, name="Sound", slug="sound")
    assert Category.objects.get().slug == "sound"
    services.delete_category(category_id=category.pk)
    product.refresh_from_db()
    assert product.category_id is None
    with pytest.raises(NotFound):
        services.delete_category(category_id=category.pk)
