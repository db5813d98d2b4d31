"""Celery (the CELERY_* names config/celery.py reads) and the beat schedule of periodic jobs."""

from datetime import timedelta

from config.settings.components import env
from config.settings.components.domain import (
    CONSUMER_SWEEP_SECONDS,
    COUPON_EXPIRE_INTERVAL_SECONDS,
    OUTBOX_SWEEP_SECONDS,
)
from config.settings.components.project import TIME_ZONE

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# Without a broker (the embedded default) tasks run in-process, eagerly, and `manage.py runjobs`
# plays the beat schedule; see apps/outbox and the README.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE

# A web process queues tasks inside a request: against a dead or hung broker it fails fast (one
# attempt, short socket timeouts) and the on-commit trigger logs it; beat's outbox sweep delivers
# later. The worker, by contrast, reconnects forever and resumes by itself after an outage.
_connect_timeout = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1.0)
_socket_timeout = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_TIMEOUT = _connect_timeout
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
    "socket_connect_timeout": _connect_timeout,
    "socket_timeout": _socket_timeout,
    # Connection attempts when a producer first uses the connection: one, no sleeping retries.
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task still running when the connection drops is cancelled; its unacknowledged message is
# delivered again (acks_late), and every task is safe to run twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

PAYMENT_SWEEP_SECONDS = env.int("PAYMENT_SWEEP_SECONDS", default=5)

CELERY_BEAT_SCHEDULE = {
    # The sweep catches events whose on-commit trigger was lost; a sweep still queued when the next
    # is due is dropped (expires), so a stopped worker does not come back to a pile of them.
    "outbox-relay": {
        "task": "apps.outbox.tasks.relay_outbox",
        "schedule": OUTBOX_SWEEP_SECONDS,
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
    "outbox-consumers": {
        "task": "apps.outbox.tasks.sweep_consumers",
        "schedule": CONSUMER_SWEEP_SECONDS,
        "options": {"expires": CONSUMER_SWEEP_SECONDS},
    },
    "outbox-purge-sent": {
        "task": "apps.outbox.tasks.purge_sent_events",
        "schedule": timedelta(hours=1),
    },
    "coupons-expire-user-coupons": {
        "task": "apps.coupons.tasks.expire_user_coupons",
        "schedule": COUPON_EXPIRE_INTERVAL_SECONDS,
    },
    "core-purge-idempotency-keys": {
        "task": "apps.core.tasks.purge_expired_idempotency_keys",
        "schedule": timedelta(hours=1),
    },
    # Card payments: lost callbacks found, failed refunds retried, unpaid orders expired (API.md: at least every 10 s).
    "payments-reconcile": {
        "task": "apps.payments.tasks.reconcile_payments",
        "schedule": PAYMENT_SWEEP_SECONDS,
        "options": {"expires": PAYMENT_SWEEP_SECONDS},
    },
    "orders-expire-unpaid": {
        "task": "apps.payments.tasks.expire_orders",
        "schedule": PAYMENT_SWEEP_SECONDS,
        "options": {"expires": PAYMENT_SWEEP_SECONDS},
    },
}
