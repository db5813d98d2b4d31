"""Placing and cancelling orders: stock, coupon, wallet, order and events change together or not at all.

Every flow takes its locks in the global order (docs/architecture.md): cart → products (ascending
id) → coupon → wallet → order. A lock conflict the database still reports reruns the whole
transaction (bounded; apps.core.transactions.run_with_lock_retries), so it never reaches a shopper.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from apps.cart.locks import lock_cart
from apps.cart.selectors import cart_quantities
from apps.cart.services import add_to_cart, clear_cart
from apps.catalog.services import lock_stock_for, return_stock, take_stock
from apps.core.errors import ConcurrentUpdate, NotFound, OrderNotCancellable, OutOfStock, ProductUnavailable, ValidationError
from apps.core.transactions import after_commit, current_or_new_transaction, run_with_lock_retries
from apps.coupons.services import lock_applicable_coupon, mark_coupon_used, restore_coupon
from apps.orders.models import Order, OrderItem
from apps.outbox.services import batched, publish
from apps.payments import cards, gateway
from apps.payments.models import Payment
from apps.payments.services import create_payment, record_payment_requested
from apps.wallets.services import hold_wallet_for, pay_from_wallet, refund_wallet


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
    card_number: str | None = None,
) -> Order:
    """Buy `lines` (or the cart's lines), all or nothing, paid from the wallet or by card.

    In one transaction, in the global lock order: lock the cart (from_cart); lock and check the
    products (ascending id); lock and check the coupon; lock and check the wallet (wallet orders).
    Only then write: the stock, the order and its items, the coupon used, and either the wallet
    payment (the order is paid) or a pending card payment (the order holds its stock and coupon
    until `expires_at`); the events; the emptied cart. A card is sent to the payment gateway only
    after the commit (apps.payments.tasks.request_payment); when the gateway is known to be down
    (its breaker is open) nothing is created and PaymentUnavailable says when to come back.
    """
    if payment_method not in Order.PaymentMethod.values:
        raise ValidationError(details={"payment_method": ['Choose "wallet" or "card".']})
    if from_cart == (lines is not None):
        raise ValidationError(details={"non_field_errors": ["Send either items or from_cart."]})
    card_digits = None
    if payment_method == Order.PaymentMethod.CARD:
        card_digits = cards.validate(card_number or "")
        gateway.gateway().ensure_available()
    requested = None if from_cart else merge_lines(lines)

    def attempt() -> Order:
        # Every refusal (stock, coupon, wallet) comes before the first write, so inside a caller's
        # transaction (an idempotent request) no savepoint is needed; the events go out in one INSERT.
        with current_or_new_transaction(), batched():
            wanted = _lines_from_cart(user=user) if from_cart else requested
            products = lock_stock_for(lines=wanted)
            subtotal = sum(products[pid].price * quantity for pid, quantity in wanted.items())
            user_coupon, discount = None, 0
            if user_coupon_id is not None:
                user_coupon, discount = lock_applicable_coupon(user=user, user_coupon_id=user_coupon_id, subtotal=subtotal)
            now = timezone.now()
            total = subtotal - discount
            # Nothing to charge (a coupon paid it all) means paid at once, whatever the method.
            by_card = payment_method == Order.PaymentMethod.CARD and total > 0
            wallet = None if by_card else hold_wallet_for(user=user, amount=total)
            take_stock(lines=wanted, locked=products)
            order = Order.objects.create(
                user=user,
                status=Order.Status.PENDING_PAYMENT if by_card else Order.Status.PAID,
                payment_method=payment_method,
                subtotal=subtotal,
                discount=discount,
                total=total,
                user_coupon=user_coupon,
                paid_at=None if by_card else now,
                expires_at=now + timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS) if by_card else None,
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
            if by_card:
                payment = create_payment(order=order, method=Payment.Method.CARD, amount=total, card_digits=card_digits)
                publish(type="order.placed", aggregate=order, data=_order_event(order, order_items))
                after_commit(request_payment_after_commit, payment_id=payment.pk, sealed_card=cards.seal(card_digits))
                order.payment = payment
            else:
                if wallet is not None:
                    pay_from_wallet(wallet=wallet, amount=total, order=order)
                publish(type="order.paid", aggregate=order, data=_order_event(order, order_items))
            if from_cart:
                clear_cart(user=user)
            _attach_items(order, order_items)
            return order

    return run_with_lock_retries(attempt)


def _attach_items(order: Order, items: list[OrderItem]) -> None:
    """The order's items as just written, where `order.items.all()` finds them: no read-back of rows just written."""
    queryset = order.items.all()
    queryset._result_cache = items
    queryset._prefetch_done = True
    order._prefetched_objects_cache = {"items": queryset}


def request_payment_after_commit(*, payment_id: int, sealed_card: str) -> None:
    """Queue the PG request; eagerly (no broker, `make run`) this calls the PG right here, after the commit."""
    from apps.payments.tasks import request_payment

    request_payment.delay(payment_id, sealed_card)


class _StatusChanged(Exception):
    """The order left the status this transition started from: read it again and decide again."""


def _release_hold(order: Order, items: list[OrderItem]) -> None:
    """Inside the transition's transaction: the order's stock back on sale, its coupon usable again (unless expired)."""
    returned: dict[int, int] = {}
    for item in items:
        returned[item.product_id] = returned.get(item.product_id, 0) + item.quantity
    return_stock(lines=returned)
    if order.user_coupon_id is not None:
        restore_coupon(user_coupon=order.user_coupon)


def _move(order: Order, *, to: str, now, **fields) -> None:
    """The guarded status change: it happens only from the status this transition read."""
    if not Order.objects.filter(pk=order.pk, status=order.status).update(status=to, updated_at=now, **fields):
        raise _StatusChanged()
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)


