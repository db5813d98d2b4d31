from apps.cart import session as guest_cart
from apps.cart.selectors import cart_item_count


def cart(request):
    """Units in the cart for every page's nav: the shopper's, or a visitor's session cart."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return {"cart_count": cart_item_count(user=user)}
    session = getattr(request, "session", None)
    return {"cart_count": guest_cart.item_count(session) if session is not None else 0}
