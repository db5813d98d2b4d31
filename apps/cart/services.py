"""Every change to a cart. The cart is a wish list: stock is checked again, under lock, at checkout."""

from django.conf import settings
from django.db import transaction
from django.db.models import F

from apps.cart.locks import lock_cart
from apps.cart.models import Cart, CartItem
from apps.catalog.models import Product
from apps.catalog.services import stock_message
from apps.core.errors import NotFound, OutOfStock, ProductUnavailable, ValidationError
from apps.core.models import MAX_ID
from apps.core.transactions import run_with_lock_retries
from apps.core.validation import is_whole_number


def validate_quantity(quantity, *, field: str = "quantity") -> int:
    """A line quantity: an integer from 1 to ORDER_MAX_LINE_QUANTITY (bools and strings refused)."""
    maximum = settings.ORDER_MAX_LINE_QUANTITY
    if not is_whole_number(quantity):
        raise ValidationError(details={field: ["A whole number is required."]})
    if quantity < 1:
        raise ValidationError(details={field: ["Ensure this value is greater than or equal to 1."]})
    if quantity > maximum:
        raise ValidationError(details={field: [f"Ensure this value is less than or equal to {maximum}."]})
    return quantity


def _available_product(product_id) -> Product:
    if not is_whole_number(product_id) or not 1 <= product_id <= MAX_ID:
        raise ValidationError(details={"product_id": ["A positive whole number is required."]})
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise ProductUnavailable(details={"product_id": product_id})
    return product


def _out_of_stock(product: Product, requested: int) -> OutOfStock:
    available = max(product.stock, 0)
    return OutOfStock(
        stock_message(name=product.name, available=available),
        details={"product_id": product.pk, "requested": requested, "available": available},
    )


def _locked_cart(*, user) -> Cart:
    """The user's cart, created on first use, locked: the first lock of the global lock order.

    A checkout from the cart locks this row first too, so an add waits for it instead of
    deadlocking with it (the line insert's foreign-key check on the product would otherwise wait
    for the product row the checkout holds, while the checkout waits to delete the new line).
    """
    cart = lock_cart(user=user)
    if cart is None:
        Cart.objects.get_or_create(user=user)
        cart = lock_cart(user=user)
    return cart


def add_to_cart(*, user, product_id: int, quantity: int) -> CartItem:
    """Add `quantity` units to the user's line of that product, creating the cart and line if needed.

    The cart row is locked first (the global lock order), so one change of a cart happens at a
    time; the increase is still a conditional UPDATE so the line never exceeds the stock.
    """
    validate_quantity(quantity)
    product = _available_product(product_id)
    if quantity > product.stock:
        raise _out_of_stock(product, quantity)
    limit = min(product.stock, settings.ORDER_MAX_LINE_QUANTITY)

    def attempt() -> CartItem:
        with transaction.atomic():
            cart = _locked_cart(user=user)
            item, created = CartItem.objects.get_or_create(cart=cart, product=product, defaults={"quantity": quantity})
            if created:
                return item
            updated = CartItem.objects.filter(pk=item.pk, quantity__lte=limit - quantity).update(quantity=F("quantity") + quantity)
            if not updated:
                requested = item.quantity + quantity
                if requested > product.stock:
                    raise _out_of_stock(product, requested)
                raise ValidationError(
                    details={"quantity": [f"At most {settings.ORDER_MAX_LINE_QUANTITY} of one product per order."]}
                )
            item.quantity += quantity
            return item

    return run_with_lock_retries(attempt)


def update_cart_item(*, user, item_id: int, quantity: int) -> CartItem:
    """Set the quantity of one of the user's lines; another user's line is NOT_FOUND."""
    validate_quantity(quantity)
    item = CartItem.objects.select_related("product").filter(pk=item_id, cart__user=user).first()
    if item is None:
        raise NotFound("This item is not in your cart.")
    if not item.product.is_active:
        raise ProductUnavailable(details={"product_id": item.product_id})
    if quantity > item.product.stock:
        raise _out_of_stock(item.product, quantity)

    def attempt() -> None:
        with transaction.atomic():
            lock_cart(user=user)
            if not CartItem.objects.filter(pk=item.pk).update(quantity=quantity):
                raise NotFound("This item is not in your cart.")

    run_with_lock_retries(attempt)
    item.quantity = quantity
    return item


def remove_cart_item(*, user, item_id: int) -> None:
    def attempt() -> int:
        with transaction.atomic():
            lock_cart(user=user)
            return CartItem.objects.filter(pk=item_id, cart__user=user).delete()[0]

    if not run_with_lock_retries(attempt):
        raise NotFound("This item is not in your cart.")


def clear_cart(*, user) -> None:
    CartItem.objects.filter(cart__user=user).delete()
