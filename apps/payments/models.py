"""Payment: how an order is paid, and where its money stands at the payment gateway (PG).

One payment per order, held by the database (a OneToOne, so a unique index on every backend). An
order is never paid twice: a declined or expired card order is final and "try again" places a new
order, so "one active payment per order" and "one payment per order" are the same rule here. A
conditional unique index ("one *active* payment") would be needed only if an order could be retried
in place, and MySQL/MariaDB do not have partial indexes.

The full card number is never stored: only its brand and last four digits (see apps.payments.cards).
"""

from django.db import models
from django.db.models import Q


class Payment(models.Model):
    class Method(models.TextChoices):
        WALLET = "wallet", "Wallet"
        CARD = "card", "Card"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        REFUND_PENDING = "refund_pending", "Refund pending"
        REFUNDED = "refunded", "Refunded"
        VOIDED = "voided", "Voided"

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="payment")
    method = models.CharField(max_length=8, choices=Method.choices)
    amount = models.BigIntegerField(help_text="Minor units.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Set once the PG has accepted the request; NULL until then (a unique index admits many NULLs).
    transaction_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # NULL, not "", when not applicable (a wallet payment, no failure): API.md's Payment shows null.
    card_brand = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    card_last4 = models.CharField(max_length=4, null=True, blank=True)  # noqa: DJ001
    failure_reason = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # Calls made to the PG for the current step (the payment request, then a refund), and when the
    # next one is due: the request task, the reconciler and the refund retries back off with these.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When the PG accepted the payment request.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_payment_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(method="card") | (Q(card_brand__isnull=True) & Q(card_last4__isnull=True) & Q(transaction_key__isnull=True)),
                name="payments_payment_card_fields_only_for_cards",
            ),
        ]
        indexes = [
            # The reconciler and the refund retries: "pending (or refund_pending) and due".
            models.Index(fields=["status", "next_attempt_at"], name="payment_status_due"),
            # Pending payments oldest first (expiry sweeps, "pending for longer than N seconds").
            models.Index(fields=["status", "requested_at"], name="payment_status_requested"),
            models.Index(fields=["status", "created_at"], name="payment_status_created"),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk} ({self.method}, {self.status})"
