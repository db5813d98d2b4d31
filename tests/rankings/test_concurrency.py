"""Runs at once, against real MariaDB: nothing is counted twice, nothing committed late is lost."""

import random
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.orders.models import Order
from apps.rankings import selectors, services
from apps.rankings.models import AggregationWatermark
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import cancel_order, make_order
from tests.rankings.oracle import actual_daily, expected_daily

pytestmark = pytest.mark.django_db(transaction=True)


def _orders(count: int, *, seed: int) -> list[Order]:
    rng = random.Random(seed)
    user = UserFactory()
    products = [ProductFactory(price=rng.choice([300, 700])) for _ in range(8)]
    now = timezone.now()
    return [
        make_order(
            user=user,
            lines=[(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 3))],
            paid_at=now - timedelta(seconds=rng.uniform(0, 3 * 86400)),
            updated_at=now - timedelta(seconds=rng.uniform(0, 30)),
        )
        for _ in range(count)
    ]


def _run_at_once(*targets) -> list[BaseException]:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def worker(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.fixture
def no_redis_lock(monkeypatch):
    """Every run proceeds, as if the lock had expired: the per-order state alone must keep the count."""

    @contextmanager
    def always(**kwargs):
        yield True

    monkeypatch.setattr(services, "_exclusive_run", always)


def test_two_beats_at_once_count_every_order_once():
    orders = _orders(120, seed=1)
    results = []
    errors = _run_at_once(*[lambda: results.append(services.aggregate_sales(batch_size=10))] * 2)
    assert errors == []
    assert sum(result.orders_changed for result in results) == len(orders)
    assert actual_daily() == expected_daily()


def test_four_runs_at_once_without_the_redis_lock_count_every_order_once(no_redis_lock):
    orders = _orders(150, seed=2)
    results = []
    errors = _run_at_once(*[lambda: results.append(services.aggregate_sales(batch_size=7))] * 4)
    assert errors == []
    assert [result.ran for result in results] == [True] * 4
    assert sum(result.orders_changed for result in results) == len(orders)
    assert actual_daily() == expected_daily()


def test_runs_racing_cancellations_and_new_orders_converge_to_the_exact_count(no_redis_lock):
    orders = _orders(100, seed=3)
    to_cancel = orders[::3]
    extra_product = ProductFactory(price=900)
    user = UserFactory()

    def cancel_some():
        for order in to_cancel:
            cancel_order(order)

    def place_more():
        for _ in range(30):
            make_order(user=user, lines=[(extra_product, 2)], paid_at=timezone.now())

    def aggregate():
        for _ in range(3):
            services.aggregate_sales(batch_size=9)

    errors = _run_at_once(aggregate, aggregate, cancel_some, place_more)
    assert errors == []
    services.aggregate_sales()
    assert actual_daily() == expected_daily()
    assert actual_daily()[(selectors.local_today(), extra_product.pk)] == (60, 54000)


def test_an_order_committed_after_a_run_with_an_earlier_timestamp_is_counted_by_the_next_run():
    product = ProductFactory(price=100)
    user = UserFactory()
    stamped, release = threading.Event(), threading.Event()
    slow = {}

    def slow_checkout():
        try:
            with transaction.atomic():
                slow["order"] = make_order(user=user, lines=[(product, 3)], paid_at=timezone.now())
                stamped.set()
                release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_checkout)
    thread.start()
    try:
        assert stamped.wait(20)
        time.sleep(0.01)
        make_order(user=user, lines=[(product, 1)], paid_at=timezone.now())  # stamped later, committed first
        services.aggregate_sales()
        today = selectors.local_today()
        assert actual_daily() == {(today, product.pk): (1, 100)}
        assert AggregationWatermark.objects.get().watermark > slow["order"].updated_at
    finally:
        release.set()
        thread.join(20)

    services.aggregate_sales()
    assert actual_daily() == {(today, product.pk): (4, 400)}
    assert selectors.top_list(days=1) == [(product.pk, 4, 400)]


def test_an_aggregation_run_does_not_wait_for_a_checkout_holding_the_product_row():
    """A checkout locks its product rows; counting that product's sales must not need them."""
    from apps.catalog.models import Product

    product = ProductFactory(price=100)
    make_order(user=UserFactory(), lines=[(product, 2)], paid_at=timezone.now())
    locked, release = threading.Event(), threading.Event()

    def checkout_in_progress():
        try:
            with transaction.atomic():
                list(Product.objects.select_for_update().filter(pk=product.pk))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=checkout_in_progress)
    thread.start()
    try:
        assert locked.wait(20)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 2")
        assert services.aggregate_sales().orders_changed == 1
        assert actual_daily() == {(selectors.local_today(), product.pk): (2, 200)}
    finally:
        release.set()
        thread.join(30)
