"""50 charges and debits racing on one wallet, on real threads against MariaDB."""

import random
import threading

import pytest
from django.core.cache import cache
from django.db import connection

from apps.core import errors
from apps.outbox.models import OutboxEvent
from apps.wallets import services
from apps.wallets.metrics import WALLET_CONFLICTS_KEY
from apps.wallets.models import Wallet, WalletTransaction
from tests.factories import UserFactory
from tests.wallets.helpers import ledger_sum, make_order

INITIAL = 1_000
CHARGES = 25
DEBITS = 25


@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_and_debits_keep_every_cent():
    user = UserFactory()
    services.charge_wallet(user=user, amount=INITIAL)
    rng = random.Random(4)
    work = [("charge", rng.randint(50, 150), None) for _ in range(CHARGES)]
    # Debits ask for 7,500 in total while at most 1,000 + 25 * 150 = 4,750 ever exists: some must fail.
    work += [("debit", 300, make_order(user, total=300)) for _ in range(DEBITS)]
    rng.shuffle(work)
    barrier = threading.Barrier(len(work))
    outcomes = []  # (kind, amount, outcome), list.append is atomic
    unexpected = []

    def worker(kind, amount, order):
        try:
            barrier.wait()
            if kind == "charge":
                services.charge_wallet(user=user, amount=amount)
            else:
                services.debit_wallet(user=user, amount=amount, order=order)
            outcomes.append((kind, amount, "ok"))
        except errors.InsufficientBalance as exc:
            assert exc.details["balance"] < exc.details["required"] == amount
            outcomes.append((kind, amount, "insufficient"))
        except errors.ConcurrentUpdate:
            outcomes.append((kind, amount, "conflict"))
        except Exception as exc:  # collected and asserted below
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item) for item in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert len(outcomes) == CHARGES + DEBITS
    charged = sum(amount for kind, amount, outcome in outcomes if kind == "charge" and outcome == "ok")
    debited = sum(amount for kind, amount, outcome in outcomes if kind == "debit" and outcome == "ok")
    succeeded = sum(1 for _, _, outcome in outcomes if outcome == "ok")
    insufficient = sum(1 for _, _, outcome in outcomes if outcome == "insufficient")
    assert insufficient >= 1
    assert all(outcome != "insufficient" for kind, _, outcome in outcomes if kind == "charge")

    wallet = Wallet.objects.get(user=user)
    # No lost update: every success, and only successes, moved the balance.
    assert wallet.balance == INITIAL + charged - debited
    assert wallet.balance == ledger_sum(wallet)
    assert wallet.balance >= 0
    assert wallet.version == 1 + succeeded
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 1 + succeeded
    assert OutboxEvent.objects.filter(type__in=["wallet.charged", "wallet.debited"]).count() == 1 + succeeded
    paid_orders = set(WalletTransaction.objects.filter(wallet=wallet, kind="payment").values_list("order_id", flat=True))
    assert len(paid_orders) == sum(1 for kind, _, outcome in outcomes if kind == "debit" and outcome == "ok")

    # Lines were written while holding the wallet row, so in id order each balance_after follows the last.
    running = 0
    for amount, balance_after in WalletTransaction.objects.filter(wallet=wallet).order_by("id").values_list("amount", "balance_after"):
        running += amount
        assert balance_after == running >= 0

    # The race really happened and the losers retried.
    assert int(cache.get(WALLET_CONFLICTS_KEY) or 0) > 0
