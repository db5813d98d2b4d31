import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import Client

from apps.catalog.models import Category, Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    user = get_user_model().objects.create_superuser(email="admin@example.com", password="admin-pass-123")
    client = Client()
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_changelist_with_search_filters_and_stock(admin):
    audio = CategoryFactory(name="Audio")
    ProductFactory(name="Wireless Earbuds", sku="AUD-1", stock=37, category=audio)
    ProductFactory(name="Kettle", sku="HOM-1")
    response = admin.get("/admin/catalog/product/?q=earbuds")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Wireless Earbuds" in html and "Kettle" not in html
    assert '<td class="field-stock">37</td>' in html
    assert "$19.99" in html
    response = admin.get(f"/admin/catalog/product/?category__id__exact={audio.pk}&is_active__exact=1")
    assert "Wireless Earbuds" in response.content.decode() and "Kettle" not in response.content.decode()


def test_add_product_prepopulates_the_slug_and_goes_through_the_service(admin, django_capture_on_commit_callbacks):
    category = CategoryFactory()
    page = admin.get("/admin/catalog/product/add/").content.decode()
    assert "prepopulated" in page
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin.post(
            "/admin/catalog/product/add/",
            {"sku": "ADM-1", "name": "Desk Lamp", "slug": "desk-lamp", "category": category.pk, "price": "49.99", "stock": 5,
             "description": "", "image_url": "", "is_active": "on"},
        )
    assert response.status_code == 302
    product = Product.objects.get(sku="ADM-1")
    assert (product.slug, product.price, product.stock) == ("desk-lamp", 4999, 5)
    assert callbacks, "the cache is invalidated on commit"


def test_change_product_keeps_stock_read_only(admin):
    product = ProductFactory(name="Lamp", price=100, stock=8)
    page = admin.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert 'name="stock"' not in page and 'name="sku"' not in page
    response = admin.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {"name": "Lamp Pro", "slug": product.slug, "category": "", "price": "1.50", "stock": 999, "description": "",
         "image_url": "", "is_active": "on"},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.price, product.stock, product.category_id) == ("Lamp Pro", 150, 8, None)


def test_products_cannot_be_deleted_only_deactivated(admin):
    product = ProductFactory()
    assert admin.get(f"/admin/catalog/product/{product.pk}/delete/").status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()


def test_adjust_stock_action_shows_a_form_then_applies_it(admin):
    first, second = ProductFactory(stock=5), ProductFactory(stock=1)
    selected = {"action": "adjust_stock", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}
    page = admin.post("/admin/catalog/product/", selected)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="delta"' in html and 'name="reason"' in html and 'name="apply"' in html
    response = admin.post("/admin/catalog/product/", {**selected, "apply": "1", "delta": "4", "reason": "delivery"}, follow=True)
    assert any("Stock adjusted by +4 for 2 product(s)." in m for m in _messages(response))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stock, second.stock) == (9, 5)


def test_adjust_stock_action_reports_the_products_it_could_not_change(admin):
    enough, short = ProductFactory(name="Enough", stock=5), ProductFactory(name="Short", stock=1)
    data = {"action": "adjust_stock", ACTION_CHECKBOX_NAME: [enough.pk, short.pk], "apply": "1", "delta": "-2", "reason": "damaged"}
    response = admin.post("/admin/catalog/product/", data, follow=True)
    messages = _messages(response)
    assert any(m.startswith("Short: Only 1 in stock") and "not changed" in m for m in messages)
    assert any("for 1 product(s)" in m for m in messages)
    enough.refresh_from_db()
    short.refresh_from_db()
    assert (enough.stock, short.stock) == (3, 1)


def test_adjust_stock_action_with_a_bad_form_shows_the_errors(admin):
    product = ProductFactory(stock=5)
    data = {"action": "adjust_stock", ACTION_CHECKBOX_NAME: [product.pk], "apply": "1", "delta": "0", "reason": ""}
    response = admin.post("/admin/catalog/product/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Must not be 0." in html and "This field is required." in html
    product.refresh_from_db()
    assert product.stock == 5


def test_category_admin(admin):
    response = admin.post("/admin/catalog/category/add/", {"name": "Garden", "slug": "garden"})
    assert response.status_code == 302
    category = Category.objects.get(slug="garden")
    ProductFactory(category=category)
    assert "Garden" in admin.get("/admin/catalog/category/").content.decode()
    admin.post(f"/admin/catalog/category/{category.pk}/change/", {"name": "Garden & Patio", "slug": "garden"})
    assert Category.objects.get().name == "Garden & Patio"
    response = admin.post(f"/admin/catalog/category/{category.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Category.objects.exists()
    assert Product.objects.get().category_id is None
