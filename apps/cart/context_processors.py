from apps.cart.selectors import cart_item_count


def cart(request):
    """The cart's item count for every page's nav (0 for visitors who are not logged in)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"cart_count": 0}
    return {"cart_count": cart_item_count(user=user)}
