"""Card payments and the payment gateway (PG): apps/payments. API.md's "Card payments" has the contract."""

from config.settings.components import env

# The shop's public base URL: the PG calls back to SITE_URL + /api/v1/payments/callback.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
PG_URL = env("PG_URL", default="")
PG_SECRET = env("PG_SECRET", default="")  # HMAC-SHA256 key, both directions
PAYMENT_TIMEOUT_SECONDS = env.int("PAYMENT_TIMEOUT_SECONDS", default=600)
PAYMENT_RECONCILE_AFTER_SECONDS = env.int("PAYMENT_RECONCILE_AFTER_SECONDS", default=30)
# Fernet keys sealing a card number on its way to the PG task, newest first; empty: derived from SECRET_KEY.
PAYMENT_CARD_KEYS = env.list("PAYMENT_CARD_KEYS", default=[])

PG_CONNECT_TIMEOUT_SECONDS = env.float("PG_CONNECT_TIMEOUT_SECONDS", default=2.0)
PG_READ_TIMEOUT_SECONDS = env.float("PG_READ_TIMEOUT_SECONDS", default=5.0)
# Retries on network errors and 5xx: at most this many attempts and this long in all, waiting
# random(0, min(cap, backoff * 2**attempt)) between them.
PG_RETRY_ATTEMPTS = env.int("PG_RETRY_ATTEMPTS", default=6)
PG_RETRY_MAX_SECONDS = env.float("PG_RETRY_MAX_SECONDS", default=15.0)
PG_RETRY_BACKOFF_SECONDS = env.float("PG_RETRY_BACKOFF_SECONDS", default=0.2)
PG_RETRY_BACKOFF_CAP_SECONDS = env.float("PG_RETRY_BACKOFF_CAP_SECONDS", default=2.0)
# The shared circuit breaker opens when FAILURE_RATE or more of the last WINDOW calls failed (once it
# has seen MIN_CALLS), refuses calls for OPEN_SECONDS, then lets one trial call through.
PG_BREAKER_WINDOW = env.int("PG_BREAKER_WINDOW", default=10)
PG_BREAKER_MIN_CALLS = env.int("PG_BREAKER_MIN_CALLS", default=5)
PG_BREAKER_FAILURE_RATE = env.float("PG_BREAKER_FAILURE_RATE", default=0.5)
PG_BREAKER_OPEN_SECONDS = env.float("PG_BREAKER_OPEN_SECONDS", default=30.0)
# How long the half-open trial may take before another caller gets to try (a whole retried call).
PG_BREAKER_TRIAL_SECONDS = PG_RETRY_MAX_SECONDS + PG_CONNECT_TIMEOUT_SECONDS + PG_READ_TIMEOUT_SECONDS
