"""Row locks of the cart app (select_for_update, evaluated at once)."""

from apps.cart.models import Cart


def lock_cart(*, user) -> Cart | None:
    """Lock the user's cart row, so one checkout at a time reads and empties it."""
    return Cart.objects.select_for_update().filter(user=user).order_by("pk").first()
