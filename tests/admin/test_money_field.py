"""The admin's one money field: major units in ("19.99", "1,000.50"), integer minor units stored,
the currency shown, fractions of a cent refused with words staff understand."""

import pytest
from django import forms

from apps.catalog.models import Product
from apps.core.admin_widgets import MoneyField, MoneyInput, parse_major_units
from apps.coupons.models import Coupon
from apps.wallets.models import WalletTransaction
from tests.factories import CategoryFactory, CouponFactory, ProductFactory, UserFactory
from tests.pages import messages_of


@pytest.mark.parametrize(
    ("typed", "minor"),
    [("19.99", 1999), ("19", 1900), ("1,000.50", 100050), ("0.29", 29), ("19.9", 1990), ("$19.99", 1999),
     ("19.99 USD", 1999), (" 7.5 ", 750), ("-12.50", -1250), ("\u221212.50", -1250), ("1,234,567.89", 123456789), ("12.", 1200)],
)
def test_major_units_become_minor_units(typed, minor):
    assert parse_major_units(typed, "USD") == minor


@pytest.mark.parametrize("typed", ["12.345", "0.001", "1,000.505"])
def test_fractions_of_a_cent_are_refused_with_a_clear_message(typed):
    with pytest.raises(forms.ValidationError) as caught:
        parse_major_units(typed, "USD")
    assert caught.value.messages == ["Enter at most 2 decimal places: USD has cents, not fractions of a cent (e.g. 12.35)."]


@pytest.mark.parametrize("typed", ["abc", "1,00", "10,00.5", "1.2.3", "--5", "12 34", "$", "1e3"])
def test_text_that_is_not_an_amount_is_refused(typed):
    with pytest.raises(forms.ValidationError) as caught:
        parse_major_units(typed, "USD")
    assert caught.value.messages == ["Enter an amount in USD, like 19.99 or 1,000.50."]


def test_the_widget_shows_major_units_and_the_currency():
    html = MoneyInput(currency="USD").render("price", 1999)
    assert 'value="19.99"' in html and 'inputmode="decimal"' in html
    assert html.endswith('<span class="money-currency">USD</span>')
    assert 'value="0.05"' in MoneyInput().render("price", 5)
    assert 'value="1,000.5"' in MoneyInput().render("price", "1,000.5"), "what staff typed is shown back as typed"


def test_limits_are_stated_as_money():
    field = MoneyField(min_value=1, max_value=100_000)
    with pytest.raises(forms.ValidationError) as low:
        field.clean("0")
    with pytest.raises(forms.ValidationError) as high:
        field.clean("1,000.01")
    assert low.value.messages == ["Enter at least $0.01."] and high.value.messages == ["Enter at most $1,000.00."]
    assert field.clean("1,000") == 100_000


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _product_form(**overrides):
    return {"sku": "ADM-9", "name": "Desk Lamp", "slug": "desk-lamp", "category": CategoryFactory().pk, "price": "19.99",
            "stock": 5, "description": "", "is_active": "on", **overrides}


def test_entering_19_99_creates_a_19_99_product(admin_client):
    page = admin_client.get("/admin/catalog/product/add/").content.decode()
    assert '<span class="money-currency">USD</span>' in page and "In USD, e.g. 19.99." in page

    response = admin_client.post("/admin/catalog/product/add/", _product_form())

    assert response.status_code == 302
    assert Product.objects.get(sku="ADM-9").price == 1999
    listing = admin_client.get("/admin/catalog/product/").content.decode()
    assert "$19.99" in listing


@pytest.mark.parametrize(("typed", "price"), [("20", 2000), ("1,000.50", 100050)])
def test_whole_and_grouped_prices_are_major_units(admin_client, typed, price):
    assert admin_client.post("/admin/catalog/product/add/", _product_form(price=typed)).status_code == 302
    assert Product.objects.get(sku="ADM-9").price == price


