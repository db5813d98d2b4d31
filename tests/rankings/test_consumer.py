"""The rankings consumer against the orders it counts: random orders through apps.orders.services around
midnight, week and month boundaries (New York time), compared with a brute-force count over the orders."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from apps.outbox import consumers
from apps.outbox.models import ConsumedEvent, ConsumerPosition, OutboxEvent
from apps.rankings import live, selectors, services
from apps.rankings.models import ProductSalesDaily
from tests.concurrency import race
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import fund
from tests.rankings import shop
from tests.rankings.oracle import actual, expected_calendar, expected_daily, expected_rollup, expected_top

pytestmark = pytest.mark.django_db(transaction=True)

NEW_YORK = ZoneInfo("America/New_York")
# Local midnights where a day, an ISO week (Monday) and a month (or a year) change; one on the day
# clocks go forward (2026-03-08) and one inside an ISO week that spans two years.
BOUNDARIES = [
    datetime(2025, 12, 29, tzinfo=NEW_YORK),  # Monday: week 2026-W01 starts in December
    datetime(2026, 1, 1, tzinfo=NEW_YORK),  # Thursday: a new month and year, same ISO week
    datetime(2026, 3, 1, tzinfo=NEW_YORK),  # Sunday: a new month, the week goes on until Monday
    datetime(2026, 3, 2, tzinfo=NEW_YORK),  # Monday
    datetime(2026, 3, 8, 3, tzinfo=NEW_YORK),  # 03:00 EDT, just after the clocks went forward
    datetime(2026, 3, 9, tzinfo=NEW_YORK),  # Monday
]


def rankings_events() -> int:
    return OutboxEvent.objects.filter(type__in=services.EVENT_TYPES).count()


@pytest.fixture
def buyers():
    users = [UserFactory() for _ in range(3)]
    for user in users:
        fund(user, 1_000_000)
    return users


def test_the_rankings_equal_a_brute_force_count_over_orders(simulator, fast_retries, clock, new_york, buyers):
    fast_retries.PG_URL = simulator.url
    fast_retries.SITE_URL = "http://127.0.0.1:9"  # nobody listens: the test applies the PG's answers
    rng = random.Random(1313)
    products = [ProductFactory(price=price, stock=10_000) for price in (500, 700, 700, 1_200, 300)]
    moments = sorted(boundary + timedelta(seconds=rng.randint(-150, 150)) for boundary in BOUNDARIES for _ in range(5))
    paid, pending = [], []
    for moment in moments:
        clock.moment = moment
        user = rng.choice(buyers)
        lines = [(product, rng.randint(1, 4)) for product in rng.sample(products, rng.randint(1, 3))]
        kind = rng.choice(["wallet", "wallet", "card", "card", "pending"])
        if kind == "wallet":
            paid.append(shop.wallet_order(user, lines))
        elif kind == "card":
            order = shop.card_order(user, lines)
            outcome = rng.choice(["approved", "approved", "declined", "expired"])
            if outcome == "approved":
                paid.append(shop.answer(order, approved=True))
            elif outcome == "declined":
                shop.answer(order, approved=False)
            else:
                shop.expire(order)
        else:
            pending.append(shop.card_order(user, lines))
        if paid and rng.random() < 0.25:  # a paid order cancelled later, often on another day
            shop.cancel(paid.pop(rng.randrange(len(paid))))
    for order in pending:  # cancelled before they were ever paid: nothing to take back
        shop.cancel(order)
    clock.moment = None

    consumers.run(services.CONSUMER_NAME)  # whatever the on-commit triggers have not done yet

    statuses = {status for status in OutboxEvent.objects.values_list("type", flat=True)}
    assert {"order.paid", "order.cancelled", "order.payment_failed", "order.expired"} <= statuses
    assert ConsumedEvent.objects.filter(consumer="rankings", status="done").count() == rankings_events()
    assert actual("day") == expected_daily() != {}
    assert actual("week") == expected_rollup("week")
    assert actual("month") == expected_rollup("month")
    days = {day for day, _ in expected_daily()}
    for day in days:
        for period in ("day", "week", "month"):
            ranking = selectors.calendar_ranking(period=period, day=day, limit=50)
            assert [(e.product.pk, e.quantity_sold, e.revenue) for e in ranking.results] == expected_calendar(period=period, day=day)
        clock.moment = selectors.day_start(day) + timedelta(hours=12)
        for window in (1, 2, 3, 7, 30):
            assert selectors.top_list(days=window)[:50] == expected_top(days=window, today=day)
    clock.moment = None


def test_an_event_delivered_twice_or_to_racing_runs_counts_once(buyers, monkeypatch):
    monkeypatch.setattr("apps.outbox.services._trigger_consumer", lambda name: None)
    products = [ProductFactory(price=100 + i, stock=10_000) for i in range(4)]
    for n in range(40):
        order = shop.wallet_order(buyers[n % 3], [(products[n % 4], 1 + n % 3)])
        if n % 7 == 0:
            shop.cancel(order)

    results = race([lambda: consumers.run(services.CONSUMER_NAME, batch_size=7) for _ in range(4)])
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.handled for r in results) == rankings_events()
    # Delivered again from the start: every event is known as handled.
    ConsumerPosition.objects.filter(consumer="rankings").update(cursor=0, watermark=0)
    again = consumers.run(services.CONSUMER_NAME)

    assert (again.handled, again.skipped) == (0, rankings_events())
    assert actual("day") == expected_daily()
    assert actual("week") == expected_rollup("week")
    assert selectors.top_list(days=1) == expected_top(days=1, today=selectors.local_today())


def test_a_cancellation_read_before_its_sale_is_retried_until_the_sale_is_counted(buyers, monkeypatch):
    monkeypatch.setattr("apps.outbox.services._trigger_consumer", lambda name: None)
    product = ProductFactory(price=250, stock=100)
    order = shop.wallet_order(buyers[0], [(product, 2)])
    shop.cancel(order)
    paid_event = OutboxEvent.objects.get(type="order.paid")
    cancelled_event = OutboxEvent.objects.get(type="order.cancelled")

    # The cancellation alone, as if the sale's transaction had committed late.
    ConsumedEvent.objects.create(consumer="rankings", event=paid_event, status="claimed", next_attempt_at=timezone.now() + timedelta(hours=1))
    report = consumers.run(services.CONSUMER_NAME)
    assert report.failed == 1 and "lack the sale" in report.errors[0]
    assert ConsumedEvent.objects.get(consumer="rankings", event=cancelled_event).status == "failed"

    ConsumedEvent.objects.filter(event=paid_event).delete()  # the sale shows up
    ConsumedEvent.objects.filter(event=cancelled_event).update(next_attempt_at=timezone.now())
    consumers.run(services.CONSUMER_NAME)  # catches up the sale...
    consumers.run(services.CONSUMER_NAME)  # ...then the retried cancellation

    assert ConsumedEvent.objects.filter(consumer="rankings", status="done").count() == 2
    assert ProductSalesDaily.objects.get(product=product).units_sold == 0
    assert actual("day") == expected_daily() == {}


def test_failures_and_expiries_are_not_read_by_the_rankings_consumer():
    assert services.EVENT_TYPES == {"order.paid", "order.cancelled"}
    assert consumers.get("rankings").event_types == services.EVENT_TYPES
    assert consumers.get("rankings").transactional


def test_rebuild_recomputes_everything_and_the_consumer_does_not_count_again(buyers, monkeypatch):
    monkeypatch.setattr("apps.outbox.services._trigger_consumer", lambda name: None)
    products = [ProductFactory(price=100 * (i + 1), stock=10_000) for i in range(3)]
    orders = [shop.wallet_order(buyers[n % 3], [(products[n % 3], 1 + n % 2)]) for n in range(9)]
    consumers.run(services.CONSUMER_NAME)  # some events counted...
    shop.cancel(orders[0])
    shop.wallet_order(buyers[0], [(products[2], 5)])  # ...and some not yet
    ProductSalesDaily.objects.update(units_sold=999)  # and the table damaged
    assert actual("day") != expected_daily()

    result = services.rebuild_rankings()

    assert (result.orders, result.events_marked) == (9, 2)
    assert actual("day") == expected_daily()
    assert actual("month") == expected_rollup("month")
    assert selectors.top_list(days=1) == expected_top(days=1, today=selectors.local_today())
    assert consumers.run(services.CONSUMER_NAME).handled == 0
    assert actual("day") == expected_daily()


def test_a_sale_reaches_the_redis_sets_after_the_commit_and_never_before(buyers, monkeypatch):
    monkeypatch.setattr("apps.outbox.services._trigger_consumer", lambda name: None)
    product = ProductFactory(price=100, stock=100)
    assert selectors.top_list(days=1) == []  # today's sets built (empty) from the table
    shop.wallet_order(buyers[0], [(product, 3)])

    with transaction.atomic():
        services.record_sales(day=selectors.local_today(), lines={product.pk: (3, 300)})
        assert live.client().zscore(live._key(selectors.local_today(), "units"), product.pk) is None
        transaction.set_rollback(True)
    assert live.client().zscore(live._key(selectors.local_today(), "units"), product.pk) is None

    consumers.run(services.CONSUMER_NAME)
    assert live.client().zscore(live._key(selectors.local_today(), "units"), product.pk) == 3
    assert selectors.top_list(days=1) == [(product.pk, 3, 300)]
