import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from apps.core import errors
from apps.outbox.models import OutboxEvent
from apps.wallets import services
from apps.wallets.metrics import WALLET_CONFLICTS_KEY
from apps.wallets.models import Wallet, WalletTransaction
from tests.factories import UserFactory
from tests.wallets.helpers import force_conflicts, ledger_sum, make_order, snapshot

pytestmark = pytest.mark.django_db


def test_charge_creates_the_wallet_a_ledger_line_and_an_event(user):
    txn = services.charge_wallet(user=user, amount=2500)

    wallet = Wallet.objects.get(user=user)
    assert (wallet.balance, wallet.version) == (2500, 1)
    assert (txn.kind, txn.amount, txn.balance_after, txn.order_id) == ("charge", 2500, 2500, None)
    assert txn.wallet.balance == 2500
    event = OutboxEvent.objects.get(type="wallet.charged")
    assert (event.aggregate_type, event.aggregate_id) == ("wallets.wallet", str(wallet.pk))
    assert event.payload["transaction_id"] == txn.pk
    assert event.payload["amount"] == 2500
    assert event.payload["balance_after"] == 2500
    assert event.payload["currency"] == "USD"


def test_balance_after_follows_each_change(user):
    order = make_order(user)
    services.charge_wallet(user=user, amount=1000)
    services.debit_wallet(user=user, amount=300, order=order)
    services.refund_wallet(user=user, amount=100, order=order)
    services.adjust_wallet(user=user, amount=-50, note="goodwill correction")

    lines = list(WalletTransaction.objects.filter(wallet__user=user).order_by("id"))
    assert [(t.kind, t.amount, t.balance_after) for t in lines] == [
        ("charge", 1000, 1000),
        ("payment", -300, 700),
        ("refund", 100, 800),
        ("adjustment", -50, 750),
    ]
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == 750 == ledger_sum(wallet)
    assert wallet.version == 4
    assert list(OutboxEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "wallet.charged",
        "wallet.debited",
        "wallet.refunded",
        "wallet.adjusted",
    ]


@pytest.mark.parametrize("amount", [0, -1, -500, 1_000_001, 10**30, "100", 10.0, 10.5, True, False, None])
def test_charge_refuses_bad_amounts_and_changes_nothing(user, amount):
    with pytest.raises(errors.ValidationError) as info:
        services.charge_wallet(user=user, amount=amount)

    assert "amount" in info.value.details
    assert not Wallet.objects.filter(user=user).exists()
    assert snapshot(user)["ledger"] == 0
    assert OutboxEvent.objects.count() == 0


def test_charge_accepts_the_limits(user, settings):
    settings.WALLET_MAX_CHARGE = 5000
    services.charge_wallet(user=user, amount=1)
    services.charge_wallet(user=user, amount=5000)
    assert Wallet.objects.get(user=user).balance == 5001


def test_charge_may_not_take_the_balance_over_the_maximum(user, settings):
    settings.WALLET_MAX_BALANCE = 10_000
    services.charge_wallet(user=user, amount=9_000)
    before = snapshot(user)

    with pytest.raises(errors.ValidationError) as info:
        services.charge_wallet(user=user, amount=1_001)

    assert "amount" in info.value.details
    assert snapshot(user) == before
    services.charge_wallet(user=user, amount=1_000)
    assert Wallet.objects.get(user=user).balance == 10_000


def test_debit_without_enough_money_raises_and_changes_nothing(user):
    services.charge_wallet(user=user, amount=500)
    before = snapshot(user)

    with pytest.raises(errors.InsufficientBalance) as info:
        services.debit_wallet(user=user, amount=501, order=make_order(user))

    assert info.value.details == {"balance": 500, "required": 501}
    assert snapshot(user) == before


def test_debit_of_a_user_without_wallet_is_insufficient(user):
    with pytest.raises(errors.InsufficientBalance) as info:
        services.debit_wallet(user=user, amount=1, order=make_order(user))
    assert info.value.details == {"balance": 0, "required": 1}
    assert snapshot(user)["ledger"] == 0


def test_debit_takes_part_in_the_callers_transaction(user):
    services.charge_wallet(user=user, amount=1000)
    before = snapshot(user)

    with pytest.raises(RuntimeError), transaction.atomic():
        txn = services.debit_wallet(user=user, amount=400, order=make_order(user))
        assert txn.wallet.balance == 600
        assert (txn.kind, txn.amount, txn.balance_after) == ("payment", -400, 600)
        raise RuntimeError("the order failed after paying")

    assert snapshot(user) == before


