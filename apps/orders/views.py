import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from apps.cart.selectors import cart_summary
from apps.core.errors import (
    ConcurrentUpdate,
    DomainError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientBalance,
    NotFound,
    OutOfStock,
    ProductUnavailable,
)
from apps.core.idempotency import fingerprint, run_once
from apps.core.money import format_money
from apps.coupons.selectors import applicable_coupons
from apps.orders import selectors, services
from apps.orders.forms import CheckoutForm
from apps.wallets.selectors import wallet_balance

ORDERS_PER_PAGE = 20


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
    context = {
        "summary": summary,
        "form": form,
        "has_coupons": bool(coupons),
        "discount": discount,
        "total": total,
        "balance": balance,
        "shortfall": max(total - balance, 0),
        "balance_after": balance - total,
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
        form = CheckoutForm(initial={"token": uuid.uuid4().hex}, coupons=coupons)
        return _render_checkout(request, summary=summary, coupons=coupons, form=form)
    form = CheckoutForm(request.POST, coupons=coupons)
    if not form.is_valid():
        return _render_checkout(request, summary=summary, coupons=coupons, form=form, status=400)
    if "pay" not in request.POST:
        return _render_checkout(request, summary=summary, coupons=coupons, form=form)
    return _pay(request, summary=summary, coupons=coupons, form=form)


def _pay(request, *, summary, coupons, form: CheckoutForm):
    """Place the order once per form token: a second submit of the same form finds the first order."""
    user_coupon_id = form.cleaned_data["user_coupon"]

    def place() -> dict:
        order = services.place_order(user=request.user, from_cart=True, user_coupon_id=user_coupon_id)
        return {"order_id": order.pk, "total": order.total}

    try:
        placed, repeated = run_once(
            user=request.user,
            key=f"checkout:{form.cleaned_data['token']}",
            fingerprint=fingerprint(method="POST", path=request.path, body={"from_cart": True, "user_coupon_id": user_coupon_id}),
            action=place,
        )
    except (IdempotencyInProgress, IdempotencyKeyReused):
        messages.info(request, "This checkout was already submitted. Here are your orders.")
        return redirect("orders:list")
    except DomainError as exc:
        messages.error(request, _checkout_problem(exc))
        summary = cart_summary(user=request.user)
        if summary.is_empty:
            return redirect("cart:detail")
        return _render_checkout(request, summary=summary, coupons=coupons, form=form, status=exc.status_code)
    if repeated:
        messages.info(request, f"Order #{placed['order_id']} was already placed; it was not ordered twice.")
    else:
        messages.success(request, f"Thank you! Order #{placed['order_id']} is paid: {format_money(placed['total'])} was taken from your wallet.")
    return redirect("orders:detail", pk=placed["order_id"])


@login_required
def order_list(request):
    page = Paginator(selectors.orders_for_user(user=request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "orders/list.html", {"page": page})


def _own_order_or_404(request, pk: int):
    try:
        return selectors.get_order_for_user(user=request.user, order_id=pk)
    except NotFound:
        raise Http404("Order not found.") from None


@login_required
def order_detail(request, pk: int):
    order = _own_order_or_404(request, pk)
    return render(request, "orders/detail.html", {"order": order})


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel(request, pk: int):
    """GET asks for confirmation; POST cancels through the service and goes back to the order."""
    order = _own_order_or_404(request, pk)
    if request.method == "GET":
        return render(request, "orders/cancel.html", {"order": order})
    try:
        order = services.cancel_order(user=request.user, order_id=pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        refund = f"{format_money(order.total)} is back in your wallet" if order.total else "nothing was charged"
        messages.success(request, f"Order #{order.pk} is cancelled: {refund}.")
    return redirect(reverse("orders:detail", kwargs={"pk": pk}))