def _read_for_transition(*, order_id: int, user=None) -> tuple[Order, list[OrderItem]]:
    orders = Order.objects.select_related("user_coupon", "payment")
    if user is not None:
        orders = orders.filter(user=user)
    order = orders.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    return order, list(order.items.all())


def _transition(*, order_id: int, user=None, apply) -> Order:
    """Read the order, then run `apply(order, items)` in one transaction; again if another transition won the race.

    The order's lines and coupon never change, so they are read before the transaction and the
    locks are taken in the global order (products, coupon, wallet, then the order's guarded
    UPDATE, then its payment). Of several transitions racing each other, exactly one happens.
    """
    for _ in range(len(Order.Status.values)):
        order, items = _read_for_transition(order_id=order_id, user=user)

        def attempt(order=order, items=items) -> Order:
            with transaction.atomic():
                apply(order, items)
            return order

        try:
            order = run_with_lock_retries(attempt)
        except _StatusChanged:
            continue
        prefetch_related_objects([order], "items")
        return order
    raise ConcurrentUpdate()


def cancel_order(*, user, order_id: int, actor=None) -> Order:
    """Cancel one of `user`'s orders that is awaiting payment or paid: stock and coupon back, money back.

    A wallet order is refunded at once. A card order's charge is refunded at the gateway after the
    commit (payment `refund_pending`, then `refunded`); a pending card payment is voided. `actor` is
    who asked (the shopper, or staff from the admin); it is recorded in the event.
    """

    def apply(order: Order, items: list[OrderItem]) -> None:
        if not order.is_cancellable:
            raise OrderNotCancellable(
                f"Order #{order.pk} is {order.get_status_display().lower()} and cannot be cancelled.", details={"status": order.status}
            )
        was_paid = order.status == Order.Status.PAID
        _release_hold(order, items)
        if order.payment_method == Order.PaymentMethod.WALLET and order.total:
            refund_wallet(user=user, amount=order.total, order=order)
        now = timezone.now()
        _move(order, to=Order.Status.CANCELLED, now=now, cancelled_at=now)
        if order.payment_method == Order.PaymentMethod.CARD and hasattr(order, "payment"):
            if was_paid:
                _payment_to_refund(order.payment)
            else:
                _void_payment(order.payment)
        data = _order_event(order, items)
        data["cancelled_by"] = (actor or user).pk
        publish(type="order.cancelled", aggregate=order, data=data)

    return _transition(order_id=order_id, user=user, apply=apply)


def record_payment_outcome(*, order_id: int, transaction_key: str, approved: bool, reason: str | None = None) -> Order:
    """The gateway's answer for an order's card payment (a callback or a status query), applied once.

    Approved while awaiting payment → paid. Declined while awaiting payment → payment_failed, stock
    and coupon released. An approval for an order the shop no longer honours (expired, cancelled,
    failed) is refunded at the gateway: the shop never keeps money for an order it did not honour.
    Anything else is a repeat and changes nothing. An unknown order, or a transaction key that is
    not this order's, is NotFound.
    """

    def apply(order: Order, items: list[OrderItem]) -> None:
        payment = getattr(order, "payment", None)
        if payment is None or payment.method != Payment.Method.CARD:
            raise NotFound("No card payment for this order.")
        if payment.transaction_key not in (None, transaction_key):
            raise NotFound("This transaction is not this order's payment.")
        # The answer may come before the request task recorded the key (or the PG's reply to it was lost).
        learned = {"transaction_key": transaction_key} if payment.transaction_key is None else {}
        now = timezone.now()
        if order.status == Order.Status.PENDING_PAYMENT and approved:
            _move(order, to=Order.Status.PAID, now=now, paid_at=now)
            _set_payment(payment, to=Payment.Status.APPROVED, now=now, **learned)
            publish(type="order.paid", aggregate=order, data=_order_event(order, items))
        elif order.status == Order.Status.PENDING_PAYMENT:
            _release_hold(order, items)
            _move(order, to=Order.Status.PAYMENT_FAILED, now=now)
            _set_payment(payment, to=Payment.Status.DECLINED, now=now, failure_reason=(reason or "declined")[:64], **learned)
            data = _order_event(order, items)
            data["failure_reason"] = payment.failure_reason
            publish(type="order.payment_failed", aggregate=order, data=data)
        else:
            if learned:
                record_payment_requested(payment_id=payment.pk, transaction_key=transaction_key)
                payment.transaction_key = transaction_key
            if approved and order.status != Order.Status.PAID:
                _payment_to_refund(payment)

    return _transition(order_id=order_id, apply=apply)