@pytest.mark.parametrize("amount", [0, -5, "5", 5.0, True])
def test_debit_and_refund_refuse_non_positive_or_non_integer_amounts(user, amount):
    services.charge_wallet(user=user, amount=1000)
    order = make_order(user)
    before = snapshot(user)
    with pytest.raises(errors.ValidationError):
        services.debit_wallet(user=user, amount=amount, order=order)
    with pytest.raises(errors.ValidationError):
        services.refund_wallet(user=user, amount=amount, order=order)
    assert snapshot(user) == before


def test_refund_is_not_capped_by_the_maximum_balance(user, settings):
    settings.WALLET_MAX_BALANCE = 1000
    order = make_order(user)
    services.charge_wallet(user=user, amount=1000)
    services.debit_wallet(user=user, amount=400, order=order)
    services.charge_wallet(user=user, amount=400)

    txn = services.refund_wallet(user=user, amount=400, order=order)

    assert (txn.kind, txn.amount, txn.balance_after, txn.order_id) == ("refund", 400, 1400, order.pk)


def test_adjust_needs_a_non_zero_integer_and_a_note(user):
    services.charge_wallet(user=user, amount=100)
    before = snapshot(user)
    for amount, note, field in [(0, "x", "amount"), ("1", "x", "amount"), (5, "", "note"), (5, "   ", "note"), (5, "n" * 256, "note")]:
        with pytest.raises(errors.ValidationError) as info:
            services.adjust_wallet(user=user, amount=amount, note=note)
        assert field in info.value.details
    with pytest.raises(errors.InsufficientBalance):
        services.adjust_wallet(user=user, amount=-101, note="too much")
    assert snapshot(user) == before

    txn = services.adjust_wallet(user=user, amount=-100, note="  chargeback  ")
    assert (txn.kind, txn.amount, txn.balance_after, txn.note) == ("adjustment", -100, 0, "chargeback")


@pytest.mark.django_db(transaction=True)
def test_a_lost_race_is_retried_and_counted(monkeypatch, settings):
    settings.WALLET_MAX_RETRIES = 3
    user = UserFactory()
    services.charge_wallet(user=user, amount=100)
    forced = force_conflicts(monkeypatch, times=2)

    txn = services.charge_wallet(user=user, amount=50)

    assert len(forced) == 2
    assert cache.get(WALLET_CONFLICTS_KEY) == 2
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == txn.balance_after == 150 == ledger_sum(wallet)
    assert wallet.version == 1 + 2 + 1  # first charge, two foreign bumps, this charge


@pytest.mark.django_db(transaction=True)
def test_exhausted_retries_raise_concurrent_update_and_change_nothing(monkeypatch, settings):
    settings.WALLET_MAX_RETRIES = 0
    user = UserFactory()
    services.charge_wallet(user=user, amount=100)
    before = snapshot(user)
    forced = force_conflicts(monkeypatch, times=1)

    with pytest.raises(errors.ConcurrentUpdate):
        services.charge_wallet(user=user, amount=50)

    after = snapshot(user)
    assert len(forced) == 1
    assert after["wallet"] == {"balance": 100, "version": before["wallet"]["version"] + 1}  # only the foreign bump
    assert (after["ledger"], after["events"]) == (before["ledger"], before["events"])


@pytest.mark.django_db(transaction=True)
def test_money_spent_by_the_race_winner_is_insufficient_balance_not_a_retry(monkeypatch):
    """An optimistic loser (a stand-alone adjustment) re-reads: the balance is now too low, so it fails at once with the current balance."""
    user = UserFactory()
    services.charge_wallet(user=user, amount=1000)
    order = make_order(user)
    real_read = services._read_wallet
    spent = []

    def read_then_winner_pays(*, user):
        state = real_read(user=user)
        if not spent:
            spent.append(True)
            thread = threading.Thread(target=_debit_in_thread, args=(user, 800, order))
            thread.start()
            thread.join()
        return state

    monkeypatch.setattr(services, "_read_wallet", read_then_winner_pays)

    with pytest.raises(errors.InsufficientBalance) as info:
        services.adjust_wallet(user=user, amount=-500, note="correction")

    assert info.value.details == {"balance": 200, "required": 500}
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == 200 == ledger_sum(wallet)
    assert cache.get(WALLET_CONFLICTS_KEY) == 1


def _debit_in_thread(user, amount, order):
    try:
        services.debit_wallet(user=user, amount=amount, order=order)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_get_or_create_wallet_is_race_safe():
    user = UserFactory()
    barrier = threading.Barrier(8)
    wallet_ids, failures = [], []

    def worker():
        try:
            barrier.wait()
            wallet_ids.append(services.get_or_create_wallet(user=user).pk)
        except Exception as exc:  # collected and asserted below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Wallet.objects.filter(user=user).count() == 1
    assert set(wallet_ids) == {Wallet.objects.get(user=user).pk}
