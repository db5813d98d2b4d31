from celery import shared_task

from apps.payments import reconciliation, services


@shared_task(bind=True, max_retries=None)
def request_payment(self, payment_id: int, sealed_card: str) -> str:
    """Ask the PG to charge a card order's payment; queued on commit of the order. Safe to run twice.

    `sealed_card` is apps.payments.cards.seal() of the number, never the number itself. While the PG
    cannot be reached the task is retried with backoff, until the order's payment would time out.
    Run eagerly (the embedded default, no broker) a retry would run at once, in a loop: there the
    attempt is not repeated and the order expires if it is never paid.
    """
    outcome = services.request_card_payment(payment_id=payment_id, sealed_card=sealed_card)
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


@shared_task
def refund_payment(payment_id: int) -> str:
    """Refund (or void) a card payment at the PG; queued on commit of the cancellation or the late approval."""
    return reconciliation.refund_payment(payment_id=payment_id)


@shared_task
def reconcile_payments() -> dict:
    """Beat: ask the PG about payments whose callback is late, and retry refunds that failed."""
    return {"settled": reconciliation.reconcile_pending_payments(), "refunded": reconciliation.retry_due_refunds()}


@shared_task
def expire_orders() -> int:
    """Beat: expire card orders not paid by `expires_at` (after asking the PG once more)."""
    return reconciliation.expire_overdue_orders()
