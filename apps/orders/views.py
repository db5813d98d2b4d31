import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.cart.selectors import cart_summary
from apps.core.errors import (
    ConcurrentUpdate,
    DomainError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientBalance,
    NotFound,
    OutOfStock,
    PaymentUnavailable,
    ProductUnavailable,
)
from apps.core.idempotency import fingerprint, run_once
from apps.core.money import format_money
from apps.coupons.selectors import applicable_coupons
from apps.orders import selectors, services
from apps.orders.forms import CheckoutForm
from apps.orders.models import Order
from apps.orders.selectors import PaymentSummary
from apps.payments.cards import InvalidCardNumber
from apps.payments.models import Payment
from apps.wallets.selectors import wallet_balance

ORDERS_PER_PAGE = 20
# While a card payment is being confirmed the order page reloads itself (a meta refresh: no script).
PENDING_REFRESH_SECONDS = 2

CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover"}
FAILURE_REASONS = {"card_declined": "the card was declined", "insufficient_funds": "the card has insufficient funds"}
REFUND_STATES = {Payment.Status.REFUND_PENDING: "refund in progress", Payment.Status.REFUNDED: "refunded"}
ENDED_UNPAID = frozenset({Order.Status.PAYMENT_FAILED, Order.Status.EXPIRED, Order.Status.CANCELLED})


@dataclass(frozen=True)
class OrderPresentation:
    """An order with its status and payment in the shopper's words."""

    order: Order
    payment: PaymentSummary
    status_words: str
    paid_with: str
    failure_words: str | None
    refund_words: str | None

    @property
    def by_card(self) -> bool:
        return self.payment.method == Payment.Method.CARD

    @property
    def can_try_again(self) -> bool:
        return self.order.status in (Order.Status.PAYMENT_FAILED, Order.Status.EXPIRED)

    @property
    def card_voided(self) -> bool:
        return self.payment.status == Payment.Status.VOIDED


def card_label(payment: PaymentSummary) -> str:
    """"Visa •••• 4242" (never more of the number than its last four digits, which is all we keep)."""
    brand = CARD_BRANDS.get(payment.card_brand or "", "Card")
    return f"{brand} •••• {payment.card_last4}" if payment.card_last4 else brand


def present(order: Order) -> OrderPresentation:
    payment = selectors.payment_of(order)
    by_card = payment.method == Payment.Method.CARD
    failure = FAILURE_REASONS.get(payment.failure_reason or "", "the payment was not approved") if order.status == Order.Status.PAYMENT_FAILED else None
    refund = REFUND_STATES.get(payment.status) if by_card and order.status in ENDED_UNPAID else None
    if order.status == Order.Status.PAYMENT_FAILED:
        words = f"Payment failed: {failure}"
    elif order.status == Order.Status.CANCELLED and not by_card:
        words = "Cancelled, refunded to your wallet" if order.total else "Cancelled"
    elif order.status == Order.Status.CANCELLED and payment.status == Payment.Status.VOIDED:
        words = "Cancelled, not charged"
    else:
        words = order.get_status_display()
    if refund:
        words = f"{words}, {refund}"
    return OrderPresentation(
        order=order,
        payment=payment,
        status_words=words,
        paid_with=card_label(payment) if by_card else "Wallet",
        failure_words=failure,
        refund_words=refund,
    )


