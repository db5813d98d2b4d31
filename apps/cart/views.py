from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.cart import selectors, services
from apps.cart.forms import AddToCartForm, QuantityForm
from apps.core.errors import DomainError, NotFound, OutOfStock
from apps.core.redirects import safe_redirect_url


def _message_for(exc: DomainError) -> str:
    if isinstance(exc, OutOfStock):
        available = exc.details.get("available", 0)
        if available:
            return f"{exc.message} You asked for {exc.details.get('requested')} in total: choose {available} or fewer."
        return f"{exc.message} Please check back later."
    return exc.message


def _render_cart(request, *, bound_item_id: int | None = None, bound_form: QuantityForm | None = None, status: int = 200):
    summary = selectors.cart_summary(user=request.user)
    rows = []
    for line in summary.lines:
        if line.id == bound_item_id and bound_form is not None:
            form = bound_form
        else:
            form = QuantityForm(initial={"quantity": line.quantity}, prefix=f"item-{line.id}")
        rows.append({"line": line, "form": form})
    return render(request, "cart/detail.html", {"summary": summary, "rows": rows}, status=status)


@login_required
def cart_detail(request):
    return _render_cart(request)


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    back = safe_redirect_url(request, request.POST.get("next"), request.META.get("HTTP_REFERER"))
    if not request.user.is_authenticated:
        return redirect_to_login(back or reverse("cart:detail"))
    if not form.is_valid():
        errors = "; ".join(f"{field.replace('_', ' ')}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        messages.error(request, f"Could not add to your cart ({errors}).")
        return redirect(back or "cart:detail")
    try:
        item = services.add_to_cart(user=request.user, product_id=form.cleaned_data["product_id"], quantity=form.cleaned_data["quantity"])
    except DomainError as exc:
        messages.error(request, _message_for(exc))
        return redirect(back or "cart:detail")
    messages.success(request, f"Added to your cart: {item.product.name}, now {item.quantity} in your cart.")
    return redirect(back or "cart:detail")


@login_required
@require_POST
def cart_item_update(request, item_id: int):
    form = QuantityForm(request.POST, prefix=f"item-{item_id}")
    if not form.is_valid():
        return _render_cart(request, bound_item_id=item_id, bound_form=form, status=400)
    try:
        item = services.update_cart_item(user=request.user, item_id=item_id, quantity=form.cleaned_data["quantity"])
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("cart:detail")
    except DomainError as exc:
        form.add_error("quantity", _message_for(exc))
        return _render_cart(request, bound_item_id=item_id, bound_form=form, status=exc.status_code)
    messages.success(request, f"{item.product.name}: quantity set to {item.quantity}.")
    return redirect("cart:detail")


@login_required
@require_POST
def cart_item_remove(request, item_id: int):
    try:
        services.remove_cart_item(user=request.user, item_id=item_id)
    except NotFound as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Removed from your cart.")
    return redirect("cart:detail")
