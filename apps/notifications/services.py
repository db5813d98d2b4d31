"""The e-mail consumer: one mail per order event, sent with no transaction open.

It is a non-transactional outbox consumer (apps.outbox.consumers): the framework claims (email,
event) with a lease in a short transaction, calls send_for_event() with no transaction open, then
records the event as done. So each event is mailed at least once and, in practice, exactly once: a
crash between the send and the record may send the same mail twice (same Message-ID), never zero
times (the claim's lease runs out and the event is handled again). A send that fails raises; the
framework retries it with backoff and, after CONSUMER_MAX_ATTEMPTS, parks it for staff to retry.
"""

import logging

from django.db import transaction

from apps.notifications import mails, selectors
from apps.outbox.consumers import Consumer
from apps.outbox.models import OutboxEvent

logger = logging.getLogger(__name__)

EMAIL_CONSUMER_NAME = "email"


def send_for_event(event: OutboxEvent) -> None:
    """Mail the order's shopper about `event`; raises when the mail server does not take it (the event is retried)."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("mail is never sent inside a transaction")
    order = selectors.order_for_mail(order_id=event.payload["order_id"])
    if order is None:
        logger.warning("e-mail for event %s (%s): order %s does not exist; nothing sent", event.pk, event.type, event.payload["order_id"])
        return
    mails.build_message(event, order).send()


EMAIL_CONSUMER = Consumer(name=EMAIL_CONSUMER_NAME, event_types=mails.EVENT_TYPES, handle=send_for_event, transactional=False)
