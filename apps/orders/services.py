"""Placing and cancelling orders: stock, coupon, wallet, order and events change together or not at all.

Every flow takes its locks in the global order (docs/architecture.md): cart → products (ascending
id) → coupon → wallet → order. A lock conflict the database still reports reruns the whole
transaction (bounded; apps.core.transactions.run_with_lock_retries), so it never reaches a shopper.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from apps.cart.locks import lock_cart
from apps.cart.selectors import cart_quantities
from apps.cart.services import clear_cart
from apps.catalog.services import return_stock, take_stock
from apps.core.errors import NotFound, OrderNotCancellable, ValidationError
from apps.core.transactions import run_with_lock_retries
from apps.coupons.services import lock_applicable_coupon, mark_coupon_used, restore_coupon
from apps.orders.models import Order, OrderItem
from apps.outbox.services import publish
from apps.wallets.services import debit_wallet, refund_wallet


@dataclass(frozen=True)
class OrderLine:
    """One requested line, already checked by the caller's input layer (positive whole numbers)."""

    product_id: int
    quantity: int


def merge_lines(lines: Iterable[OrderLine]) -> dict[int, int]:
    """Lines of the same product become one (product_id → quantity), within the order's limits."""
    merged: dict[int, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    if not merged:
        raise ValidationError(details={"items": ["Add at least one item."]})
    if len(merged) > settings.ORDER_MAX_LINES:
        raise ValidationError(details={"items": [f"At most {settings.ORDER_MAX_LINES} lines per order."]})
    for product_id, quantity in merged.items():
        if quantity > settings.ORDER_MAX_LINE_QUANTITY:
            raise ValidationError(
                details={"items": [f"Product {product_id}: at most {settings.ORDER_MAX_LINE_QUANTITY} units per order."]}
            )
    return merged


def _lines_from_cart(*, user) -> dict[int, int]:
    lock_cart(user=user)
    lines = cart_quantities(user=user)
    if not lines:
        raise ValidationError("Your cart is empty.", details={"from_cart": ["The cart is empty."]})
    if len(lines) > settings.ORDER_MAX_LINES:
        raise ValidationError(details={"from_cart": [f"At most {settings.ORDER_MAX_LINES} lines per order."]})
    return lines


def _order_event(order: Order, items: list[OrderItem]) -> dict:
    return {
        "order_id": order.pk,
        "user_id": order.user_id,
        "status": order.status,
        "payment_method": order.payment_method,
        "subtotal": order.subtotal,
        "discount": order.discount,
        "total": order.total,
        "currency": settings.CURRENCY,
        "user_coupon_id": order.user_coupon_id,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "items": [
            {
                "product_id": item.product_id,
                "product_name": item.product_name,
                "unit_price": item.unit_price,
                "quantity": item.quantity,
                "line_total": item.line_total,
            }
            for item in items
        ],
    }


def place_order(
    *,
    user,
    lines: Iterable[OrderLine] | None = None,
    from_cart: bool = False,
    user_coupon_id: int | None = None,
    payment_method: str = Order.PaymentMethod.WALLET,
) -> Order:
    """Buy `lines` (or the cart's lines) and pay from the wallet, all or nothing.

    In one transaction, in the global lock order: lock the cart (from_cart); take the stock
    (products locked by ascending id, checked, decremented); lock and check the coupon; write the
    order and its items; mark the coupon used; debit the wallet under its row lock; write the
    `order.paid` event; empty the cart.
    """
    if payment_method != Order.PaymentMethod.WALLET:
        raise ValidationError(details={"payment_method": ['"wallet" is the only payment method.']})
    if from_cart == (lines is not None):
        raise ValidationError(details={"non_field_errors": ["Send either items or from_cart."]})
    requested = None if from_cart else merge_lines(lines)

    def attempt() -> Order:
        with transaction.atomic():
            wanted = _lines_from_cart(user=user) if from_cart else requested
            products = take_stock(lines=wanted)
            subtotal = sum(products[pid].price * quantity for pid, quantity in wanted.items())
            user_coupon, discount = None, 0
            if user_coupon_id is not None:
                user_coupon, discount = lock_applicable_coupon(user=user, user_coupon_id=user_coupon_id, subtotal=subtotal)
            order = Order.objects.create(
                user=user,
                status=Order.Status.PAID,
                payment_method=payment_method,
                subtotal=subtotal,
                discount=discount,
                total=subtotal - discount,
                user_coupon=user_coupon,
                paid_at=timezone.now(),
            )
            order_items = [
                OrderItem(
                    order=order,
                    product_id=pid,
                    product_name=products[pid].name,
                    unit_price=products[pid].price,
                    quantity=wanted[pid],
                    line_total=products[pid].price * wanted[pid],
                )
                for pid in sorted(wanted)
            ]
            OrderItem.objects.bulk_create(order_items)
            if user_coupon is not None:
                mark_coupon_used(user_coupon=user_coupon, order=order)
            if order.total:
                debit_wallet(user=user, amount=order.total, order=order)
            publish(type="order.paid", aggregate=order, data=_order_event(order, order_items))
            if from_cart:
                clear_cart(user=user)
            return order

    order = run_with_lock_retries(attempt)
    # The order is current as created (no second read of the row just written); its lines are
    # what callers show.
    prefetch_related_objects([order], "items")
    return order


def cancel_order(*, user, order_id: int, actor=None) -> Order:
    """Cancel one of `user`'s paid orders: stock back, coupon restored, wallet refunded, in one transaction.

    The order's lines and coupon are read first (they never change), so the locks can be taken in
    the global order; the status change itself is a guarded UPDATE taken last, so of two
    cancellations racing each other exactly one happens. `actor` is who asked (the shopper, or
    staff from the admin); it is recorded in the event.
    """

    def attempt() -> Order:
        order = Order.objects.select_related("user_coupon").filter(pk=order_id, user=user).first()
        if order is None:
            raise NotFound("Order not found.")
        _require_cancellable(order)
        order_items = list(order.items.all())
        with transaction.atomic():
            returned: dict[int, int] = {}
            for item in order_items:
                returned[item.product_id] = returned.get(item.product_id, 0) + item.quantity
            return_stock(lines=returned)
            if order.user_coupon_id is not None:
                restore_coupon(user_coupon=order.user_coupon)
            if order.total:
                refund_wallet(user=user, amount=order.total, order=order)
            now = timezone.now()
            if not Order.objects.filter(pk=order.pk, status=Order.Status.PAID).update(status=Order.Status.CANCELLED, cancelled_at=now, updated_at=now):
                order.refresh_from_db(fields=["status"])
                _require_cancellable(order)
            order.status, order.cancelled_at = Order.Status.CANCELLED, now
            data = _order_event(order, order_items)
            data["cancelled_by"] = (actor or user).pk
            publish(type="order.cancelled", aggregate=order, data=data)
        return order

    order = run_with_lock_retries(attempt)
    prefetch_related_objects([order], "items")
    return order


def _require_cancellable(order: Order) -> None:
    if order.status != Order.Status.PAID:
        raise OrderNotCancellable(
            f"Order #{order.pk} is {order.get_status_display().lower()} and cannot be cancelled.", details={"status": order.status}
        )
