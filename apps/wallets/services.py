"""Wallet writes: optimistic, version-guarded UPDATEs with bounded retries, one ledger line each.

Every change runs `UPDATE wallet SET balance = balance + x, version = version + 1 WHERE id = ? AND
version = ? AND balance >= needed` (DESIGN.md). MySQL counts matched rows, so 1 means the version we
read was still current; 0 means another writer got there first: re-read, and either fail with
InsufficientBalance (the money really is gone) or retry after a short jittered sleep, at most
WALLET_MAX_RETRIES times, then ConcurrentUpdate. Each attempt is its own atomic() block.

Orders pay and refund inside their own transaction, which already holds product locks: there the
wallet row is locked (wallets.locks.lock_wallet, after products and coupon in the global lock
order) and changed once, instead of sleeping in a retry loop while others wait for those products.
"""

import random
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from apps.core import errors
from apps.core.money import format_money
from apps.core.transactions import current_or_new_transaction
from apps.core.validation import is_whole_number
from apps.outbox.services import publish
from apps.wallets.locks import lock_wallet
from apps.wallets.metrics import WALLET_CONFLICTS_KEY
from apps.wallets.models import Wallet, WalletTransaction

RETRY_SLEEP_BASE_SECONDS = 0.005
RETRY_SLEEP_CAP_SECONDS = 0.05

_EVENT_TYPES = {
    WalletTransaction.Kind.CHARGE: "wallet.charged",
    WalletTransaction.Kind.PAYMENT: "wallet.debited",
    WalletTransaction.Kind.REFUND: "wallet.refunded",
    WalletTransaction.Kind.ADJUSTMENT: "wallet.adjusted",
}


def get_or_create_wallet(*, user) -> Wallet:
    """The user's wallet, created on first use.

    get_or_create inserts inside a savepoint and, on the IntegrityError of a concurrent insert of
    the same user (unique user_id), reads the winner's row: safe under READ COMMITTED.
    """
    wallet, _ = Wallet.objects.get_or_create(user=user)
    return wallet


def charge_wallet(*, user, amount: int) -> WalletTransaction:
    _require_int(amount)
    if not 1 <= amount <= settings.WALLET_MAX_CHARGE:
        raise _amount_error(f"Enter an amount between {format_money(1)} and {format_money(settings.WALLET_MAX_CHARGE)}.")
    return _change_balance(user=user, amount=amount, kind=WalletTransaction.Kind.CHARGE, capped=True)


def debit_wallet(*, user, amount: int, order) -> WalletTransaction:
    """Pays `amount` for `order` under the wallet's row lock, inside the caller's (the order's) transaction."""
    _require_positive_int(amount)
    return _change_locked_balance(user=user, amount=-amount, kind=WalletTransaction.Kind.PAYMENT, order=order)


def refund_wallet(*, user, amount: int, order) -> WalletTransaction:
    """Gives back money paid for `order`, like debit_wallet. Not capped by WALLET_MAX_BALANCE: it was the shopper's already."""
    _require_positive_int(amount)
    return _change_locked_balance(user=user, amount=amount, kind=WalletTransaction.Kind.REFUND, order=order)


def adjust_wallet(*, user, amount: int, note: str) -> WalletTransaction:
    """A staff correction by a signed amount, with a note saying why."""
    _require_int(amount)
    if amount == 0:
        raise _amount_error("Enter an amount other than zero.")
    note = (note or "").strip()
    if not note:
        raise errors.ValidationError(details={"note": ["Say why the balance is adjusted."]})
    if len(note) > WalletTransaction._meta.get_field("note").max_length:
        raise errors.ValidationError(details={"note": ["Keep the note under 255 characters."]})
    return _change_balance(user=user, amount=amount, kind=WalletTransaction.Kind.ADJUSTMENT, note=note, capped=True)