def expire_order(*, order_id: int) -> Order | None:
    """An order still awaiting payment past `expires_at` becomes expired: stock and coupon back, payment voided.

    Returns None when there is nothing to expire (paid, failed, cancelled or not yet due): safe to
    run twice and from two workers at once.
    """
    expired: list[Order] = []

    def apply(order: Order, items: list[OrderItem]) -> None:
        now = timezone.now()
        if order.status != Order.Status.PENDING_PAYMENT or order.expires_at is None or order.expires_at > now:
            return
        _release_hold(order, items)
        _move(order, to=Order.Status.EXPIRED, now=now)
        if hasattr(order, "payment"):
            _void_payment(order.payment)
        publish(type="order.expired", aggregate=order, data=_order_event(order, items))
        expired.append(order)

    _transition(order_id=order_id, apply=apply)
    return expired[0] if expired else None


def _set_payment(payment: Payment, *, to: str, now, **fields) -> None:
    """The payment's guarded status change, after its order's (the global lock order ends order → payment)."""
    if not Payment.objects.filter(pk=payment.pk, status=payment.status).update(status=to, updated_at=now, **fields):
        raise _StatusChanged()
    payment.status = to
    for name, value in fields.items():
        setattr(payment, name, value)


def _void_payment(payment: Payment) -> None:
    """A pending card payment of an order that ends unpaid: voided, and voided at the gateway after the commit."""
    if payment.status != Payment.Status.PENDING:
        return
    _set_payment(payment, to=Payment.Status.VOIDED, now=timezone.now())
    if payment.transaction_key:
        after_commit(refund_at_gateway_after_commit, payment_id=payment.pk)


def _payment_to_refund(payment: Payment) -> None:
    """Money the gateway took for an order the shop does not keep: refund it after the commit (retried until confirmed)."""
    if payment.status in (Payment.Status.REFUND_PENDING, Payment.Status.REFUNDED):
        return
    _set_payment(payment, to=Payment.Status.REFUND_PENDING, now=timezone.now(), attempts=0, next_attempt_at=timezone.now())
    after_commit(refund_at_gateway_after_commit, payment_id=payment.pk)


def refund_at_gateway_after_commit(*, payment_id: int) -> None:
    from apps.payments.tasks import refund_payment

    refund_payment.delay(payment_id)


@dataclass(frozen=True)
class ReorderedLine:
    """One line of a failed or expired order put back in the cart: how many the order had, how many the cart holds now."""

    product_name: str
    wanted: int
    in_cart: int

    @property
    def is_short(self) -> bool:
        return self.in_cart < self.wanted


def reorder(*, user, order_id: int) -> list[ReorderedLine]:
    """"Try again" for one of `user`'s failed or expired orders: its lines back in the cart, capped by today's stock.

    The old order stays as it ended; the shopper checks out again (a new order, a new payment).
    Each line is topped up to the order's quantity, never beyond it, so asking twice does not
    double the cart. A product no longer sold, or sold out, is reported with fewer units (or none).
    """
    order = Order.objects.filter(pk=order_id, user=user).first()
    if order is None:
        raise NotFound("Order not found.")
    if order.status not in (Order.Status.PAYMENT_FAILED, Order.Status.EXPIRED):
        raise ValidationError(
            f"Order #{order.pk} is {order.get_status_display().lower()}: only an order whose payment failed or expired can be tried again.",
            details={"status": order.status},
        )
    in_cart = cart_quantities(user=user)
    reordered: list[ReorderedLine] = []
    for item in order.items.select_related("product").order_by("id"):
        product, already = item.product, in_cart.get(item.product_id, 0)
        target = min(item.quantity, max(product.stock, 0), settings.ORDER_MAX_LINE_QUANTITY) if product.is_active else 0
        holding = already
        if target > already:
            try:
                add_to_cart(user=user, product_id=product.pk, quantity=target - already)
                holding = target
            except (OutOfStock, ProductUnavailable, ValidationError):
                pass  # bought or withdrawn a moment ago: reported as short
        reordered.append(ReorderedLine(product_name=item.product_name, wanted=item.quantity, in_cart=holding))
    return reordered
