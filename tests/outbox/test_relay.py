import json
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.utils import OperationalError
from django.utils import timezone

from apps.outbox import breaker, relay
from apps.outbox.models import OutboxEvent
from tests.factories import ProductFactory, UserFactory
from tests.outbox.helpers import signature_of


@pytest.fixture
def jitter_at_ceiling(monkeypatch):
    """Full jitter normally draws random(0, ceiling); take the ceiling so the schedule is exact."""
    monkeypatch.setattr(relay, "random", SimpleNamespace(uniform=lambda low, high: high))


@pytest.mark.django_db
def test_event_is_delivered_after_n_failures_on_the_backoff_schedule(platform, settings, make_event, jitter_at_ceiling):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 2
    settings.OUTBOX_BACKOFF_CAP_SECONDS = 600
    settings.OUTBOX_BREAKER_THRESHOLD = 100
    platform.fail_first = 3
    event = make_event(UserFactory(), type="wallet.charged", data={"amount": 5000, "balance": 5000})
    t = timezone.now()

    for attempt in (1, 2, 3):
        report = relay.relay_due_events(now=t)
        assert (report.sent, report.failed) == (0, 1)
        event.refresh_from_db()
        assert event.status == OutboxEvent.Status.PENDING
        assert event.attempts == attempt
        assert "503" in event.last_error
        assert event.next_attempt_at == t + timedelta(seconds=2 * 2**attempt)  # 4 s, 8 s, 16 s
        # Not a moment earlier: the relay leaves it alone until its time has come.
        assert relay.relay_due_events(now=event.next_attempt_at - timedelta(milliseconds=1)).failed == 0
        assert len(platform.calls) == attempt
        t = event.next_attempt_at

    report = relay.relay_due_events(now=t)
    assert report.sent == 1
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.SENT
    assert event.attempts == 4
    assert event.sent_at == t
    assert event.last_error == ""
    assert len(platform.calls) == 4

    headers, body = platform.calls[-1]
    assert headers["X-Signature"] == signature_of(body)
    assert headers["X-Event-Id"] == str(event.event_id)
    assert headers["X-Event-Type"] == "wallet.charged"
    assert json.loads(body) == {
        "id": str(event.event_id),
        "type": "wallet.charged",
        "occurred_at": event.created_at.isoformat(),
        "data": {"amount": 5000, "balance": 5000},
    }
    # Every attempt carried the same, equally signed body.
    assert {call_body for _, call_body in platform.calls} == {body}


