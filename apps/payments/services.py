"""Payment writes that do not move the order: creating a payment and recording the PG's acceptance.

The order state machine (paid, payment_failed, expired, cancelled) lives in apps.orders.services
and moves the payment's status in the same transaction as the order's.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import PaymentUnavailable
from apps.payments import cards, gateway
from apps.payments.models import Payment

if TYPE_CHECKING:
    from apps.orders.models import Order

logger = logging.getLogger(__name__)

# A payment request that failed (gateway down, breaker open) is tried again after
# random(0, min(cap, base * 2**attempts)) seconds, until the order expires.
REQUEST_RETRY_BASE_SECONDS = 1.0
REQUEST_RETRY_CAP_SECONDS = 60.0


def create_payment(*, order: Order, method: str, amount: int, card_digits: str | None = None) -> Payment:
    """The order's payment, inside the caller's order transaction; a card keeps only brand and last 4."""
    if method == Payment.Method.CARD:
        if card_digits is None:
            raise ValueError("a card payment needs the card's digits (from cards.validate)")
        card = cards.describe(card_digits)
        return Payment.objects.create(order=order, method=method, amount=amount, card_brand=card.brand, card_last4=card.last4)
    return Payment.objects.create(order=order, method=method, amount=amount, status=Payment.Status.APPROVED)


def record_payment_requested(*, payment_id: int, transaction_key: str) -> bool:
    """The PG accepted the request: keep its transaction key (once; a second identical call is a no-op).

    The reconciler asks about the payment from PAYMENT_RECONCILE_AFTER_SECONDS on. Returns False when
    the payment already holds another key (never expected: the request is idempotent at the PG).
    """
    now = timezone.now()
    updated = Payment.objects.filter(pk=payment_id, transaction_key__isnull=True).update(
        transaction_key=transaction_key,
        requested_at=now,
        attempts=0,
        next_attempt_at=now + timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS),
        updated_at=now,
    )
    return bool(updated) or Payment.objects.filter(pk=payment_id, transaction_key=transaction_key).exists()


def record_payment_request_failed(*, payment_id: int) -> float:
    """Count a failed request to the PG; returns the delay before the next one (full jitter, capped)."""
    with transaction.atomic():
        Payment.objects.filter(pk=payment_id, transaction_key__isnull=True).update(attempts=F("attempts") + 1, updated_at=timezone.now())
        attempts = Payment.objects.filter(pk=payment_id).values_list("attempts", flat=True).first() or 1
        delay = random.uniform(0, min(REQUEST_RETRY_CAP_SECONDS, REQUEST_RETRY_BASE_SECONDS * 2**attempts))
        Payment.objects.filter(pk=payment_id).update(next_attempt_at=timezone.now() + timedelta(seconds=delay))
    return delay


@dataclass(frozen=True)
class RequestOutcome:
    result: str  # requested, already_requested, not_pending, unreadable_card, rejected, retry
    retry_in: float | None = None  # seconds before trying again, when worth it


def request_card_payment(*, payment_id: int, sealed_card: str) -> RequestOutcome:
    """Send a pending card payment to the PG (no transaction open) and keep its transaction key.

    Runs in the request_payment task. Idempotent: a payment that already has its key, or is no
    longer pending, is left alone; the PG gets the payment's idempotency key, so a run repeated after
    a lost answer gets the same transaction back. The card number is unsealed only for the call.
    """
    payment = Payment.objects.filter(pk=payment_id, method=Payment.Method.CARD).first()
    if payment is None or payment.status != Payment.Status.PENDING:
        return RequestOutcome("not_pending")
    if payment.transaction_key:
        return RequestOutcome("already_requested")
    try:
        card_number = cards.unseal(sealed_card)
    except cards.SealedCardUnreadable:
        logger.warning("payment %s: the sealed card number cannot be opened; the order will expire", payment_id)
        return RequestOutcome("unreadable_card")
    try:
        answer = gateway.gateway().create_payment(
            order_id=payment.order_id,
            amount=payment.amount,
            currency=settings.CURRENCY,
            card_number=card_number,
            idempotency_key=gateway.payment_idempotency_key(payment.pk),
        )
    except gateway.GatewayRejected as exc:
        logger.error("payment %s: the PG refused the request (%s); the order will expire", payment_id, exc.status_code)
        return RequestOutcome("rejected")
    except (PaymentUnavailable, gateway.GatewayUnreachable) as exc:
        delay = record_payment_request_failed(payment_id=payment_id)
        if isinstance(exc, PaymentUnavailable):
            delay = max(delay, float(exc.retry_after))
        deadline = payment.created_at + timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS)
        worth_it = timezone.now() + timedelta(seconds=delay) < deadline
        logger.warning("payment %s: the PG is unavailable (%s)%s", payment_id, type(exc).__name__, f"; again in {delay:.1f} s" if worth_it else "")
        return RequestOutcome("retry", delay if worth_it else None)
    record_payment_requested(payment_id=payment_id, transaction_key=answer.transaction_key)
    return RequestOutcome("requested")
