from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.core.errors import ValidationError
from apps.orders.models import OrderItem
from apps.rankings import selectors, services
from apps.rankings.models import ProductSalesDaily, RankedOrder
from tests.factories import ProductFactory, UserFactory
from tests.rankings.factories import cancel_order, make_order
from tests.rankings.oracle import actual_daily, expected_daily, expected_top

pytestmark = pytest.mark.django_db


def _counted_state_daily():
    """What the daily table must hold according to RankedOrder: the lines of each counted order."""
    counted = dict(RankedOrder.objects.filter(counted_day__isnull=False).values_list("order_id", "counted_day"))
    totals = defaultdict(lambda: [0, 0])
    for order_id, product_id, quantity, line_total in OrderItem.objects.filter(order_id__in=counted).values_list(
        "order_id", "product_id", "quantity", "line_total"
    ):
        totals[(counted[order_id], product_id)][0] += quantity
        totals[(counted[order_id], product_id)][1] += line_total
    return {key: tuple(value) for key, value in totals.items()}


@pytest.fixture
def near_midnight_orders():
    """Orders a few minutes either side of UTC midnight on several days, and one cancelled."""
    user = UserFactory()
    products = [ProductFactory(price=100 * (i + 1)) for i in range(3)]
    now = timezone.now()
    utc_midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    orders = []
    for days_back in range(1, 5):
        midnight = utc_midnight - timedelta(days=days_back)
        for offset, product in zip((-240, -10, 10, 240), products * 2, strict=False):
            orders.append(make_order(user=user, lines=[(product, days_back)], paid_at=midnight + timedelta(seconds=offset)))
    orders.append(make_order(user=user, lines=[(products[0], 2), (products[1], 1)], paid_at=now - timedelta(hours=1)))
    services.aggregate_sales()
    cancel_order(orders[0])
    services.aggregate_sales()
    return orders


def test_rebuild_repairs_the_range_and_leaves_other_days_alone(near_midnight_orders):
    today = selectors.local_today()
    outside = today - timedelta(days=4)
    ProductSalesDaily.objects.filter(day__gte=today - timedelta(days=3)).update(units_sold=999)
    ProductSalesDaily.objects.filter(day=today - timedelta(days=2)).delete()
    ProductSalesDaily.objects.filter(day=outside).update(units_sold=555)

    call_command("rebuild_rankings", "--from", str(today - timedelta(days=3)), "--to", str(today))

    expected = expected_daily()
    actual = actual_daily()
    assert {k: v for k, v in actual.items() if k[0] != outside} == {k: v for k, v in expected.items() if k[0] != outside}
    assert {v[0] for k, v in actual.items() if k[0] == outside} == {555}
    assert cache.get(selectors.top_list_key(days=3, today=today)) == expected_top(days=3, today=today)


def test_rebuild_keeps_the_counted_state_consistent_so_later_runs_stay_exact(near_midnight_orders):
    today = selectors.local_today()
    call_command("rebuild_rankings", "--from", str(today - timedelta(days=10)), "--to", str(today))
    assert actual_daily() == expected_daily() == _counted_state_daily()
    assert services.aggregate_sales().orders_changed == 0

    cancel_order(near_midnight_orders[-1])
    services.aggregate_sales()
    assert actual_daily() == expected_daily()


def test_after_a_time_zone_change_a_rebuild_moves_orders_to_their_new_days(near_midnight_orders, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    assert actual_daily() != expected_daily()  # counted on UTC days
    today = selectors.local_today()

    # A part of the range: the table keeps matching what RankedOrder says was counted, day by day.
    call_command("rebuild_rankings", "--from", str(today - timedelta(days=2)), "--to", str(today - timedelta(days=2)))
    assert actual_daily() == _counted_state_daily()
    assert {k: v for k, v in actual_daily().items() if k[0] == today - timedelta(days=2)} == {
        k: v for k, v in expected_daily().items() if k[0] == today - timedelta(days=2)
    }

    call_command("rebuild_rankings", "--from", str(today - timedelta(days=7)), "--to", str(today + timedelta(days=1)))
    assert actual_daily() == expected_daily() == _counted_state_daily()


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [("2024-02-30", "2024-03-01", "not a date"), ("2024-03-02", "2024-03-01", "must not be after")],
)
def test_rebuild_refuses_bad_ranges_and_changes_nothing(near_midnight_orders, first, last, message):
    before = actual_daily()
    with pytest.raises(CommandError, match=message):
        call_command("rebuild_rankings", "--from", first, "--to", last)
    assert actual_daily() == before


def test_rebuild_waits_for_a_running_aggregation_and_then_gives_up(near_midnight_orders, settings):
    settings.RANKINGS_LOCK_SECONDS = 1
    cache.add(services.LOCK_KEY, "a-running-aggregation", timeout=30)
    ProductSalesDaily.objects.update(units_sold=7)
    before = actual_daily()
    with pytest.raises(CommandError, match="Another sales aggregation is running"):
        call_command("rebuild_rankings", "--from", "2020-01-01", "--to", "2030-01-01")
    assert actual_daily() == before


def test_the_rebuild_service_refuses_a_reversed_range():
    today = selectors.local_today()
    with pytest.raises(ValidationError):
        services.rebuild_daily_sales(first_day=today, last_day=today - timedelta(days=1))