def test_backoff_is_exponential_with_full_jitter_under_the_cap(settings):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 2
    settings.OUTBOX_BACKOFF_CAP_SECONDS = 600
    for attempts in range(1, 15):
        ceiling = min(600, 2 * 2**attempts)
        delays = [relay.backoff_seconds(attempts=attempts) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling / 2
        assert min(delays) < ceiling / 2
    assert relay.backoff_seconds(attempts=1000) <= 600


@pytest.mark.django_db
def test_always_failing_platform_kills_the_event_opens_the_breaker_and_the_admin_brings_it_back(platform, settings, make_event, client):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_BREAKER_THRESHOLD = 3
    settings.OUTBOX_BREAKER_COOLDOWN_SECONDS = 0.5
    platform.always_fail = True
    event = make_event(UserFactory())
    t = timezone.now()

    for _ in range(3):
        report = relay.relay_due_events(now=t)
        event.refresh_from_db()
        t = max(t, event.next_attempt_at)
    assert event.status == OutboxEvent.Status.DEAD
    assert event.attempts == 3
    assert "503" in event.last_error
    assert (report.dead, report.breaker_open) == (1, True)
    assert breaker.is_open()
    assert len(platform.calls) == 3

    # The breaker is open: even a fresh, due event is not posted.
    other = make_event(ProductFactory(), type="product.stock_adjusted", data={"delta": 1})
    assert relay.relay_due_events(now=t + timedelta(days=1)).breaker_open
    assert len(platform.calls) == 3
    # A dead event is never retried by the relay on its own.
    assert OutboxEvent.objects.get(pk=event.pk).status == OutboxEvent.Status.DEAD

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        "/admin/outbox/outboxevent/", {"action": "send_again", "_selected_action": [event.pk, other.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "1 dead event(s) queued to be sent again." in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxEvent.Status.PENDING, 0)

    platform.always_fail = False
    deadline = timezone.now() + timedelta(seconds=10)
    while breaker.is_open() and timezone.now() < deadline:  # the cool-down expires in Redis
        threading.Event().wait(0.05)
    report = relay.relay_due_events()
    assert report.sent == 2
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxEvent.Status.SENT, 1)
    assert [body["id"] for body in platform.received] == [str(event.event_id), str(other.event_id)]
    assert not breaker.is_open()


@pytest.mark.django_db
def test_breaker_stops_mid_batch_gives_the_rest_back_and_a_trial_call_decides(platform, settings, make_event):
    settings.OUTBOX_BREAKER_THRESHOLD = 3
    settings.OUTBOX_BREAKER_COOLDOWN_SECONDS = 0.5
    platform.always_fail = True
    events = [make_event(UserFactory()) for _ in range(5)]
    t = timezone.now()

    report = relay.relay_due_events(now=t)
    assert (report.failed, report.released, report.breaker_open) == (3, 2, True)
    assert len(platform.calls) == 3
    untouched = OutboxEvent.objects.filter(pk__in=[e.pk for e in events[3:]])
    assert {(e.attempts, e.next_attempt_at) for e in untouched} == {(0, t + timedelta(seconds=0.5))}
    assert cache.get(breaker.OPEN_KEY) is not None  # shared through Redis, not held by this process

    assert relay.relay_due_events().breaker_open
    assert len(platform.calls) == 3

    threading.Event().wait(0.6)  # cool-down over: one trial call, which fails and re-opens at once
    report = relay.relay_due_events()
    assert (report.failed, report.breaker_open) == (1, True)
    assert len(platform.calls) == 4

    platform.always_fail = False
    threading.Event().wait(0.6)
    # The failed ones back off (up to 2 * 2**attempts s); deliver everything a minute later.
    report = relay.relay_due_events(now=timezone.now() + timedelta(minutes=1))
    assert report.sent == 5
    assert not breaker.is_open()
    assert OutboxEvent.objects.filter(status=OutboxEvent.Status.SENT).count() == 5


@pytest.mark.django_db
def test_a_failing_event_holds_back_later_events_of_its_aggregate_only(platform, settings, make_event):
    settings.OUTBOX_BREAKER_THRESHOLD = 100
    user, other_user = UserFactory(), UserFactory()
    first = make_event(user, type="wallet.charged", data={"seq": 1})
    second = make_event(user, type="wallet.debited", data={"seq": 2})
    unrelated = make_event(other_user, type="wallet.charged", data={"seq": 1})
    platform.fail_first = 1
    t = timezone.now()

    report = relay.relay_due_events(now=t)
    assert (report.sent, report.failed) == (1, 1)
    posted = [json.loads(body)["id"] for _, body in platform.calls]
    assert posted == [str(first.event_id), str(unrelated.event_id)]  # `second` waits behind `first`
    second.refresh_from_db()
    assert (second.status, second.attempts) == (OutboxEvent.Status.PENDING, 0)

    report = relay.relay_due_events(now=t + timedelta(hours=1))
    assert report.sent == 2
    assert [body["id"] for body in platform.received] == [str(unrelated.event_id), str(first.event_id), str(second.event_id)]


@pytest.mark.django_db
def test_a_dead_event_no_longer_holds_back_its_aggregate(platform, make_event):
    user = UserFactory()
    first = make_event(user, type="wallet.charged")
    second = make_event(user, type="wallet.debited")
    OutboxEvent.objects.filter(pk=first.pk).update(status=OutboxEvent.Status.DEAD, attempts=10)

    assert relay.relay_due_events().sent == 1
    assert [body["id"] for body in platform.received] == [str(second.event_id)]


@pytest.mark.django_db
def test_a_claim_hides_events_from_other_relays_until_its_lease_ends(make_event):
    events = [make_event(UserFactory()) for _ in range(3)]
    t = timezone.now()

    claimed = relay.claim_due_events(now=t, limit=10)
    assert [e.pk for e in claimed] == [e.pk for e in events]
    assert relay.claim_due_events(now=t, limit=10) == []
    # A relay that died mid-batch: its events come back once the lease is over.
    later = t + timedelta(seconds=relay.MIN_CLAIM_LEASE_SECONDS + 1)
    assert len(relay.claim_due_events(now=later, limit=10)) == 3


@pytest.mark.django_db
def test_a_platform_slower_than_the_timeout_is_a_failed_attempt(platform, settings, make_event):
    settings.DATA_PLATFORM_TIMEOUT_SECONDS = 0.2
    platform.delay = 1.0
    event = make_event(UserFactory())

    report = relay.relay_due_events(now=timezone.now())
    assert report.failed == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxEvent.Status.PENDING, 1)
    assert "Timeout" in event.last_error