def test_a_price_with_three_decimals_is_refused_and_kept_for_correction(admin_client):
    response = admin_client.post("/admin/catalog/product/add/", _product_form(price="12.345"))

    html = response.content.decode()
    assert response.status_code == 200 and not Product.objects.exists()
    assert "Enter at most 2 decimal places: USD has cents, not fractions of a cent (e.g. 12.35)." in html
    assert 'value="12.345"' in html


def test_the_product_page_shows_the_stored_price_in_major_units(admin_client):
    product = ProductFactory(price=250050)
    html = admin_client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert 'name="price" value="2500.50"' in html


def _coupon_form(**overrides):
    return {"name": "Spring", "discount_type": "fixed", "discount_value": "5", "min_order_amount": "0", "total_quantity": 5,
            "valid_days": 30, **overrides}


def test_a_fixed_coupon_takes_money_and_a_percent_coupon_a_percentage(admin_client):
    page = admin_client.get("/admin/coupons/coupon/add/").content.decode()
    assert "the percentage off, a whole number from 1 to 100" in page and "the amount off in USD" in page
    assert "% or USD" in page and "admin/js/coupon_discount.js" in page

    assert admin_client.post("/admin/coupons/coupon/add/", _coupon_form(min_order_amount="1,000")).status_code == 302
    assert admin_client.post(
        "/admin/coupons/coupon/add/", _coupon_form(name="Tenth", discount_type="percent", discount_value="10%", max_discount="7.50")
    ).status_code == 302

    fixed, percent = Coupon.objects.get(name="Spring"), Coupon.objects.get(name="Tenth")
    assert (fixed.discount_value, fixed.min_order_amount, fixed.max_discount) == (500, 100000, None)
    assert (percent.discount_value, percent.max_discount) == (10, 750)
    listing = admin_client.get("/admin/coupons/coupon/").content.decode()
    assert "$5.00 off" in listing and "10% off" in listing and "$1,000.00" in listing
    detail = admin_client.get(f"/admin/coupons/coupon/{percent.pk}/change/").content.decode()
    assert "10% off" in detail and "$7.50" in detail


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"discount_value": "12.345"}, "Enter at most 2 decimal places"),
        ({"discount_value": "0"}, "A fixed discount must be from $0.01 to $21,474,836.47."),
        ({"discount_type": "percent", "discount_value": "12.5"}, "Enter the percentage off as a whole number from 1 to 100 (15 means 15% off)."),
        ({"discount_type": "percent", "discount_value": "150"}, "A percent discount must be between 1 and 100."),
        ({"discount_type": "", "discount_value": "5"}, "Choose the discount type first."),
        ({"min_order_amount": "-1"}, "Enter at least $0.00."),
        ({"max_discount": "0"}, "Enter at least $0.01."),
    ],
)
def test_coupon_terms_are_refused_in_words(admin_client, overrides, message):
    response = admin_client.post("/admin/coupons/coupon/add/", _coupon_form(**overrides))
    assert response.status_code == 200 and message in response.content.decode()
    assert not Coupon.objects.exists()


def test_the_fixed_coupon_from_the_factory_reads_as_money(admin_client):
    coupon = CouponFactory(discount_value=500, min_order_amount=2500, max_discount=None)
    detail = admin_client.get(f"/admin/coupons/coupon/{coupon.pk}/change/").content.decode()
    assert "$5.00 off" in detail and "$25.00" in detail and "No limit" in detail


def test_the_wallet_adjustment_uses_the_same_field(admin_client):
    shopper = UserFactory()
    from apps.wallets.models import Wallet

    wallet = Wallet.objects.get_or_create(user=shopper)[0]
    url = f"/admin/wallets/wallet/{wallet.pk}/adjust/"
    assert '<span class="money-currency">USD</span>' in admin_client.get(url).content.decode()

    response = admin_client.post(url, {"amount": "1,000.50", "note": "goodwill"}, follow=True)

    assert any("Adjusted by $1,000.50" in text for text in messages_of(response))
    assert WalletTransaction.objects.get(wallet=wallet).amount == 100050
    refused = admin_client.post(url, {"amount": "12.345", "note": "x"}).content.decode()
    assert "Enter at most 2 decimal places" in refused