def _checkout_problem(exc: DomainError) -> str:
    """What went wrong at checkout, in plain words, and what the shopper can do about it."""
    if isinstance(exc, OutOfStock):
        available = exc.details.get("available", 0)
        fix = f"Lower the quantity to {available} or fewer in your cart" if available else "Remove it from your cart"
        return f"{exc.message} You asked for {exc.details.get('requested')}. {fix}, then pay. Nothing was charged."
    if isinstance(exc, InsufficientBalance):
        balance, required = exc.details.get("balance", 0), exc.details.get("required", 0)
        return (
            f"Your wallet has {format_money(balance)} but this order costs {format_money(required)}. "
            f"Add at least {format_money(required - balance)} to your wallet, then come back: your cart and coupon choice are kept. "
            "Or pay by card: choose Card below. Nothing was charged."
        )
    if isinstance(exc, PaymentUnavailable):
        return (
            f"Card payments are unavailable right now, try again in {exc.retry_after} seconds or pay from your wallet. "
            "Nothing was charged."
        )
    if isinstance(exc, ProductUnavailable):
        return f"{exc.message} Remove it from your cart, then pay. Nothing was charged."
    if isinstance(exc, ConcurrentUpdate):
        return "Many people are checking out right now and we could not finish your order. Please press Pay again. Nothing was charged."
    return f"{exc.message} Nothing was charged."