@pytest.mark.django_db
def test_an_unreachable_platform_is_a_failed_attempt(settings, make_event):
    settings.DATA_PLATFORM_URL = "http://127.0.0.1:9/events"  # discard port: nothing listens
    event = make_event(UserFactory())

    assert relay.relay_due_events().failed == 1
    event.refresh_from_db()
    assert event.attempts == 1
    assert "ConnectionError" in event.last_error


@pytest.mark.django_db
def test_without_a_platform_url_events_stay_pending(settings, make_event):
    settings.DATA_PLATFORM_URL = ""
    event = make_event(UserFactory())

    assert relay.relay_due_events() == relay.RelayReport()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxEvent.Status.PENDING, 0)


@pytest.mark.django_db(transaction=True)
def test_no_database_lock_is_held_while_the_platform_is_called(platform, settings, make_event):
    settings.DATA_PLATFORM_URL = ""  # publish's own on-commit trigger must not deliver it first
    event = make_event(UserFactory())
    settings.DATA_PLATFORM_URL = platform.url
    lockable = []

    def try_to_lock_the_row(body):
        try:
            with transaction.atomic():
                lockable.append(bool(list(OutboxEvent.objects.select_for_update(nowait=True).filter(event_id=body["id"]))))
        except OperationalError:
            lockable.append(False)
        finally:
            connection.close()

    platform.on_request = try_to_lock_the_row
    assert relay.relay_due_events().sent == 1
    assert lockable == [True]
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.SENT


@pytest.mark.django_db
def test_purge_deletes_only_sent_events_older_than_the_retention(settings, make_event):
    settings.OUTBOX_RETENTION_DAYS = 7
    now = timezone.now()
    # An event type no internal consumer reads: only the relay's retention rules apply (tests/outbox/test_consumers.py has the rest).
    old_sent, recent_sent, old_pending, old_dead = (make_event(UserFactory(), type="wallet.adjusted") for _ in range(4))
    OutboxEvent.objects.filter(pk=old_sent.pk).update(status=OutboxEvent.Status.SENT, sent_at=now - timedelta(days=8))
    OutboxEvent.objects.filter(pk=recent_sent.pk).update(status=OutboxEvent.Status.SENT, sent_at=now - timedelta(days=6))
    OutboxEvent.objects.filter(pk=old_pending.pk).update(created_at=now - timedelta(days=30))
    OutboxEvent.objects.filter(pk=old_dead.pk).update(status=OutboxEvent.Status.DEAD, created_at=now - timedelta(days=30))

    assert relay.purge_sent_events(now=now) == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent_sent.pk, old_pending.pk, old_dead.pk}
    assert relay.purge_sent_events(now=now) == 0
