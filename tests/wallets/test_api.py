import pytest
from rest_framework.test import APIClient

from apps.core.idempotency import MAX_KEY_LENGTH
from apps.core.models import IdempotencyKey
from apps.wallets import services
from apps.wallets.models import Wallet
from tests.factories import UserFactory
from tests.wallets.helpers import force_conflicts, make_order, snapshot

pytestmark = pytest.mark.django_db

TXN_FIELDS = {"id", "kind", "amount", "balance_after", "order_id", "created_at", "currency"}


def charge(client, amount, **headers):
    return client.post("/api/v1/wallet/charge", {"amount": amount}, format="json", headers=headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    return body["error"]


def test_get_wallet_of_a_new_user_is_zero(auth_client):
    response = auth_client.get("/api/v1/wallet")
    assert response.status_code == 200
    assert response.json() == {"balance": 0, "currency": "USD"}
    assert not Wallet.objects.exists()


def test_charge_returns_the_balance_and_the_transaction(auth_client):
    response = charge(auth_client, 2500)

    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == 2500
    assert body["currency"] == "USD"
    txn = body["transaction"]
    assert set(txn) == TXN_FIELDS
    assert (txn["kind"], txn["amount"], txn["balance_after"], txn["order_id"], txn["currency"]) == ("charge", 2500, 2500, None, "USD")
    assert auth_client.get("/api/v1/wallet").json() == {"balance": 2500, "currency": "USD"}


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": -100},
        {"amount": 0},
        {"amount": 1_000_001},
        {"amount": 10**40},
        {"amount": "100"},
        {"amount": "abc"},
        {"amount": 10.5},
        {"amount": 100.0},
        {"amount": True},
        {"amount": None},
        {"amount": [100]},
        {},
    ],
    ids=["negative", "zero", "over-max", "huge", "numeric-string", "string", "float", "integral-float", "bool", "null", "list", "missing"],
)
def test_charge_rejects_bad_amounts_with_nothing_changed(auth_client, payload):
    response = auth_client.post("/api/v1/wallet/charge", payload, format="json")

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "amount" in error["details"]
    assert snapshot(auth_client.user) == {"wallet": None, "ledger": 0, "events": 0}


def test_charge_rejects_a_body_that_is_not_json(auth_client):
    response = auth_client.post("/api/v1/wallet/charge", "amount=5", content_type="application/json")
    assert_error(response, 400, "VALIDATION_ERROR")
    assert snapshot(auth_client.user)["ledger"] == 0


def test_charge_over_the_maximum_balance_is_refused(auth_client, settings):
    settings.WALLET_MAX_BALANCE = 3000
    charge(auth_client, 2500)
    before = snapshot(auth_client.user)

    error = assert_error(charge(auth_client, 501), 400, "VALIDATION_ERROR")

    assert "amount" in error["details"]
    assert snapshot(auth_client.user) == before


@pytest.mark.parametrize(
    "method,path",
    [("get", "/api/v1/wallet"), ("post", "/api/v1/wallet/charge"), ("get", "/api/v1/wallet/transactions")],
)
def test_wallet_endpoints_need_authentication(api_client, method, path):
    user = UserFactory()
    response = getattr(api_client, method)(path, {"amount": 100} if method == "post" else None, format="json", headers={"Idempotency-Key": "k1"})
    assert_error(response, 401, "NOT_AUTHENTICATED")
    assert snapshot(user) == {"wallet": None, "ledger": 0, "events": 0}
    assert not IdempotencyKey.objects.exists()


def test_token_authentication_works(api_client):
    from rest_framework.authtoken.models import Token

    user = UserFactory()
    token = Token.objects.create(user=user)
    response = api_client.post("/api/v1/wallet/charge", {"amount": 100}, format="json", headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == 200
    assert Wallet.objects.get(user=user).balance == 100


def test_charge_is_throttled_per_user_with_retry_after(auth_client, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "wallet_charge": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert charge(auth_client, 100).status_code == 200
    assert charge(auth_client, 100).status_code == 200
    before = snapshot(auth_client.user)

    response = charge(auth_client, 100, **{"Idempotency-Key": "third"})

    error = assert_error(response, 429, "THROTTLED")
    assert 0 < int(response["Retry-After"]) <= 60
    assert error["details"]["retry_after"] > 0
    assert snapshot(auth_client.user) == before
    assert not IdempotencyKey.objects.exists()
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert charge(other, 100).status_code == 200  # the limit is per user


@pytest.mark.django_db(transaction=True)
def test_charge_reports_concurrent_update_when_retries_run_out(monkeypatch, settings):
    settings.WALLET_MAX_RETRIES = 0
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    services.charge_wallet(user=user, amount=100)
    before = snapshot(user)
    force_conflicts(monkeypatch, times=1)

    error = assert_error(charge(client, 50), 409, "CONCURRENT_UPDATE")

    assert error["details"] == {"retries": 0}
    after = snapshot(user)
    assert after["wallet"]["balance"] == 100
    assert (after["ledger"], after["events"]) == (before["ledger"], before["events"])


def test_transactions_are_paginated_newest_first_with_signed_amounts(auth_client):
    user = auth_client.user
    order = make_order(user, total=300)
    services.charge_wallet(user=user, amount=1000)
    services.debit_wallet(user=user, amount=300, order=order)
    services.refund_wallet(user=user, amount=300, order=order)

    body = auth_client.get("/api/v1/wallet/transactions").json()

    assert body["count"] == 3
    assert [(t["kind"], t["amount"], t["balance_after"], t["order_id"]) for t in body["results"]] == [
        ("refund", 300, 1000, order.pk),
        ("payment", -300, 700, order.pk),
        ("charge", 1000, 1000, None),
    ]
    assert all(set(t) == TXN_FIELDS and t["currency"] == "USD" for t in body["results"])

    page = auth_client.get("/api/v1/wallet/transactions?page=2&page_size=2").json()
    assert page["count"] == 3
    assert [t["kind"] for t in page["results"]] == ["charge"]
    assert page["previous"] is not None and page["next"] is None


def test_transactions_bad_page_is_not_found(auth_client):
    assert_error(auth_client.get("/api/v1/wallet/transactions?page=9"), 404, "NOT_FOUND")


def test_nobody_sees_another_users_ledger(auth_client):
    services.charge_wallet(user=auth_client.user, amount=700)
    other = APIClient()
    other.force_authenticate(UserFactory())

    assert other.get("/api/v1/wallet/transactions").json()["count"] == 0
    assert other.get("/api/v1/wallet").json()["balance"] == 0


def test_idempotency_key_longer_than_255_is_a_validation_error(auth_client):
    error = assert_error(charge(auth_client, 100, **{"Idempotency-Key": "k" * (MAX_KEY_LENGTH + 1)}), 400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in error["details"]
    assert snapshot(auth_client.user)["ledger"] == 0
    assert not IdempotencyKey.objects.exists()
    assert charge(auth_client, 100, **{"Idempotency-Key": "k" * MAX_KEY_LENGTH}).status_code == 200


def test_schema_documents_the_wallet_endpoints(api_client):
    response = api_client.get("/api/v1/schema", headers={"Accept": "application/json"})
    assert response.status_code == 200
    paths = response.json()["paths"] if response["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(response.content)["paths"]
    charge_op = paths["/api/v1/wallet/charge"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in charge_op["parameters"])
    assert {"200", "400", "401", "409", "422", "429"} <= set(charge_op["responses"])
    assert "/api/v1/wallet/transactions" in paths
