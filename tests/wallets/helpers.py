"""Shared by the wallet and idempotency tests."""

import threading

from django.db import connection
from django.db.models import F, Sum

from apps.orders.models import Order
from apps.outbox.models import OutboxEvent
from apps.wallets import services
from apps.wallets.models import Wallet, WalletTransaction


def make_order(user, total: int = 1000) -> Order:
    return Order.objects.create(user=user, subtotal=total, total=total)


def snapshot(user) -> dict:
    """Everything a wallet write may change, to assert that a refused one changed nothing."""
    wallet = Wallet.objects.filter(user=user).values("balance", "version").first()
    return {
        "wallet": wallet,
        "ledger": WalletTransaction.objects.filter(wallet__user=user).count(),
        "events": OutboxEvent.objects.filter(type__startswith="wallet.").count(),
    }


def ledger_sum(wallet: Wallet) -> int:
    return WalletTransaction.objects.filter(wallet=wallet).aggregate(total=Sum("amount"))["total"] or 0


def bump_version_from_another_connection(wallet_id: int) -> None:
    """Commits a version bump on another connection: what a concurrent writer does."""

    def bump():
        try:
            Wallet.objects.filter(pk=wallet_id).update(version=F("version") + 1)
        finally:
            connection.close()

    thread = threading.Thread(target=bump)
    thread.start()
    thread.join()


def force_conflicts(monkeypatch, *, times: int) -> list[int]:
    """Makes the next `times` optimistic attempts lose: right after the service reads the version,
    another connection commits a new one, so the real UPDATE matches no row. Needs
    django_db(transaction=True). Returns a list that records each forced conflict."""
    real_read = services._read_wallet
    forced: list[int] = []

    def read_then_lose(*, user):
        state = real_read(user=user)
        if state is not None and len(forced) < times:
            bump_version_from_another_connection(state[0])
            forced.append(state[0])
        return state

    monkeypatch.setattr(services, "_read_wallet", read_then_lose)
    return forced
