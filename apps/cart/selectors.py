from django.db.models import Sum

from apps.cart.models import CartItem


def cart_item_count(*, user) -> int:
    """Units in the user's cart, for the navigation badge."""
    return CartItem.objects.filter(cart__user=user).aggregate(total=Sum("quantity"))["total"] or 0
