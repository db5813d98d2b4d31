"""The shoppers' order mails: which event sends which mail, and how each is rendered (plain text and HTML).

Templates live in templates/notifications/<name>.txt and <name>.html. The order's number, lines and
totals come from the order (they never change after checkout); what only the event knows (why a
payment failed, how much was refunded) comes from its payload.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from apps.orders.models import Order
from apps.orders.views import FAILURE_REASONS
from apps.outbox.models import OutboxEvent


@dataclass(frozen=True)
class Mail:
    template: str
    subject: str  # str.format()ted with the order number


MAILS = {
    "order.paid": Mail(template="order_paid", subject="Your Flashcart order #{number} is confirmed"),
    "order.payment_failed": Mail(template="order_payment_failed", subject="Payment failed for your Flashcart order #{number}"),
    "order.expired": Mail(template="order_expired", subject="Your Flashcart order #{number} has expired"),
    "order.cancelled": Mail(template="order_cancelled", subject="Your Flashcart order #{number} is cancelled"),
    "payment.refunded": Mail(template="payment_refunded", subject="Your refund for Flashcart order #{number} is complete"),
}
EVENT_TYPES = frozenset(MAILS)


class Refund:
    """What a cancelled order's mail says about the money (order_cancelled templates)."""

    WALLET = "wallet"  # back in the wallet at once
    CARD = "card"  # a paid card order: refunded at the gateway later, then payment.refunded mails again
    NOT_CHARGED = "not_charged"  # the card payment was still pending: voided
    NOTHING = "nothing"  # a fully discounted order: no money moved


def order_url(order: Order) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("orders:detail", args=[order.pk])


def build_message(event: OutboxEvent, order: Order) -> EmailMultiAlternatives:
    """The mail `event` sends to `order`'s shopper; its Message-ID is the event's, so a repeated send is recognisably the same mail."""
    mail = MAILS[event.type]
    payload = event.payload
    context = {
        "order": order,
        "items": list(order.items.all()),
        "currency": payload.get("currency") or settings.CURRENCY,
        "order_url": order_url(order),
        "shopper_name": order.user.name,
        # In the words the order page uses.
        "failure": FAILURE_REASONS.get(payload.get("failure_reason") or "", "the payment was not approved"),
        "refund": _refund(order),
        "refunded_amount": payload.get("amount", order.total),
    }
    message = EmailMultiAlternatives(
        subject=mail.subject.format(number=order.pk),
        body=render_to_string(f"notifications/{mail.template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.user.email],
        headers={"Message-ID": f"<{event.event_id}@{urlsplit(settings.SITE_URL).hostname or 'flashcart'}>"},
    )
    message.attach_alternative(render_to_string(f"notifications/{mail.template}.html", context), "text/html")
    return message


def _refund(order: Order) -> str:
    if not order.total:
        return Refund.NOTHING
    if order.payment_method == Order.PaymentMethod.WALLET:
        return Refund.WALLET
    return Refund.CARD if order.paid_at else Refund.NOT_CHARGED
