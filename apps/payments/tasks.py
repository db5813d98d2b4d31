from celery import shared_task

from apps.payments import services


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
