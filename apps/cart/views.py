from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.cart import selectors, services
from apps.cart import session as guest_cart
from apps.cart.forms import AddToCartForm, QuantityForm
from apps.core.errors import DomainError, NotFound, OutOfStock
from apps.core.redirects import safe_redirect_url

NOT_IN_CART = "This item is not in your cart."


def _message_for(exc: DomainError) -> str:
    if isinstance(exc, OutOfStock):
        available = exc.details.get("available", 0)
        if available:
            return f"{exc.message} You asked for {exc.details.get('requested')} in total: choose {available} or fewer."
        return f"{exc.message} Please check back later."
    field_errors = [error for errors in (exc.details or {}).values() if isinstance(errors, list) for error in errors]
    return " ".join(field_errors) if field_errors and exc.code == "VALIDATION_ERROR" else exc.message


def _form_errors(form) -> str:
    return " ".join(error for errors in form.errors.values() for error in errors)


@require_GET
def cart_detail(request):
    """The shopper's cart, or a visitor's (kept in the session until they log in or sign up)."""
    if request.user.is_authenticated:
        summary = selectors.cart_summary(user=request.user)
    else:
        summary = guest_cart.summary(request.session)
    rows = [
        {"line": line, "form": QuantityForm(initial={"quantity": line.quantity}, prefix=f"item-{line.id}", product=line.product)}
        for line in summary.lines
    ]
    return render(request, "cart/detail.html", {"summary": summary, "rows": rows})


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    back = safe_redirect_url(request, request.POST.get("next"), request.META.get("HTTP_REFERER")) or "cart:detail"
    if not form.is_valid():
        errors = "; ".join(f"{field.replace('_', ' ')}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        messages.error(request, f"Could not add to your cart ({errors}).")
        return redirect(back)
    product_id, quantity = form.cleaned_data["product_id"], form.cleaned_data["quantity"]
    try:
        if request.user.is_authenticated:
            item = services.add_to_cart(user=request.user, product_id=product_id, quantity=quantity)
        else:
            item = guest_cart.add(request.session, product_id=product_id, quantity=quantity)
    except DomainError as exc:
        messages.error(request, _message_for(exc))
        return redirect(back)
    messages.success(request, f"Added to your cart: {item.product.name}, now {item.quantity} in your cart.")
    return redirect(back)


@require_POST
def cart_item_update(request, item_id: int):
    """Always answers with a redirect to the cart (a reload never re-submits); 0 removes the line."""
    form = QuantityForm(request.POST, prefix=f"item-{item_id}")
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("cart:detail")
    quantity = form.cleaned_data["quantity"]
    if quantity == 0:
        return _remove(request, item_id)
    try:
        if request.user.is_authenticated:
            item = services.update_cart_item(user=request.user, item_id=item_id, quantity=quantity)
        else:
            item = guest_cart.set_quantity(request.session, product_id=item_id, quantity=quantity)
            if item is None:
                raise NotFound(NOT_IN_CART)
    except DomainError as exc:
        messages.error(request, _message_for(exc))
    else:
        messages.success(request, f"{item.product.name}: quantity set to {item.quantity}.")
    return redirect("cart:detail")


@require_POST
def cart_item_remove(request, item_id: int):
    return _remove(request, item_id)


def _remove(request, item_id: int):
    if request.user.is_authenticated:
        try:
            services.remove_cart_item(user=request.user, item_id=item_id)
        except NotFound as exc:
            messages.error(request, exc.message)
            return redirect("cart:detail")
    elif not guest_cart.remove(request.session, product_id=item_id):
        messages.error(request, NOT_IN_CART)
        return redirect("cart:detail")
    messages.success(request, "Removed from your cart.")
    return redirect("cart:detail")

