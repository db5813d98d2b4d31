"""A paid order appears in GET /products/popular within 2 seconds with a worker running: a real Celery
worker process (production settings, this test database, the suite's Redis as cache and broker) runs the
rankings consumer that the order's commit triggers; nothing runs eagerly here."""

import time

import pytest
from django.conf import settings

from apps.orders import services as orders
from config.celery import app as celery_app
from tests.factories import ProductFactory, UserFactory
from tests.nodes.cluster import Worker, node_environment
from tests.orders.helpers import fund

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 5
WITHIN_SECONDS = 2.0


def _forget_broker_connections():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(tmp_path):
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=settings.REDIS_URL, task_always_eager=False)
    _forget_broker_connections()
    celery_app.control.purge()
    node = Worker("rankings-worker", env=node_environment(data_platform_url="http://127.0.0.1:9/events"), log_dir=tmp_path)
    try:
        node.wait_ready(time.monotonic() + 60)
        yield node
    finally:
        node.stop()
        celery_app.conf.update(saved)
        _forget_broker_connections()


def _sold(api_client, product_id: int) -> int | None:
    results = api_client.get("/api/v1/products/popular", {"days": 1, "limit": 50}).json()["results"]
    return next((entry["quantity_sold"] for entry in results if entry["product"]["id"] == product_id), None)


def test_a_paid_order_appears_in_popular_products_within_two_seconds(api_client, worker):
    user = UserFactory()
    fund(user, 100_000)
    lags = []
    for n in range(ORDERS):
        product = ProductFactory(price=100, stock=10)
        orders.place_order(user=user, lines=[orders.OrderLine(product.pk, n + 1)])
        committed = time.monotonic()
        while _sold(api_client, product.pk) != n + 1 and time.monotonic() - committed < 10:
            time.sleep(0.02)
        lags.append(time.monotonic() - committed)
        assert _sold(api_client, product.pk) == n + 1, worker.log()[-3000:]
    print(f"popular-products lag after commit: {', '.join(f'{lag * 1000:.0f} ms' for lag in lags)}")
    assert max(lags) < WITHIN_SECONDS, lags
    assert "apps.outbox.tasks.consume_events" in worker.log()
