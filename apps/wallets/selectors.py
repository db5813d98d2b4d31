from django.db.models import QuerySet

from apps.wallets.models import Wallet, WalletTransaction


def wallet_balance(*, user) -> int:
    """The user's balance; 0 when the wallet was never used (reads create nothing)."""
    return Wallet.objects.filter(user=user).values_list("balance", flat=True).first() or 0


def wallet_transactions(*, user) -> QuerySet[WalletTransaction]:
    """The user's ledger, newest first (served by the wallet_txn_history index)."""
    return WalletTransaction.objects.filter(wallet__user=user).order_by("-created_at", "-id")