def _change_balance(*, user, amount: int, kind: str, order=None, note: str = "", capped: bool = False) -> WalletTransaction:
    conflicts = 0
    while True:
        state = _read_wallet(user=user)
        if state is None:
            get_or_create_wallet(user=user)
            continue
        wallet_id, balance, version = state
        if balance + amount < 0:
            raise errors.InsufficientBalance(details={"balance": balance, "required": -amount})
        if capped and amount > 0 and balance + amount > settings.WALLET_MAX_BALANCE:
            raise _amount_error(
                f"A wallet can hold at most {format_money(settings.WALLET_MAX_BALANCE)}; "
                f"you can add up to {format_money(max(settings.WALLET_MAX_BALANCE - balance, 0))}."
            )
        if conflicts > settings.WALLET_MAX_RETRIES:
            raise errors.ConcurrentUpdate(details={"retries": settings.WALLET_MAX_RETRIES})
        # No savepoint: nothing is written unless the guarded UPDATE matches.
        with current_or_new_transaction():
            matched = Wallet.objects.filter(pk=wallet_id, version=version, balance__gte=max(-amount, 0)).update(
                balance=F("balance") + amount, version=F("version") + 1, updated_at=timezone.now()
            )
            if matched == 1:
                # The UPDATE matched exactly the version we read, so the balance we read is the one it changed.
                wallet = Wallet(pk=wallet_id, user=user, balance=balance + amount, version=version + 1)
                return _record(wallet=wallet, amount=amount, kind=kind, order=order, note=note)
        conflicts += 1
        if conflicts <= settings.WALLET_MAX_RETRIES:
            _count_retried_conflict()
            time.sleep(random.uniform(0, min(RETRY_SLEEP_CAP_SECONDS, RETRY_SLEEP_BASE_SECONDS * 2**conflicts)))


def hold_wallet_for(*, user, amount: int) -> Wallet | None:
    """Inside an order's transaction: lock the user's wallet row and check it holds `amount`, before anything is written.

    The row stays locked until the order commits, so pay_from_wallet() later in the same
    transaction cannot fail for want of money. Returns None when there is nothing to pay.
    """
    if amount == 0:
        return None
    _require_positive_int(amount)
    wallet = lock_wallet(user=user)
    balance = wallet.balance if wallet is not None else 0
    if balance < amount:
        raise errors.InsufficientBalance(details={"balance": balance, "required": amount})
    return wallet


def pay_from_wallet(*, wallet: Wallet, amount: int, order) -> WalletTransaction:
    """After hold_wallet_for(), in the same transaction: take `amount` for `order`."""
    return _apply_to_locked(wallet=wallet, amount=-amount, kind=WalletTransaction.Kind.PAYMENT, order=order)


def _change_locked_balance(*, user, amount: int, kind: str, order) -> WalletTransaction:
    """Inside the caller's transaction (no savepoint of its own: it refuses before it writes), or in its own."""
    with current_or_new_transaction():
        wallet = lock_wallet(user=user)
        if wallet is None:
            if amount < 0:
                raise errors.InsufficientBalance(details={"balance": 0, "required": -amount})
            get_or_create_wallet(user=user)
            wallet = lock_wallet(user=user)
        if wallet.balance + amount < 0:
            raise errors.InsufficientBalance(details={"balance": wallet.balance, "required": -amount})
        return _apply_to_locked(wallet=wallet, amount=amount, kind=kind, order=order)


def _apply_to_locked(*, wallet: Wallet, amount: int, kind: str, order) -> WalletTransaction:
    Wallet.objects.filter(pk=wallet.pk).update(balance=F("balance") + amount, version=F("version") + 1, updated_at=timezone.now())
    wallet.balance, wallet.version = wallet.balance + amount, wallet.version + 1
    return _record(wallet=wallet, amount=amount, kind=kind, order=order, note="")


def _read_wallet(*, user) -> tuple[int, int, int] | None:
    """(id, balance, version) of the user's wallet, or None when there is none yet: one read per attempt."""
    return Wallet.objects.filter(user=user).values_list("pk", "balance", "version").first()


def _record(*, wallet: Wallet, amount: int, kind: str, order, note: str) -> WalletTransaction:
    txn = WalletTransaction.objects.create(wallet=wallet, kind=kind, amount=amount, balance_after=wallet.balance, order=order, note=note)
    publish(
        type=_EVENT_TYPES[kind],
        aggregate=wallet,
        data={
            "wallet_id": wallet.pk,
            "user_id": wallet.user_id,
            "transaction_id": txn.pk,
            "kind": kind,
            "amount": amount,
            "balance_after": txn.balance_after,
            "currency": settings.CURRENCY,
            "order_id": txn.order_id,
            "created_at": txn.created_at.isoformat(),
        },
    )
    return txn


def _count_retried_conflict() -> None:
    """Shared across processes (Redis), so tests and /metrics see every worker's conflicts."""
    try:
        cache.incr(WALLET_CONFLICTS_KEY)
    except ValueError:
        cache.add(WALLET_CONFLICTS_KEY, 0, timeout=None)
        cache.incr(WALLET_CONFLICTS_KEY)


def _require_int(amount) -> None:
    if not is_whole_number(amount):
        raise _amount_error("The amount must be a whole number of minor units (cents).")


def _require_positive_int(amount) -> None:
    _require_int(amount)
    if amount < 1:
        raise _amount_error("The amount must be positive.")


def _amount_error(message: str) -> errors.ValidationError:
    return errors.ValidationError(message, details={"amount": [message]})
