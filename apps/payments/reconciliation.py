"""What the shop does with the gateway after an order is placed: ask again, expire, refund.

Each runs in a Celery task (beat for the sweeps, on commit for refunds), never inside a database
transaction: the gateway is asked first, then the answer is applied through the order's state
machine (apps.orders.services), whose guarded transitions make every outcome happen once even when
a callback, the reconciler, the expiry sweep and the shopper's cancel arrive together. Sweeps take
bounded batches and claim each payment by moving its `next_attempt_at` (a guarded UPDATE), so two
workers running the same sweep do not ask about the same payment twice.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import PaymentUnavailable
from apps.orders.models import Order
from apps.orders.services import expire_order, record_payment_outcome
from apps.outbox.services import publish
from apps.payments import gateway
from apps.payments.models import Payment

logger = logging.getLogger(__name__)

SWEEP_BATCH = 100
# While a sweep asks the gateway about a payment, nobody else does for this long.
CLAIM_SECONDS = 60
RETRY_BASE_SECONDS = 2.0
RETRY_CAP_SECONDS = 300.0
_FAILURES = (PaymentUnavailable, gateway.GatewayError)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**attempts)))


def _claim(payment: Payment) -> bool:
    now = timezone.now()
    return bool(
        Payment.objects.filter(pk=payment.pk, status=payment.status, next_attempt_at=payment.next_attempt_at).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), updated_at=now
        )
    )


def _try_later(payment: Payment) -> None:
    Payment.objects.filter(pk=payment.pk, status=payment.status).update(
        attempts=F("attempts") + 1, next_attempt_at=timezone.now() + _backoff(payment.attempts + 1), updated_at=timezone.now()
    )


def apply_gateway_answer(*, payment: Payment, answer: gateway.PgPayment) -> bool:
    """Apply a final answer (approved or declined) as the callback would; False while the PG still says pending."""
    if answer.status not in ("approved", "declined"):
        return False
    record_payment_outcome(
        order_id=payment.order_id, transaction_key=payment.transaction_key, approved=answer.status == "approved", reason=answer.reason
    )
    return True


def reconcile_pending_payments(*, batch: int = SWEEP_BATCH) -> int:
    """Ask the gateway about card payments still pending PAYMENT_RECONCILE_AFTER_SECONDS after the request.

    A lost callback is found here. Returns how many payments got their final answer.
    """
    due = list(
        Payment.objects.filter(status=Payment.Status.PENDING, next_attempt_at__lte=timezone.now(), transaction_key__isnull=False)
        .order_by("next_attempt_at")[:batch]
    )
    settled = 0
    for payment in due:
        if not _claim(payment):
            continue
        try:
            answer = gateway.gateway().get_payment(payment.transaction_key)
        except _FAILURES as exc:
            logger.warning("payment %s: status query failed (%s); asking again later", payment.pk, type(exc).__name__)
            _try_later(payment)
            continue
        if apply_gateway_answer(payment=payment, answer=answer):
            settled += 1
        else:
            _try_later(payment)
    return settled


def expire_overdue_orders(*, batch: int = SWEEP_BATCH) -> int:
    """Card orders past `expires_at`: ask the gateway once more, then expire what is still unpaid.

    Returns how many orders were expired. If the gateway cannot be asked the order expires anyway:
    an approval that arrives later is refunded.
    """
    overdue = list(
        Order.objects.filter(status=Order.Status.PENDING_PAYMENT, expires_at__lte=timezone.now())
        .order_by("expires_at")
        .values_list("pk", flat=True)[:batch]
    )
    expired = 0
    for order_id in overdue:
        payment = Payment.objects.filter(order_id=order_id, status=Payment.Status.PENDING, transaction_key__isnull=False).first()
        if payment is not None:
            try:
                if apply_gateway_answer(payment=payment, answer=gateway.gateway().get_payment(payment.transaction_key)):
                    continue
            except _FAILURES as exc:
                logger.warning("order %s: last status query before expiry failed (%s)", order_id, type(exc).__name__)
        if expire_order(order_id=order_id) is not None:
            expired += 1
    return expired


def refund_payment(*, payment_id: int) -> str:
    """Give back at the gateway what it took for an order the shop did not keep; retried until confirmed.

    `refund_pending` → the PG's refund → `refunded` with a `payment.refunded` event. A voided
    payment (its order ended before the PG answered) is voided at the PG once, best effort: if the
    PG approves it anyway, that approval is refunded like any other.
    """
    payment = Payment.objects.select_related("order").filter(pk=payment_id).first()
    if payment is None or not payment.transaction_key or payment.status not in (Payment.Status.REFUND_PENDING, Payment.Status.VOIDED):
        return "nothing to do"
    try:
        gateway.gateway().refund(payment.transaction_key)
    except _FAILURES as exc:
        if payment.status == Payment.Status.VOIDED:
            logger.warning("payment %s: void at the PG failed (%s); a later approval would be refunded", payment.pk, type(exc).__name__)
            return "void not confirmed"
        logger.warning("payment %s: refund failed (%s); trying again later", payment.pk, type(exc).__name__)
        _try_later(payment)
        return "retry"
    if payment.status == Payment.Status.VOIDED:
        return "voided"
    with transaction.atomic():
        now = timezone.now()
        if Payment.objects.filter(pk=payment.pk, status=Payment.Status.REFUND_PENDING).update(status=Payment.Status.REFUNDED, updated_at=now):
            publish(
                type="payment.refunded",
                aggregate=payment.order,
                data={
                    "order_id": payment.order_id,
                    "payment_id": payment.pk,
                    "method": payment.method,
                    "amount": payment.amount,
                    "currency": settings.CURRENCY,
                    "transaction_key": payment.transaction_key,
                    "refunded_at": now.isoformat(),
                },
            )
    return "refunded"


def retry_due_refunds(*, batch: int = SWEEP_BATCH) -> int:
    """Refunds whose last try failed, when their backoff is over."""
    due = list(Payment.objects.filter(status=Payment.Status.REFUND_PENDING, next_attempt_at__lte=timezone.now()).order_by("next_attempt_at")[:batch])
    done = 0
    for payment in due:
        if _claim(payment) and refund_payment(payment_id=payment.pk) == "refunded":
            done += 1
    return done


def ask_gateway_now(*, payment_id: int) -> str:
    """Staff's "ask the PG now" for a pending card payment: the gateway's answer, applied as the callback would be.

    Returns the PG's status ("approved" or "declined", then applied; "pending" while it has not
    decided), "not_pending" for a payment that is no longer waiting, or "not_requested" when the PG
    has not accepted the request yet (nothing to ask about). Raises PaymentUnavailable or
    GatewayError when the gateway cannot be asked; nothing changes then.
    """
    payment = Payment.objects.filter(pk=payment_id, method=Payment.Method.CARD).first()
    if payment is None or payment.status != Payment.Status.PENDING:
        return "not_pending"
    if not payment.transaction_key:
        return "not_requested"
    answer = gateway.gateway().get_payment(payment.transaction_key)
    apply_gateway_answer(payment=payment, answer=answer)
    return answer.status
