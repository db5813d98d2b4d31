"""Idempotency-Key (API.md), exercised through POST /api/v1/wallet/charge, its first user."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.idempotency import fingerprint
from apps.core.models import IdempotencyKey
from apps.core.tasks import purge_expired_idempotency_keys
from apps.wallets import services
from apps.wallets.models import Wallet, WalletTransaction
from tests.factories import UserFactory
from tests.wallets.helpers import force_conflicts, snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/wallet/charge"


def charge(client, amount, key=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(URL, {"amount": amount}, format="json", headers=headers)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_same_key_twice_charges_once_and_replays(auth_client):
    first = charge(auth_client, 1500, "order-123")
    second = charge(auth_client, 1500, "order-123")

    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Wallet.objects.get(user=auth_client.user).balance == 1500
    assert WalletTransaction.objects.count() == 1
    row = IdempotencyKey.objects.get()
    assert (row.key, row.status, row.response_status) == ("order-123", "completed", 200)
    assert row.response_body == first.json()


def test_same_key_with_a_different_body_is_refused(auth_client):
    charge(auth_client, 1500, "k")
    before = snapshot(auth_client.user)

    response = charge(auth_client, 1600, "k")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert snapshot(auth_client.user) == before


def test_key_order_in_the_body_does_not_matter():
    assert fingerprint(method="post", path="/p", body={"a": 1, "b": [1, 2]}) == fingerprint(method="POST", path="/p", body={"b": [1, 2], "a": 1})
    assert fingerprint(method="POST", path="/p", body={"a": 1}) != fingerprint(method="POST", path="/q", body={"a": 1})


def test_keys_belong_to_one_user(auth_client):
    other_user = UserFactory()
    assert charge(auth_client, 100, "shared").status_code == 200
    response = charge(client_for(other_user), 200, "shared")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Wallet.objects.get(user=other_user).balance == 200


def test_without_a_key_every_request_charges(auth_client):
    charge(auth_client, 100)
    charge(auth_client, 100)
    assert Wallet.objects.get(user=auth_client.user).balance == 200
    assert not IdempotencyKey.objects.exists()


def test_a_client_error_is_stored_and_replayed(auth_client):
    first = charge(auth_client, 0, "bad")
    second = charge(auth_client, 0, "bad")

    assert first.status_code == second.status_code == 400
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second.json()["error"]["code"] == "VALIDATION_ERROR"
    assert charge(auth_client, 100, "bad").json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert snapshot(auth_client.user)["ledger"] == 0


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_empty_or_too_long_key_is_a_validation_error(auth_client, key):
    response = charge(auth_client, 100, key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "Idempotency-Key" in response.json()["error"]["details"]
    assert snapshot(auth_client.user)["ledger"] == 0
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_request_waiting_too_long_behind_the_first_with_its_key_gets_in_progress(monkeypatch):
    user = UserFactory()
    real_charge = services.charge_wallet
    first_started = threading.Event()

    def slow_charge(**kwargs):
        first_started.set()
        time.sleep(2.5)  # longer than the second request's lock wait
        return real_charge(**kwargs)

    monkeypatch.setattr(services, "charge_wallet", slow_charge)
    responses = {}

    def first():
        try:
            responses["first"] = charge(client_for(user), 100, "busy")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_started.wait(timeout=10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
        second = charge(client_for(user), 100, "busy")
    finally:
        thread.join()
        connection.close()

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert responses["first"].status_code == 200
    assert Wallet.objects.get(user=user).balance == 100
    assert WalletTransaction.objects.count() == 1


def test_a_server_error_releases_the_key_for_a_retry(auth_client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "charge_wallet", broken)
    with pytest.raises(RuntimeError):
        charge(auth_client, 100, "retry-me")
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()

    response = charge(auth_client, 100, "retry-me")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Wallet.objects.get(user=auth_client.user).balance == 100


@pytest.mark.django_db(transaction=True)
def test_concurrent_update_releases_the_key_for_a_retry(monkeypatch, settings):
    settings.WALLET_MAX_RETRIES = 0
    user = UserFactory()
    services.get_or_create_wallet(user=user)  # committed, so the other connection's write can beat ours
    client = client_for(user)
    force_conflicts(monkeypatch, times=1)

    response = charge(client, 100, "try-again")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONCURRENT_UPDATE"
    assert not IdempotencyKey.objects.exists()
    retry = charge(client, 100, "try-again")
    assert retry.status_code == 200
    assert Wallet.objects.get(user=user).balance == 100


def test_an_expired_key_counts_as_absent(auth_client):
    charge(auth_client, 100, "old")
    IdempotencyKey.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_TTL - timedelta(minutes=1))

    response = charge(auth_client, 999, "old")  # a different body would be 422 within the TTL

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Wallet.objects.get(user=auth_client.user).balance == 1099
    row = IdempotencyKey.objects.get()
    assert row.created_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_charge_once_and_the_others_replay_it(monkeypatch):
    user = UserFactory()
    real_charge = services.charge_wallet

    def slow_charge(**kwargs):
        time.sleep(0.3)  # keeps the first request in flight while the others arrive
        return real_charge(**kwargs)

    monkeypatch.setattr(services, "charge_wallet", slow_charge)
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    responses, failures = [], []

    def worker():
        try:
            client = client_for(user)
            barrier.wait()
            responses.append(charge(client, 500, "double-click"))
        except Exception as exc:  # collected and asserted below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    fresh = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r]
    replayed = [r for r in responses if r.status_code == 200 and r.get("Idempotent-Replayed") == "true"]
    assert len(fresh) == 1
    assert len(replayed) == threads_count - 1  # each waited for the first request's commit, then replayed it
    assert all(r.json() == fresh[0].json() for r in replayed)
    assert Wallet.objects.get(user=user).balance == 500
    assert WalletTransaction.objects.count() == 1


def test_purge_deletes_only_expired_keys_and_is_safe_twice(auth_client):
    for key in ("a", "b", "c"):
        charge(auth_client, 100, key)
    IdempotencyKey.objects.filter(key__in=["a", "b"]).update(created_at=timezone.now() - settings.IDEMPOTENCY_TTL - timedelta(seconds=1))

    assert purge_expired_idempotency_keys() == 2
    assert purge_expired_idempotency_keys() == 0
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["c"]


def test_purge_runs_hourly_on_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["core-purge-idempotency-keys"]
    assert entry["task"] == "apps.core.tasks.purge_expired_idempotency_keys"
    assert entry["schedule"] == timedelta(hours=1)
