"""Shared by the order tests: funding and a full picture of what an order may change."""

from django.db.models import Sum

from apps.cart.models import CartItem
from apps.catalog.models import Product
from apps.coupons.models import UserCoupon
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.wallets.models import Wallet, WalletTransaction
from apps.wallets.services import charge_wallet


def fund(user, amount: int) -> None:
    charge_wallet(user=user, amount=amount)


def balance(user) -> int:
    return Wallet.objects.filter(user=user).values_list("balance", flat=True).first() or 0


def ledger_sum(user) -> int:
    return WalletTransaction.objects.filter(wallet__user=user).aggregate(total=Sum("amount"))["total"] or 0


def world() -> dict:
    """Every row an order or a cancellation may change, to assert that a refused one changed nothing."""
    return {
        "stock": dict(Product.objects.values_list("pk", "stock")),
        "wallets": dict(Wallet.objects.values_list("user_id", "balance")),
        "ledger": list(WalletTransaction.objects.order_by("pk").values_list("pk", "kind", "amount")),
        "coupons": list(UserCoupon.objects.order_by("pk").values_list("pk", "status", "used_order_id")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "total")),
        "order_items": OrderItem.objects.count(),
        "cart": list(CartItem.objects.order_by("pk").values_list("pk", "product_id", "quantity")),
        "events": list(OutboxEvent.objects.order_by("pk").values_list("pk", "type")),
    }
