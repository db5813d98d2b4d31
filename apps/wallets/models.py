from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.money import format_money


class Wallet(models.Model):
    """A user's stored value. Changed only through apps.wallets.services (version-guarded UPDATE)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    balance = models.BigIntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="wallets_wallet_balance_non_negative")]

    def __str__(self) -> str:
        return f"Wallet of {self.user}"


class WalletTransaction(models.Model):
    """One ledger line: the wallet's balance always equals the sum of its lines' amounts."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed: positive adds to the balance, negative takes from it.")
    balance_after = models.BigIntegerField()
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="wallet_transactions")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["wallet", "-created_at", "-id"], name="wallet_txn_history")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_money(self.amount)}"
