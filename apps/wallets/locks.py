"""Row locks of wallets: select_for_update querysets, evaluated at once."""

from apps.wallets.models import Wallet


def lock_wallet(*, user) -> Wallet | None:
    """Lock the user's wallet row (None when the user has none yet).

    Used inside an order's transaction, after the product and coupon locks (the global lock
    order): a checkout then waits its turn for the row instead of retrying optimistically while it
    holds product locks others wait for.
    """
    return Wallet.objects.select_for_update().filter(user=user).order_by("pk").first()
