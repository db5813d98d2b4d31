"""The shop's own knobs: money, catalog cache, the data platform and outbox, wallets, coupons,
idempotency, orders. The periodic jobs that use them are scheduled in celery.py."""

from datetime import timedelta

from config.settings.components import env

CURRENCY = env("CURRENCY", default="USD")
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=300)

# --- Outbox and the data platform ---------------------------------------------------------------
DATA_PLATFORM_URL = env("DATA_PLATFORM_URL", default="")
DATA_PLATFORM_SECRET = env("DATA_PLATFORM_SECRET", default="")
DATA_PLATFORM_TIMEOUT_SECONDS = env.float("DATA_PLATFORM_TIMEOUT_SECONDS", default=5.0)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_BACKOFF_BASE_SECONDS = env.float("OUTBOX_BACKOFF_BASE_SECONDS", default=2.0)
OUTBOX_BACKOFF_CAP_SECONDS = env.float("OUTBOX_BACKOFF_CAP_SECONDS", default=600.0)
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=5.0)
OUTBOX_BREAKER_THRESHOLD = env.int("OUTBOX_BREAKER_THRESHOLD", default=5)
OUTBOX_BREAKER_COOLDOWN_SECONDS = env.float("OUTBOX_BREAKER_COOLDOWN_SECONDS", default=30.0)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)
# The shop's own outbox consumers (rankings, e-mail): apps.outbox.consumers.
CONSUMER_BATCH_SIZE = env.int("CONSUMER_BATCH_SIZE", default=200)
CONSUMER_MAX_ATTEMPTS = env.int("CONSUMER_MAX_ATTEMPTS", default=8)
CONSUMER_BACKOFF_BASE_SECONDS = env.float("CONSUMER_BACKOFF_BASE_SECONDS", default=2.0)
CONSUMER_BACKOFF_CAP_SECONDS = env.float("CONSUMER_BACKOFF_CAP_SECONDS", default=600.0)
CONSUMER_SETTLE_SECONDS = env.float("CONSUMER_SETTLE_SECONDS", default=120.0)
CONSUMER_CLAIM_SECONDS = env.float("CONSUMER_CLAIM_SECONDS", default=120.0)
CONSUMER_SWEEP_SECONDS = env.float("CONSUMER_SWEEP_SECONDS", default=5.0)

# --- Wallets, coupons, idempotency --------------------------------------------------------------
WALLET_MAX_CHARGE = env.int("WALLET_MAX_CHARGE", default=1_000_000)
WALLET_MAX_BALANCE = env.int("WALLET_MAX_BALANCE", default=100_000_000)
WALLET_MAX_RETRIES = env.int("WALLET_MAX_RETRIES", default=10)
COUPON_REDIS_GATE = env.bool("COUPON_REDIS_GATE", default=True)
COUPON_DEFAULT_VALID_DAYS = env.int("COUPON_DEFAULT_VALID_DAYS", default=30)
# The Redis gate is rebuilt from the database at least this often, so any drift heals by itself.
COUPON_GATE_TTL_SECONDS = env.int("COUPON_GATE_TTL_SECONDS", default=600)
COUPON_EXPIRE_INTERVAL_SECONDS = env.float("COUPON_EXPIRE_INTERVAL_SECONDS", default=300.0)
IDEMPOTENCY_TTL = timedelta(hours=env.int("IDEMPOTENCY_TTL_HOURS", default=24))

# --- Cart and orders ----------------------------------------------------------------------------
ORDER_MAX_LINE_QUANTITY = env.int("ORDER_MAX_LINE_QUANTITY", default=1000)
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=100)
ORDER_LOCK_RETRIES = env.int("ORDER_LOCK_RETRIES", default=5)
# Sold-out products answered from Redis (apps.catalog.stock_gate); a mark lapses after this long.
STOCK_GATE = env.bool("STOCK_GATE", default=True)
STOCK_GATE_TTL_SECONDS = env.float("STOCK_GATE_TTL_SECONDS", default=60.0)
