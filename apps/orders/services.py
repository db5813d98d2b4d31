"""Placing and cancelling orders: stock, coupon, wallet, order and events change together or not at all."""

import logging
import random
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, prefetch_related_objects
from django.utils import timezone

from apps.cart.locks import lock_cart
from apps.cart.selectors import cart_quantities
from apps.cart.services import clear_cart, stock_message, validate_quantity
from apps.catalog.models import Product
from apps.catalog.selectors import invalidate_product_cache
from apps.core.errors import (
    ConcurrentUpdate,
    NotFound,
    OrderNotCancellable,
    OutOfStock,
    ProductUnavailable,
    ValidationError,
)
from apps.core.models import MAX_ID
from apps.coupons.services import lock_applicable_coupon, mark_coupon_used, restore_coupon
from apps.orders.locks import lock_order, lock_products
from apps.orders.models import Order, OrderItem
from apps.outbox.services import publish
from apps.wallets.services import debit_wallet, refund_wallet

logger = logging.getLogger(__name__)

T = TypeVar("T")

# MySQL/MariaDB give up on a lock with these: 1213 deadlock (transaction rolled back), 1205 lock wait timeout.
_LOCK_CONFLICT_ERRORS = frozenset({1213, 1205})


def _run_with_lock_retries(attempt: Callable[[], T]) -> T:
    """Run `attempt` (a whole transaction) again when the database aborts it over a lock conflict.

    Locks are taken in id order so deadlocks should not happen, but InnoDB may still pick a victim
    (e.g. around unique-index gaps); the shopper must then get an answer, not a database error.
    Inside an outer transaction nothing can be retried, so the error is left to that caller.
    """
    if transaction.get_connection().in_atomic_block:
        return attempt()
    tries = max(1, settings.ORDER_LOCK_RETRIES)
    number = 1
    while True:
        try:
            return attempt()
        except OperationalError as exc:
            if not exc.args or exc.args[0] not in _LOCK_CONFLICT_ERRORS:
                raise
            logger.warning("order transaction hit lock conflict %s (attempt %d of %d)", exc.args[0], number, tries)
            if number >= tries:
                raise ConcurrentUpdate() from exc
        time.sleep(random.uniform(0, 0.02 * 2**number))
        number += 1


def _merge_lines(items) -> dict[int, int]:
    """Validate the requested lines and merge lines of the same product: product_id → quantity."""
    if not isinstance(items, list) or not items:
        raise ValidationError(details={"items": ["Add at least one item."]})
    if len(items) > settings.ORDER_MAX_LINES:
        raise ValidationError(details={"items": [f"At most {settings.ORDER_MAX_LINES} lines per order."]})
    merged: dict[int, int] = {}
    for index, line in enumerate(items):
        if not isinstance(line, dict):
            raise ValidationError(details={"items": [f"Line {index + 1}: expected product_id and quantity."]})
        product_id = line.get("product_id")
        if isinstance(product_id, bool) or not isinstance(product_id, int) or not 1 <= product_id <= MAX_ID:
            raise ValidationError(details={"items": [f"Line {index + 1}: product_id must be a positive whole number."]})
        try:
            validate_quantity(line.get("quantity"))
        except ValidationError as exc:
            raise ValidationError(details={"items": [f"Line {index + 1}: quantity: {exc.details['quantity'][0]}"]}) from None
        merged[product_id] = merged.get(product_id, 0) + line["quantity"]
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


def _take_stock(lines: dict[int, int]) -> dict[int, Product]:
    """Lock the products, check each is sold and in stock, and decrement; raises before any change."""
    products = lock_products(product_ids=lines)
    for product_id in sorted(lines):
        product = products.get(product_id)
        if product is None or not product.is_active:
            name = product.name if product is not None else f"Product {product_id}"
            raise ProductUnavailable(f"{name} is not available.", details={"product_id": product_id})
    for product_id in sorted(lines):
        product, requested = products[product_id], lines[product_id]
        if product.stock < requested:
            raise OutOfStock(
                stock_message(name=product.name, available=product.stock),
                details={"product_id": product_id, "requested": requested, "available": product.stock},
            )
    now = timezone.now()
    for product_id in sorted(lines):
        Product.objects.filter(pk=product_id).update(stock=F("stock") - lines[product_id], updated_at=now)
    return products


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


