"""No admin page of the shop's models shows money as raw minor units.

Every registered model of apps.* gets rows whose money fields hold distinctive amounts (seven digits,
so "$31,415.92" can never contain "3141592"); every list, change and add page, and the order and
wallet pages staff act from, are fetched, and each amount must not appear as a plain number. JSON
bodies shown verbatim (outbox payloads, received events) are the wire format and are skipped.
"""

import re
import uuid
from datetime import date, timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils import timezone

from apps.coupons.models import Coupon, UserCoupon
from apps.orders.admin import OrderAdmin
from apps.orders.models import Order, OrderItem
from apps.outbox.models import ConsumedEvent, ConsumerPosition, OutboxEvent
from apps.payments.models import Payment
from apps.rankings.models import ProductSalesDaily, ProductSalesMonthly, ProductSalesWeekly
from apps.wallets.models import Wallet, WalletTransaction
from tests.factories import CouponFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

# "app_label.Model": the integer fields that hold money (minor units).
MONEY_FIELDS = {
    "catalog.Product": ["price"],
    "coupons.Coupon": ["discount_value", "max_discount", "min_order_amount"],  # discount_value: fixed coupons
    "orders.Order": ["subtotal", "discount", "total"],
    "orders.OrderItem": ["unit_price", "line_total"],
    "payments.Payment": ["amount"],
    "wallets.Wallet": ["balance"],
    "wallets.WalletTransaction": ["amount", "balance_after"],
    "rankings.ProductSalesDaily": ["revenue"],
    "rankings.ProductSalesWeekly": ["revenue"],
    "rankings.ProductSalesMonthly": ["revenue"],
}
# Integer fields whose names sound like money but count something else.
NOT_MONEY = {"coupons.Coupon.total_quantity"}
MONEY_WORDS = re.compile(r"price|amount|total|discount|balance|revenue|cost|fee|refund")
VERBATIM_JSON = re.compile(r"<pre>.*?</pre>", re.DOTALL)


def _shop_models() -> list[type[models.Model]]:
    return [model for model in django_apps.get_models() if model._meta.app_config.name.startswith("apps.")]


def _label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def test_every_money_looking_integer_field_is_listed_as_money_or_not():
    """A new money column must join MONEY_FIELDS (and so the walk below) or be declared not money."""
    unlisted = [
        f"{_label(model)}.{field.name}"
        for model in _shop_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.IntegerField) and MONEY_WORDS.search(field.name)
        and field.name not in MONEY_FIELDS.get(_label(model), []) and f"{_label(model)}.{field.name}" not in NOT_MONEY
    ]
    assert unlisted == []


class Amounts:
    """Distinct seven-digit amounts, one per money field of each row."""

    def __init__(self):
        self._next = 3141592
        self.issued: list[int] = []

    def __call__(self) -> int:
        self._next += 1013
        self.issued.append(self._next)
        return self._next


@pytest.fixture
def shop(db):
    """At least one row of every model the admin shows, money fields holding distinctive amounts."""
    amount = Amounts()
    shopper = UserFactory(email="walker@example.com")
    product = ProductFactory(price=amount())
    fixed = CouponFactory(discount_type="fixed", discount_value=amount(), min_order_amount=amount())
    CouponFactory(discount_type="percent", discount_value=15, max_discount=amount(), min_order_amount=amount())
    user_coupon = UserCoupon.objects.create(user=shopper, coupon=fixed, expires_at=timezone.now() + timedelta(days=30))
    discount, total, subtotal = amount(), amount(), amount()  # discount within the subtotal
    wallet_order = Order.objects.create(user=shopper, status=Order.Status.PAID, payment_method=Order.PaymentMethod.WALLET,
                                        subtotal=subtotal, discount=discount, total=total, user_coupon=user_coupon, paid_at=timezone.now())
    card_order = Order.objects.create(user=shopper, status=Order.Status.CANCELLED, payment_method=Order.PaymentMethod.CARD,
                                      subtotal=amount(), total=amount(), cancelled_at=timezone.now())
    for order in (wallet_order, card_order):
        OrderItem.objects.create(order=order, product=product, product_name=product.name, unit_price=amount(), quantity=2, line_total=amount())
    Payment.objects.create(order=card_order, method=Payment.Method.CARD, amount=amount(), status=Payment.Status.REFUND_PENDING,
                           transaction_key="tx-walker", card_brand="visa", card_last4="4242")
    wallet = Wallet.objects.update_or_create(user=shopper, defaults={"balance": amount()})[0]
    charge, adjustment = WalletTransaction.Kind.CHARGE, WalletTransaction.Kind.ADJUSTMENT
    WalletTransaction.objects.create(wallet=wallet, kind=charge, amount=amount(), balance_after=amount(), order=wallet_order, note="walk")
    WalletTransaction.objects.create(wallet=wallet, kind=adjustment, amount=-amount(), balance_after=amount(), note="minus")
    today = date.today()
    ProductSalesDaily.objects.create(product=product, day=today, units_sold=3, revenue=amount())
    ProductSalesWeekly.objects.create(product=product, week=today - timedelta(days=today.weekday()), units_sold=3, revenue=amount())
    ProductSalesMonthly.objects.create(product=product, month=today.replace(day=1), units_sold=3, revenue=amount())
    event = OutboxEvent.objects.create(type="order.paid", aggregate_type="orders.order", aggregate_id=str(wallet_order.pk),
                                       payload={"order_id": wallet_order.pk, "status": "paid", "total": total})
    ConsumerPosition.objects.get_or_create(consumer="email")
    ConsumedEvent.objects.create(consumer="email", event=event, status=ConsumedEvent.Status.DONE)
    if django_apps.is_installed("apps.devtools"):
        from apps.devtools.models import DevReceivedEvent

        DevReceivedEvent.objects.create(event_id=uuid.uuid4(), type="order.paid", data={"total": total})
    return amount.issued


