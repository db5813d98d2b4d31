"""Stock adjustments against real MariaDB/MySQL transactions, from many threads at once."""

import threading

import pytest
from django.db import connection

from apps.catalog import services
from apps.catalog.models import Product
from apps.core.errors import OutOfStock
from apps.outbox.models import OutboxEvent
from tests.factories import ProductFactory

THREADS = 20


def _run_in_threads(work, count: int = THREADS) -> list:
    """Start `count` threads together; each runs work(i) on its own connection. Returns results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # collected and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_adjustments_end_at_exactly_the_expected_stock():
    assert connection.vendor == "mysql"
    product = ProductFactory(stock=100)
    deltas = [7 if i % 2 else -5 for i in range(THREADS)]  # ten +7, ten -5

    results = _run_in_threads(lambda i: services.adjust_stock(product_id=product.pk, delta=deltas[i], reason=f"thread {i}"))

    assert not [r for r in results if isinstance(r, Exception)]
    product.refresh_from_db()
    assert product.stock == 100 + sum(deltas) == 120
    events = OutboxEvent.objects.filter(type="product.stock_adjusted", aggregate_id=str(product.pk))
    assert sorted(e.payload["delta"] for e in events) == sorted(deltas)
    # Events are numbered in commit order: replaying them reproduces the final stock.
    stocks = [e.payload["stock"] for e in events.order_by("id")]
    assert stocks[-1] == 120
    assert all(after - before in (7, -5) for before, after in zip([100, *stocks], stocks, strict=False))


@pytest.mark.django_db(transaction=True)
def test_concurrent_removals_never_take_stock_below_zero():
    product = ProductFactory(stock=50)

    results = _run_in_threads(lambda i: services.adjust_stock(product_id=product.pk, delta=-3, reason="recount"))

    succeeded = [r for r in results if isinstance(r, Product)]
    refused = [r for r in results if isinstance(r, OutOfStock)]
    assert len(succeeded) == 16 and len(refused) == 4
    assert all(r.details["available"] < 3 for r in refused)
    product.refresh_from_db()
    assert product.stock == 50 - 3 * 16 == 2
    assert OutboxEvent.objects.filter(type="product.stock_adjusted").count() == 16


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_through_the_staff_api(staff_user):
    from rest_framework.test import APIClient

    product = ProductFactory(stock=10)

    def adjust(i: int) -> int:
        client = APIClient()
        client.force_authenticate(user=staff_user)
        delta = 1 if i % 2 else -1
        return client.post(f"/api/v1/staff/products/{product.pk}/stock", {"delta": delta, "reason": "api"}, format="json").status_code

    statuses = _run_in_threads(adjust)

    assert statuses == [200] * THREADS
    product.refresh_from_db()
    assert product.stock == 10


@pytest.mark.django_db(transaction=True)
def test_a_refused_adjustment_changes_nothing_and_the_database_constraint_holds():
    product = ProductFactory(stock=2)
    with pytest.raises(OutOfStock):
        services.adjust_stock(product_id=product.pk, delta=-3, reason="too many")
    product.refresh_from_db()
    assert product.stock == 2
    assert not OutboxEvent.objects.exists()
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Product.objects.filter(pk=product.pk).update(stock=-1)
