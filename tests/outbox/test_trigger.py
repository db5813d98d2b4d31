"""The on-commit relay trigger queues one run at a time: commits made while a run is queued ride on it."""

import pytest
from django.core.cache import cache
from django.db import transaction

from apps.outbox import services
from apps.outbox.tasks import RELAY_QUEUED_KEY, relay_outbox
from tests.factories import UserFactory


@pytest.fixture
def queued(monkeypatch):
    """Counts the relay runs queued, without running them (as with a busy or stopped worker)."""
    calls = []
    monkeypatch.setattr(relay_outbox, "apply_async", lambda **kwargs: calls.append(kwargs))
    return calls


def _commit_one(user, execute):
    with execute(execute=True), transaction.atomic():
        services.publish(type="wallet.charged", aggregate=user, data={"amount": 1})


@pytest.mark.django_db
def test_commits_while_a_run_is_queued_queue_no_more_and_a_started_run_lets_the_next_commit_queue(
    queued, django_capture_on_commit_callbacks, settings
):
    settings.DATA_PLATFORM_URL = ""  # the run below delivers nothing; it only has to start
    user = UserFactory()
    _commit_one(user, django_capture_on_commit_callbacks)
    _commit_one(user, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():  # two events, one commit
        services.publish(type="wallet.charged", aggregate=user, data={"amount": 2})
        services.publish(type="wallet.charged", aggregate=user, data={"amount": 3})
    assert len(queued) == 1
    assert queued[0]["countdown"] == services.RELAY_TRIGGER_DELAY_SECONDS  # so the commits of that moment share it
    assert 0 < cache.ttl(RELAY_QUEUED_KEY) <= services.RELAY_QUEUED_SECONDS  # lapses by itself

    relay_outbox()  # the queued run starts (the task clears the flag): it will see everything committed so far
    assert cache.get(RELAY_QUEUED_KEY) is None
    _commit_one(user, django_capture_on_commit_callbacks)
    assert len(queued) == 2


@pytest.mark.django_db
def test_without_a_working_cache_every_commit_still_queues_a_run(queued, django_capture_on_commit_callbacks, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(services.cache, "add", broken)
    user = UserFactory()
    _commit_one(user, django_capture_on_commit_callbacks)
    _commit_one(user, django_capture_on_commit_callbacks)
    assert len(queued) == 2
