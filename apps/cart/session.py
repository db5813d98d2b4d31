"""A visitor's cart, kept in the session (product id → quantity) until login or sign-up merges it.

Nothing is reserved: like the shopper's cart it is a wish list, checked again at checkout. The
rules on what may go in are the services' (services.check_guest_line, services.merge_guest_cart).
"""

from django.contrib import messages

from apps.cart import services
from apps.cart.selectors import CartSummary
from apps.catalog.models import Product

SESSION_KEY = "guest_cart"


class GuestLine:
    """A session line shaped like selectors.CartLine; its id is the product's."""

    def __init__(self, product: Product, quantity: int):
        self.product = product
        self.quantity = quantity
        self.id = product.pk
        self.line_total = product.price * quantity


def quantities(session) -> dict[int, int]:
    """product id → quantity (the session stores JSON, so keys come back as strings)."""
    stored = session.get(SESSION_KEY) or {}
    return {int(product_id): int(quantity) for product_id, quantity in stored.items()}


def _save(session, lines: dict[int, int]) -> None:
    session[SESSION_KEY] = {str(product_id): quantity for product_id, quantity in lines.items()}


def item_count(session) -> int:
    return sum(quantities(session).values())


def add(session, *, product_id: int, quantity: int) -> GuestLine:
    lines = quantities(session)
    total = lines.get(product_id, 0) + quantity
    product = services.check_guest_line(product_id=product_id, quantity=total)
    lines[product_id] = total
    _save(session, lines)
    return GuestLine(product, total)


def set_quantity(session, *, product_id: int, quantity: int) -> GuestLine | None:
    """The line's new quantity; None when the product is not in the visitor's cart."""
    lines = quantities(session)
    if product_id not in lines:
        return None
    product = services.check_guest_line(product_id=product_id, quantity=quantity)
    lines[product_id] = quantity
    _save(session, lines)
    return GuestLine(product, quantity)


def remove(session, *, product_id: int) -> bool:
    lines = quantities(session)
    if lines.pop(product_id, None) is None:
        return False
    _save(session, lines)
    return True


def summary(session) -> CartSummary:
    """The visitor's lines at today's prices, in the order they were added; deleted products dropped."""
    lines = quantities(session)
    products = Product.objects.select_related("category").in_bulk(list(lines))
    rows = [GuestLine(products[product_id], quantity) for product_id, quantity in lines.items() if product_id in products]
    return CartSummary(lines=rows, subtotal=sum(row.line_total for row in rows))


def merge_into_user_cart(request) -> None:
    """After login or sign-up: the visitor's lines join the shopper's cart, and the shopper hears what did not fit."""
    lines = quantities(request.session)
    if not lines:
        return
    shortfalls = services.merge_guest_cart(user=request.user, quantities=lines)
    request.session.pop(SESSION_KEY, None)
    for shortfall in shortfalls:
        if shortfall.in_cart == 0:
            messages.warning(request, f"{shortfall.product_name} is no longer available and was not added to your cart.")
        else:
            messages.warning(
                request,
                f"{shortfall.product_name}: your cart holds {shortfall.in_cart}, the most available "
                f"(you had chosen {shortfall.wanted} before logging in).",
            )
