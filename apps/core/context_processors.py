from django.conf import settings


def shop(request):
    """What every page's layout needs: the currency and the cart's item count for the nav."""
    cart_count = 0
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from apps.cart.selectors import cart_item_count

        cart_count = cart_item_count(user=user)
    return {"CURRENCY": settings.CURRENCY, "cart_count": cart_count}