def _render_checkout(request, *, summary, coupons, form, status: int = 200):
    discount = form.selected_discount()
    total = summary.subtotal - discount
    balance = wallet_balance(user=request.user)
    coupon_choices = []
    for radio in form["user_coupon"]:
        choice_discount = form.discounts.get(int(radio.data["value"]), 0) if radio.data["value"] not in ("", None) else 0
        coupon_choices.append((radio, choice_discount, summary.subtotal - choice_discount))
    context = {
        "summary": summary,
        "form": form,
        "coupon_choices": coupon_choices,
        "has_coupons": bool(coupons),
        "discount": discount,
        "total": total,
        "balance": balance,
        "shortfall": max(total - balance, 0),
        "balance_after": balance - total,
        "selected_method": form.selected_method(),
        "blocked_lines": [line for line in summary.lines if not line.product.is_active or line.product.stock < line.quantity],
    }
    return render(request, "orders/checkout.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request):
    summary = cart_summary(user=request.user)
    if summary.is_empty:
        messages.info(request, "Your cart is empty: add something before checking out.")
        return redirect("cart:detail")
    coupons = applicable_coupons(user=request.user, subtotal=summary.subtotal)
    if request.method == "GET":
        # The shopper's best coupon is chosen for them (applicable_coupons lists the biggest discount
        # first), and the wallet is judged against the total after it.
        best_coupon, best_discount = coupons[0] if coupons else (None, 0)
        wallet_short = wallet_balance(user=request.user) < summary.subtotal - best_discount
        initial = {
            "token": uuid.uuid4().hex,
            "user_coupon": best_coupon.pk if best_coupon else None,
            "payment_method": Order.PaymentMethod.CARD if wallet_short else Order.PaymentMethod.WALLET,
        }
        form = CheckoutForm(initial=initial, coupons=coupons)
        return _render_checkout(request, summary=summary, coupons=coupons, form=form)
    form = CheckoutForm(request.POST, coupons=coupons)
    if not form.is_valid():
        return _render_checkout(request, summary=summary, coupons=coupons, form=form, status=400)
    if "pay" not in request.POST:
        return _render_checkout(request, summary=summary, coupons=coupons, form=form)
    return _pay(request, summary=summary, coupons=coupons, form=form)


def _pay(request, *, summary, coupons, form: CheckoutForm):
    """Place the order once per form token: a second submit of the same form finds the first order.

    The card number goes to the order service only: it is neither in the fingerprint nor in the
    stored summary (both kept in the database), nor ever written back into a page.
    """
    user_coupon_id = form.cleaned_data["user_coupon"]
    method = form.cleaned_data["payment_method"]
    card_number = form.cleaned_data["card_number"] if form.pays_by_card else None

    def place() -> dict:
        order = services.place_order(
            user=request.user, from_cart=True, user_coupon_id=user_coupon_id, payment_method=method, card_number=card_number
        )
        return {"order_id": order.pk, "total": order.total, "status": order.status}

    try:
        placed, repeated = run_once(
            user=request.user,
            key=f"checkout:{form.cleaned_data['token']}",
            fingerprint=fingerprint(
                method="POST", path=request.path, body={"from_cart": True, "user_coupon_id": user_coupon_id, "payment_method": method}
            ),
            action=place,
        )
    except (IdempotencyInProgress, IdempotencyKeyReused):
        messages.info(request, "This checkout was already submitted. Here are your orders.")
        return redirect("orders:list")
    except InvalidCardNumber as exc:
        form.add_error("card_number", exc.message)
        return _render_checkout(request, summary=summary, coupons=coupons, form=form, status=exc.status_code)
    except DomainError as exc:
        messages.error(request, _checkout_problem(exc))
        summary = cart_summary(user=request.user)
        if summary.is_empty:
            return redirect("cart:detail")
        response = _render_checkout(request, summary=summary, coupons=coupons, form=form, status=exc.status_code)
        if isinstance(exc, PaymentUnavailable):
            response["Retry-After"] = str(exc.retry_after)
        return response
    order_id, total = placed["order_id"], placed["total"]
    if repeated:
        messages.info(request, f"Order #{order_id} was already placed; it was not ordered twice.")
    elif placed.get("status") == Order.Status.PENDING_PAYMENT:
        messages.success(request, f"Order #{order_id} is placed. We are confirming your card payment of {format_money(total)}.")
    elif not total:
        messages.success(request, f"Thank you! Order #{order_id} is paid: there was nothing to charge.")
    else:
        messages.success(request, f"Thank you! Order #{order_id} is paid: {format_money(total)} was taken from your wallet.")
    return redirect("orders:detail", pk=order_id)


@login_required
def order_list(request):
    page = Paginator(selectors.orders_for_user(user=request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "orders/list.html", {"page": page, "rows": [present(order) for order in page.object_list]})


def _own_order_or_404(request, pk: int):
    try:
        return selectors.get_order_for_user(user=request.user, order_id=pk)
    except NotFound:
        raise Http404("Order not found.") from None


@login_required
def order_detail(request, pk: int):
    order = _own_order_or_404(request, pk)
    context = {
        "order": order,
        "shown": present(order),
        "refresh_seconds": PENDING_REFRESH_SECONDS if order.status == Order.Status.PENDING_PAYMENT else None,
    }
    return render(request, "orders/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel(request, pk: int):
    """GET asks for confirmation; POST cancels through the service and goes back to the order."""
    order = _own_order_or_404(request, pk)
    if request.method == "GET":
        return render(request, "orders/cancel.html", {"order": order, "shown": present(order)})
    try:
        order = services.cancel_order(user=request.user, order_id=pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order #{order.pk} is cancelled: {_money_back(present(order))}.")
    return redirect(reverse("orders:detail", kwargs={"pk": pk}))


def _money_back(shown: OrderPresentation) -> str:
    order = shown.order
    if not order.total:
        return "nothing was charged"
    if not shown.by_card:
        return f"{format_money(order.total)} is back in your wallet"
    if shown.card_voided:
        return f"your {shown.paid_with} was not charged"
    return f"the refund of {format_money(order.total)} to your {shown.paid_with} is on its way"


@login_required
@require_POST
def order_try_again(request, pk: int):
    """A failed or expired order's lines go back in the cart (as far as there is stock); then checkout, for a new order."""
    try:
        lines = services.reorder(user=request.user, order_id=pk)
    except NotFound:
        raise Http404("Order not found.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("orders:detail", pk=pk)
    for line in lines:
        if line.is_short and line.in_cart:
            messages.warning(request, f"Only {line.in_cart} of the {line.wanted} × {line.product_name} are left: that is what your cart holds now.")
        elif line.is_short:
            messages.warning(request, f"{line.product_name} is sold out or no longer sold, so it is not in your cart.")
    if not any(line.in_cart for line in lines):
        messages.error(request, f"None of the items of order #{pk} can be bought right now.")
        return redirect("orders:detail", pk=pk)
    messages.success(request, f"The items of order #{pk} are back in your cart. Check them, then pay by card or from your wallet.")
    return redirect("orders:checkout")