def _invalidate_on_commit(product_ids) -> None:
    transaction.on_commit(partial(invalidate_product_cache, product_ids=sorted(product_ids)), robust=True)


def place_order(*, user, items: list[dict] | None, from_cart: bool, user_coupon_id: int | None, payment_method: str = "wallet") -> Order:
    """Buy `items` (or the cart's lines) and pay from the wallet, all or nothing.

    In one transaction, in this order: merge lines (requested lines are validated and merged before
    it opens, as that needs no database); lock the products by ascending id; check they are sold
    and in stock; decrement; lock and check the coupon; write the order and its items; mark the
    coupon used; debit the wallet; write the `order.paid` event; empty the cart. A lock conflict
    reported by the database reruns the whole transaction (bounded), so it never reaches the caller.
    """
    if payment_method != Order.PaymentMethod.WALLET:
        raise ValidationError(details={"payment_method": ['"wallet" is the only payment method.']})
    if from_cart and items:
        raise ValidationError(details={"non_field_errors": ["Send either items or from_cart, not both."]})
    if user_coupon_id is not None and (isinstance(user_coupon_id, bool) or not isinstance(user_coupon_id, int) or not 1 <= user_coupon_id <= MAX_ID):
        raise ValidationError(details={"user_coupon_id": ["A positive whole number is required."]})
    requested = None if from_cart else _merge_lines(items)

    def attempt() -> Order:
        with transaction.atomic():
            lines = _lines_from_cart(user=user) if from_cart else requested
            products = _take_stock(lines)
            subtotal = sum(products[pid].price * quantity for pid, quantity in lines.items())
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
                    quantity=lines[pid],
                    line_total=products[pid].price * lines[pid],
                )
                for pid in sorted(lines)
            ]
            OrderItem.objects.bulk_create(order_items)
            if user_coupon is not None:
                mark_coupon_used(user_coupon=user_coupon, order=order)
            if order.total:
                debit_wallet(user=user, amount=order.total, order=order)
            publish(type="order.paid", aggregate=order, data=_order_event(order, order_items))
            if from_cart:
                clear_cart(user=user)
            _invalidate_on_commit(lines)
            return order

    order = _run_with_lock_retries(attempt)
    # The order is current as created (no second read of the row just written); its lines are
    # what callers show.
    prefetch_related_objects([order], "items")
    return order


def cancel_order(*, user, order_id: int, actor=None) -> Order:
    """Cancel one of `user`'s paid orders: stock back, wallet refunded, coupon restored, in one transaction.

    `actor` is who asked (the shopper, or staff from the admin); it is recorded in the event.
    """

    def attempt() -> Order:
        with transaction.atomic():
            order = lock_order(order_id=order_id, user=user)
            if order is None:
                raise NotFound("Order not found.")
            if order.status != Order.Status.PAID:
                raise OrderNotCancellable(
                    f"Order #{order.pk} is {order.get_status_display().lower()} and cannot be cancelled.", details={"status": order.status}
                )
            order_items = list(order.items.all())
            returned: dict[int, int] = {}
            for item in order_items:
                returned[item.product_id] = returned.get(item.product_id, 0) + item.quantity
            lock_products(product_ids=returned)
            now = timezone.now()
            for product_id in sorted(returned):
                Product.objects.filter(pk=product_id).update(stock=F("stock") + returned[product_id], updated_at=now)
            if order.total:
                refund_wallet(user=order.user, amount=order.total, order=order)
            if order.user_coupon_id is not None:
                restore_coupon(user_coupon=order.user_coupon)
            Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED, cancelled_at=now, updated_at=now)
            order.status, order.cancelled_at = Order.Status.CANCELLED, now
            data = _order_event(order, order_items)
            data["cancelled_by"] = (actor or order.user).pk
            publish(type="order.cancelled", aggregate=order, data=data)
            _invalidate_on_commit(returned)
            return order

    order = _run_with_lock_retries(attempt)
    return Order.objects.prefetch_related("items").get(pk=order.pk)
