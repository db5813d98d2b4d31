import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.catalog.models import Category, Product
from apps.coupons.models import Coupon
from apps.devtools.management.commands import seed_demo
from apps.wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_loads_a_real_looking_catalog_and_two_users():
    output = _seed()
    assert Category.objects.count() == 6
    assert Product.objects.count() >= 40
    assert Product.objects.filter(stock=0).exists() and Product.objects.filter(stock__lte=5, stock__gt=0).exists()
    assert len(set(Product.objects.values_list("price", flat=True))) > 20
    assert not Product.objects.filter(category=None).exists()
    users = get_user_model().objects
    staff, shopper = users.get(email=seed_demo.STAFF_EMAIL), users.get(email=seed_demo.SHOPPER_EMAIL)
    assert staff.is_staff and staff.is_superuser and staff.check_password(seed_demo.STAFF_PASSWORD)
    assert not shopper.is_staff and shopper.check_password(seed_demo.SHOPPER_PASSWORD)
    assert f"{seed_demo.STAFF_EMAIL} / {seed_demo.STAFF_PASSWORD}" in output
    assert f"{seed_demo.SHOPPER_EMAIL} / {seed_demo.SHOPPER_PASSWORD}" in output


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Category, Product, get_user_model(), Coupon, WalletTransaction))


def test_seed_demo_twice_adds_nothing_and_keeps_changes():
    _seed()
    product = Product.objects.get(sku="AUD-001")
    Product.objects.filter(pk=product.pk).update(stock=1, price=1)
    counts = _counts()
    output = _seed()
    assert _counts() == counts
    product.refresh_from_db()
    assert (product.stock, product.price) == (1, 1)
    assert "(0 categories and 0 products added now)" in output


def test_seeded_products_show_up_in_the_api(api_client):
    _seed()
    assert api_client.get("/api/v1/products").json()["count"] == Product.objects.count()


def test_seed_demo_funds_the_shopper_once_and_opens_campaigns():
    _seed()
    _seed()
    shopper_wallet = Wallet.objects.get(user__email=seed_demo.SHOPPER_EMAIL)
    assert shopper_wallet.balance == seed_demo.SHOPPER_STARTING_BALANCE
    assert list(shopper_wallet.transactions.values_list("kind", "amount")) == [("charge", seed_demo.SHOPPER_STARTING_BALANCE)]
    assert sorted(Coupon.objects.values_list("name", flat=True)) == sorted(name for name, *_ in seed_demo.CAMPAIGNS)
