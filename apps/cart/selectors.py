from dataclasses import dataclass

from django.db.models import Sum

from apps.cart.models import CartItem


@dataclass(frozen=True)
class CartLine:
    item: CartItem
    line_total: int

    @property
    def id(self) -> int:
        return self.item.pk

    @property
    def product(self):
        return self.item.product

    @property
    def quantity(self) -> int:
        return self.item.quantity


@dataclass(frozen=True)
class CartSummary:
    lines: list[CartLine]
    subtotal: int

    @property
    def is_empty(self) -> bool:
        return not self.lines


def cart_item_count(*, user) -> int:
    """Units in the user's cart, for the navigation badge."""
    return CartItem.objects.filter(cart__user=user).aggregate(total=Sum("quantity"))["total"] or 0


def cart_summary(*, user) -> CartSummary:
    """The user's cart lines at today's prices, oldest line first, with the subtotal."""
    items = CartItem.objects.filter(cart__user=user).select_related("product", "product__category").order_by("added_at", "id")
    lines = [CartLine(item=item, line_total=item.product.price * item.quantity) for item in items]
    return CartSummary(lines=lines, subtotal=sum(line.line_total for line in lines))


def cart_quantities(*, user) -> dict[int, int]:
    """product_id → quantity of the user's cart lines (for checkout, which locks the cart first)."""
    return dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))
