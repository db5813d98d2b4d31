"""Background work a bench runs by hand inside Django (through bench/call.py): the outbox relay and
the rankings consumer, timed, the counters a bench reads between its phases, and the shopping that
sets a scene (buying a product's last units)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from apps.catalog.models import Product
from apps.orders.services import OrderLine, place_order
from apps.outbox import consumers
from apps.outbox.models import OutboxEvent
from apps.outbox.relay import relay_due_events
from apps.outbox.tasks import relay_outbox
from apps.wallets.metrics import WALLET_CONFLICTS_KEY


def relay_until_done() -> dict:
    """Run the relay (the code of the relay_outbox task) until nothing is pending; raises SystemExit on a failed delivery."""
    cpu, started, sent, runs = time.process_time(), time.perf_counter(), 0, 0
    while True:
        report = relay_due_events()
        sent, runs = sent + report.sent, runs + 1
        if report.failed or report.breaker_open:
            raise SystemExit(f"delivery failed: {report}")
        if not report.sent and not OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).exists():
            break
    return {"sent": sent, "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "runs": runs}


def queue_relay() -> None:
    """Queue one relay_outbox run, as beat's sweep does."""
    relay_outbox.delay()


def consume_rankings() -> dict:
    """The rankings consumer run until it finds nothing new (what the on-commit trigger and beat's sweep do), timed."""
    started, cpu, handled = time.perf_counter(), time.process_time(), 0
    while True:
        report = consumers.run("rankings")
        handled += report.handled
        if not report.handled:
            break
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "handled": handled}


def wallet_conflicts_retried() -> int:
    """Wallet version conflicts retried so far, by every process (the counter /metrics reports)."""
    return int(cache.get(WALLET_CONFLICTS_KEY) or 0)


def sell_out(*, product_id: int, token: str) -> dict:
    """The shopper of API token `token` buys what is left of the product, through the order service (wallet orders of at most
    ORDER_MAX_LINE_QUANTITY units): the product ends at 0 stock and the sold-out gate is told, as after any sale."""
    user = Token.objects.select_related("user").get(key=token).user
    orders = units = 0
    while (left := Product.objects.get(pk=product_id).stock) > 0:
        quantity = min(left, settings.ORDER_MAX_LINE_QUANTITY)
        place_order(user=user, lines=[OrderLine(product_id=product_id, quantity=quantity)])
        orders, units = orders + 1, units + quantity
    return {"orders": orders, "units": units}
