"""Every change to a cart. The cart is a wish list: stock is checked again, under lock, at checkout."""

from dataclasses import dataclass

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


def check_guest_line(*, product_id: int, quantity: int) -> Product:
    """A visitor's cart line (kept in the session) of `quantity` units in total: the rules add_to_cart applies."""
    if is_whole_number(quantity) and quantity > settings.ORDER_MAX_LINE_QUANTITY:
        raise ValidationError(details={"quantity": [f"At most {settings.ORDER_MAX_LINE_QUANTITY} of one product per order."]})
    validate_quantity(quantity)
    product = _available_product(product_id)
    if quantity > product.stock:
        raise _out_of_stock(product, quantity)
    return product


@dataclass(frozen=True)
class MergeShortfall:
    """A visitor's line that did not fully fit the shopper's cart: `added` of `wanted` units went in,
    and the shopper's line now holds `in_cart` (0: the product is no longer sold)."""

    product_name: str
    wanted: int
    added: int
    in_cart: int


def merge_guest_cart(*, user, quantities: dict[int, int]) -> list[MergeShortfall]:
    """Add a visitor's cart (product id → quantity) to the shopper's cart at login or sign-up.

    Each product's line ends at most at its stock and ORDER_MAX_LINE_QUANTITY; products no longer
    sold are left out. Returns the lines that did not fully fit, for the shopper to be told.
    """
    wanted = {product_id: quantity for product_id, quantity in quantities.items() if is_whole_number(quantity) and quantity > 0}
    if not wanted:
        return []
    products = Product.objects.in_bulk([product_id for product_id in wanted if is_whole_number(product_id)])

    def attempt() -> list[MergeShortfall]:
        shortfalls = []
        with transaction.atomic():
            cart = _locked_cart(user=user)
            in_cart = {item.product_id: item for item in CartItem.objects.filter(cart=cart, product_id__in=list(wanted))}
            for product_id, quantity in wanted.items():
                product = products.get(product_id)
                if product is None or not product.is_active:
                    name = product.name if product else f"Product {product_id}"
                    shortfalls.append(MergeShortfall(product_name=name, wanted=quantity, added=0, in_cart=0))
                    continue
                item = in_cart.get(product_id)
                current = item.quantity if item else 0
                target = max(current, min(current + quantity, max(product.stock, 0), settings.ORDER_MAX_LINE_QUANTITY))
                if target - current < quantity:
                    shortfalls.append(MergeShortfall(product_name=product.name, wanted=quantity, added=target - current, in_cart=target))
                if target == current:
                    continue
                if item is None:
                    CartItem.objects.create(cart=cart, product=product, quantity=target)
                else:
                    CartItem.objects.filter(pk=item.pk).update(quantity=target)
        return shortfalls

    return run_with_lock_retries(attempt)
