import random
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.catalog.models import Product
from apps.orders.models import Order
from apps.rankings import selectors, services
from apps.rankings.models import AggregationWatermark, ProductSalesDaily, RankedOrder
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import cancel_order, make_order
from tests.rankings.oracle import actual_daily, expected_daily, expected_top

pytestmark = pytest.mark.django_db

NEW_YORK = "America/New_York"


def _local_midnight(day, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _random_moments(rng: random.Random, *, count: int, days: int) -> list[datetime]:
    """Moments in the last `days` days, about a third of them within 5 minutes of a local midnight."""
    tz = timezone.get_default_timezone()
    now = timezone.now()
    today = selectors.local_today()
    moments = []
    while len(moments) < count:
        if rng.random() < 0.35:
            midnight = _local_midnight(today - timedelta(days=rng.randrange(days)), tz)
            moment = midnight + timedelta(seconds=rng.randint(-300, 300))
        else:
            moment = now - timedelta(seconds=rng.uniform(0, days * 86400))
        if moment < now - timedelta(seconds=1):
            moments.append(moment)
    return moments


def _random_orders(rng, *, user, products, moments, updated_at=None):
    orders = []
    for moment in moments:
        lines = [(product, rng.randint(1, 4)) for product in rng.sample(products, rng.randint(1, 3))]
        status = Order.Status.CANCELLED if rng.random() < 0.1 else Order.Status.PAID
        orders.append(make_order(user=user, lines=lines, paid_at=moment, status=status, updated_at=updated_at))
    return orders


def _assert_matches_orders():
    assert actual_daily() == expected_daily()
    today = selectors.local_today()
    for days in range(1, 31):
        assert selectors.compute_top_list(days=days, today=today) == expected_top(days=days, today=today), days


def test_random_orders_match_a_brute_force_count_in_a_non_utc_time_zone(settings):
    settings.TIME_ZONE = NEW_YORK
    rng = random.Random(20240601)
    user = UserFactory()
    # Few products with few prices: equal units and equal revenue happen, so the tie rules are exercised.
    products = [ProductFactory(price=rng.choice([500, 1000])) for _ in range(12)]
    products[3].is_active = False
    products[3].save()

    first = _random_orders(rng, user=user, products=products, moments=_random_moments(rng, count=160, days=12))
    assert services.aggregate_sales(batch_size=37).ran
    _assert_matches_orders()

    # Cancellations of counted orders, plus new orders, some of them near midnight again.
    for order in rng.sample([o for o in first if o.status == Order.Status.PAID], 25):
        cancel_order(order)
    # They commit now, whatever day they were paid on (as a late commit would).
    _random_orders(rng, user=user, products=products, moments=_random_moments(rng, count=80, days=12), updated_at=timezone.now())
    result = services.aggregate_sales(batch_size=37)
    assert result.orders_changed == 25 + 80
    _assert_matches_orders()

    # The published lists are exactly the brute-force ones, and the endpoint's selector follows them.
    today = selectors.local_today()
    for days in settings.RANKINGS_WINDOWS:
        assert cache.get(selectors.top_list_key(days=days, today=today)) == expected_top(days=days, today=today)
    popular = selectors.popular_products(days=7, limit=5)
    assert [(p.rank, p.product.pk, p.quantity_sold) for p in popular] == [
        (rank, pid, units) for rank, (pid, units, _) in enumerate(expected_top(days=7, today=today)[:5], start=1)
    ]
    assert products[3].pk not in {p.product.pk for p in selectors.popular_products(days=30, limit=50)}


def test_the_day_is_the_local_calendar_day_of_payment(settings):
    settings.TIME_ZONE = NEW_YORK
    tz = timezone.get_default_timezone()
    product = ProductFactory(price=100)
    user = UserFactory()
    yesterday = selectors.local_today() - timedelta(days=1)
    midnight = _local_midnight(yesterday, tz)
    make_order(user=user, lines=[(product, 1)], paid_at=midnight - timedelta(seconds=1))
    make_order(user=user, lines=[(product, 2)], paid_at=midnight)
    services.aggregate_sales()
    assert actual_daily() == {
        (yesterday - timedelta(days=1), product.pk): (1, 100),
        (yesterday, product.pk): (2, 200),
    }


def test_running_twice_counts_nothing_twice():
    product = ProductFactory(price=250)
    make_order(user=UserFactory(), lines=[(product, 3)], paid_at=timezone.now() - timedelta(seconds=30))
    first = services.aggregate_sales()
    with CaptureQueriesContext(connection) as captured:
        second = services.aggregate_sales()
    assert (first.orders_changed, second.orders_changed) == (1, 0)
    assert second.orders_read == 1  # inside the overlap: read again, found already counted ...
    for query in captured.captured_queries:  # ... by a plain read: no row lock, no write
        sql = query["sql"].upper()
        assert "FOR UPDATE" not in sql
        assert not (sql.startswith(("INSERT", "UPDATE", "DELETE")) and ("RANKEDORDER" in sql or "PRODUCTSALESDAILY" in sql))
    assert actual_daily() == {(selectors.local_today(), product.pk): (3, 750)}


def test_cancellation_after_counting_is_subtracted():
    product = ProductFactory(price=100)
    other = ProductFactory(price=100)
    user = UserFactory()
    kept = make_order(user=user, lines=[(product, 1), (other, 5)], paid_at=timezone.now() - timedelta(minutes=1))
    cancelled = make_order(user=user, lines=[(product, 4)], paid_at=timezone.now() - timedelta(minutes=1))
    services.aggregate_sales()
    assert selectors.top_list(days=1) == [(product.pk, 5, 500), (other.pk, 5, 500)]  # full tie: lower id first

    cancel_order(cancelled)
    services.aggregate_sales()
    services.aggregate_sales()
    today = selectors.local_today()
    assert actual_daily() == {(today, product.pk): (1, 100), (today, other.pk): (5, 500)}
    assert selectors.top_list(days=1) == [(other.pk, 5, 500), (product.pk, 1, 100)]
    assert RankedOrder.objects.get(order=cancelled).counted_day is None
    assert RankedOrder.objects.get(order=kept).counted_day == today


def test_an_order_cancelled_before_it_was_counted_never_counts():
    product = ProductFactory()
    order = make_order(user=UserFactory(), lines=[(product, 2)], paid_at=timezone.now() - timedelta(minutes=1))
    cancel_order(order)
    assert services.aggregate_sales().orders_changed == 1
    assert actual_daily() == {}
    assert RankedOrder.objects.get(order=order).counted_status == Order.Status.CANCELLED


def test_an_order_after_a_run_is_counted_by_the_next_run_and_not_before():
    product = ProductFactory(price=100)
    user = UserFactory()
    make_order(user=user, lines=[(product, 1)], paid_at=timezone.now() - timedelta(hours=2))
    services.aggregate_sales()
    make_order(user=user, lines=[(product, 2)], paid_at=timezone.now())
    assert selectors.top_list(days=1) == [(product.pk, 1, 100)]  # the published list lags until the next run
    services.aggregate_sales()
    assert selectors.top_list(days=1) == [(product.pk, 3, 300)]


def test_a_run_reads_only_orders_changed_since_its_watermark(settings):
    settings.RANKINGS_OVERLAP_SECONDS = 60
    product = ProductFactory(price=100)
    user = UserFactory()
    now = timezone.now()
    for hours in range(1, 31):
        make_order(user=user, lines=[(product, 1)], paid_at=now - timedelta(hours=hours))
    assert services.aggregate_sales().orders_read == 30
    assert AggregationWatermark.objects.get().watermark == now - timedelta(hours=1)
    assert services.aggregate_sales().orders_read == 1  # only the newest one is inside the overlap

    make_order(user=user, lines=[(product, 1)], paid_at=timezone.now())
    result = services.aggregate_sales()
    assert (result.orders_read, result.orders_changed) == (2, 1)  # the new one and the one in the overlap
    assert services.aggregate_sales().orders_read == 1


def test_an_order_with_an_old_timestamp_inside_the_overlap_is_still_counted(settings):
    """A transaction that stamped updated_at before a run but committed after it."""
    settings.RANKINGS_OVERLAP_SECONDS = 60
    product = ProductFactory(price=100)
    user = UserFactory()
    newest = make_order(user=user, lines=[(product, 1)], paid_at=timezone.now() - timedelta(seconds=5))
    services.aggregate_sales()
    watermark = AggregationWatermark.objects.get().watermark
    assert watermark == newest.updated_at

    late = watermark - timedelta(seconds=50)
    make_order(user=user, lines=[(product, 7)], paid_at=late, updated_at=late)
    assert services.aggregate_sales().orders_changed == 1
    assert actual_daily() == expected_daily()
    assert AggregationWatermark.objects.get().watermark == watermark  # never moves back


def test_a_clock_ahead_does_not_push_the_watermark_past_the_run(settings):
    product = ProductFactory(price=100)
    ahead = timezone.now() + timedelta(minutes=10)
    make_order(user=UserFactory(), lines=[(product, 1)], paid_at=timezone.now(), updated_at=ahead)
    started = timezone.now()
    services.aggregate_sales()
    assert AggregationWatermark.objects.filter(watermark__gte=ahead).count() == 0
    # The order from the future is counted once its timestamp has passed: not before, not twice.
    assert actual_daily() == {}
    Order.objects.update(updated_at=started)
    services.aggregate_sales()
    assert actual_daily() == expected_daily() != {}


def test_a_held_lock_skips_the_run_without_touching_anything():
    make_order(user=UserFactory(), lines=[(ProductFactory(), 1)], paid_at=timezone.now())
    cache.add(services.LOCK_KEY, "someone-else", timeout=60)
    assert services.aggregate_sales() == services.AggregationResult(ran=False)
    assert not RankedOrder.objects.exists()
    assert not ProductSalesDaily.objects.exists()
    assert cache.get(services.LOCK_KEY) == "someone-else"
    cache.delete(services.LOCK_KEY)
    assert services.aggregate_sales().orders_changed == 1


def test_ties_more_revenue_first_then_lower_product_id():
    cheap, dear, first_twin, second_twin = (ProductFactory(price=price) for price in (100, 300, 200, 200))
    user = UserFactory()
    paid_at = timezone.now() - timedelta(minutes=1)
    for product in (second_twin, first_twin, cheap, dear):
        make_order(user=user, lines=[(product, 2)], paid_at=paid_at)
    services.aggregate_sales()
    assert [entry.product.pk for entry in selectors.popular_products(days=1, limit=10)] == [dear.pk, first_twin.pk, second_twin.pk, cheap.pk]
    assert [entry.rank for entry in selectors.popular_products(days=1, limit=2)] == [1, 2]


def test_windows_include_today_and_the_days_before_it():
    product_today, product_3_days, product_old = ProductFactory(), ProductFactory(), ProductFactory()
    user = UserFactory()
    tz = timezone.get_default_timezone()
    today = selectors.local_today()
    make_order(user=user, lines=[(product_today, 1)], paid_at=timezone.now())
    make_order(user=user, lines=[(product_3_days, 1)], paid_at=_local_midnight(today - timedelta(days=2), tz))
    make_order(user=user, lines=[(product_old, 1)], paid_at=_local_midnight(today - timedelta(days=2), tz) - timedelta(seconds=1))
    services.aggregate_sales()
    ids = lambda days: [entry.product.pk for entry in selectors.popular_products(days=days, limit=50)]  # noqa: E731
    assert ids(1) == [product_today.pk]
    assert sorted(ids(3)) == sorted([product_today.pk, product_3_days.pk])
    assert sorted(ids(4)) == sorted([product_today.pk, product_3_days.pk, product_old.pk])


def test_an_inactive_product_is_skipped_and_the_next_ones_move_up():
    products = [ProductFactory(price=100) for _ in range(3)]
    user = UserFactory()
    for units, product in zip((9, 5, 1), products, strict=True):
        make_order(user=user, lines=[(product, units)], paid_at=timezone.now())
    services.aggregate_sales()
    products[0].is_active = False
    products[0].save()
    assert [(e.rank, e.product.pk) for e in selectors.popular_products(days=1, limit=2)] == [(1, products[1].pk), (2, products[2].pk)]


def test_without_a_published_list_the_daily_table_answers_and_is_kept_briefly():
    product = ProductFactory(price=100)
    make_order(user=UserFactory(), lines=[(product, 2)], paid_at=timezone.now())
    services.aggregate_sales()
    cache.clear()
    assert selectors.top_list(days=2) == [(product.pk, 2, 200)]
    assert cache.get(selectors.top_list_key(days=2, today=selectors.local_today())) == [(product.pk, 2, 200)]


def test_order_by_popularity_sorts_a_product_queryset():
    sold_a_lot, sold_little, unsold = ProductFactory(price=100), ProductFactory(price=100), ProductFactory(price=100)
    user = UserFactory()
    make_order(user=user, lines=[(sold_little, 1)], paid_at=timezone.now())
    make_order(user=user, lines=[(sold_a_lot, 4)], paid_at=timezone.now() - timedelta(days=20))
    make_order(user=user, lines=[(sold_little, 9)], paid_at=timezone.now() - timedelta(days=40))
    services.aggregate_sales()
    ordered = selectors.order_by_popularity(Product.objects.filter(pk__in=[sold_a_lot.pk, sold_little.pk, unsold.pk]))
    assert [(p.pk, p.popular_units) for p in ordered] == [(sold_a_lot.pk, 4), (sold_little.pk, 1), (unsold.pk, 0)]