@pytest.fixture
def staff(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, email="boss@example.com"))
    return client


def raw_amounts(html: str, amounts: list[int]) -> list[str]:
    """The amounts that appear in `html` as plain numbers (not inside a longer number)."""
    shown = VERBATIM_JSON.sub("", html)
    return [str(value) for value in amounts if re.search(rf"(?<![\w.,]){abs(value)}(?![\w.,])", shown)]


def _admin_pages() -> list[str]:
    pages = []
    for model in admin.site._registry:
        if not model._meta.app_config.name.startswith("apps."):
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        pages.append(reverse(f"{prefix}_add"))
        rows = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:5])
        assert rows, f"no {_label(model)} row to show: add one to the fixture"
        pages.extend(reverse(f"{prefix}_change", args=[pk]) for pk in rows)
    # The confirmation pages of the order page's buttons.
    pages += [reverse("admin:orders_order_cancel", args=[order.pk]) for order in Order.objects.all() if order.is_cancellable]
    pages += [reverse("admin:orders_order_refund", args=[payment.order_id]) for payment in Payment.objects.filter(status="refund_pending")]
    pages += [reverse("admin:wallets_wallet_adjust", args=[wallet.pk]) for wallet in Wallet.objects.all()]
    return pages


def walk(client, amounts: list[int]) -> dict[str, list[str]]:
    offenders = {}
    for page in _admin_pages():
        response = client.get(page)
        assert response.status_code in (200, 403), f"{page}: {response.status_code}"  # 403: models staff cannot add to
        found = raw_amounts(response.content.decode(), amounts)
        if found:
            offenders[page] = found
    return offenders


def test_no_admin_page_shows_raw_cents(staff, shop):
    assert walk(staff, shop) == {}


def test_the_walk_catches_an_unformatted_money_field(staff, shop, monkeypatch):
    """The check can fail: show an order's total as the integer column and it is reported."""
    monkeypatch.setattr(OrderAdmin, "list_display", [*OrderAdmin.list_display, "total"])
    monkeypatch.setattr(OrderAdmin, "fields", [*OrderAdmin.fields, "subtotal"])
    monkeypatch.setattr(OrderAdmin, "readonly_fields", OrderAdmin.fields)
    order = Order.objects.get(payment_method=Order.PaymentMethod.WALLET)

    offenders = walk(staff, shop)

    assert sorted(offenders[reverse("admin:orders_order_changelist")]) == sorted(str(total) for total in Order.objects.values_list("total", flat=True))
    assert str(order.subtotal) in offenders[reverse("admin:orders_order_change", args=[order.pk])]


def test_the_check_reads_numbers_not_digits():
    assert raw_amounts("<td>3142605</td>", [3142605]) == ["3142605"]
    assert raw_amounts('<input name="price" value="3142605">', [3142605]) == ["3142605"]
    assert raw_amounts("<td>$31,426.05</td><td>31426.05</td><td>−$31,426.05</td>", [3142605]) == []
    assert raw_amounts("<td>-3142605</td>", [-3142605]) == ["-3142605"]
    assert raw_amounts('<pre>{"total": 3142605}</pre>', [3142605]) == []


def test_money_has_a_proper_minus_sign_in_the_ledger(staff, shop):
    html = staff.get(reverse("admin:wallets_wallettransaction_changelist")).content.decode()
    negative = WalletTransaction.objects.get(note="minus").amount
    assert re.search(r"\u2212\$[\d,]+\.\d\d", html), "a real minus sign (U+2212), not a hyphen"
    assert str(abs(negative)) not in html


def test_coupon_percent_is_not_money(staff, shop):
    percent = Coupon.objects.get(discount_type="percent")
    html = staff.get(reverse("admin:coupons_coupon_change", args=[percent.pk])).content.decode()
    assert "15% off" in html
