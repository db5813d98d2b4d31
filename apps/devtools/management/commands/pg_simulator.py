"""`manage.py pg_simulator --port 8001`: the payment gateway simulator (apps.devtools.pg_simulator).

Its secret is PG_SECRET (the shop's setting, so both sides agree); its knobs come from the
environment: PG_SIM_FAILURE_RATE (share of POST /payments answered 500, default 0),
PG_SIM_LATENCY_MS (default 50) and PG_SIM_PROCESSING_MS (delay before the callback, default 1000).
"""

import logging
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.devtools.pg_simulator import PgSimulator


class Command(BaseCommand):
    help = "Run the payment gateway simulator (development, tests and the bench)."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        if not settings.PG_SECRET:
            raise CommandError("PG_SECRET is not set: the simulator signs and checks every message with it.")
        try:
            simulator = PgSimulator(
                secret=settings.PG_SECRET,
                failure_rate=float(os.environ.get("PG_SIM_FAILURE_RATE", "0")),
                latency_ms=int(os.environ.get("PG_SIM_LATENCY_MS", "50")),
                processing_ms=int(os.environ.get("PG_SIM_PROCESSING_MS", "1000")),
            )
        except ValueError as exc:
            raise CommandError(f"a PG_SIM_* setting is not a number: {exc}") from None
        if options["verbosity"] > 1:
            logging.getLogger("apps.devtools.pg_simulator").setLevel(logging.DEBUG)
        url = simulator.bind(host, port)
        self.stdout.write(
            f"PG simulator on {url} (failure rate {simulator.failure_rate:g}, latency {simulator.latency * 1000:g} ms, "
            f"callback after {simulator.processing * 1000:g} ms)"
        )
        sys.stdout.flush()
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            pass
