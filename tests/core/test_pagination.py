import pytest

from apps.wallets.services import charge_wallet


@pytest.fixture
def ledger_of_three(auth_client):
    for amount in (100, 200, 300):
        charge_wallet(user=auth_client.user, amount=amount)
    return auth_client


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5"])
def test_a_page_that_is_not_a_positive_whole_number_is_a_validation_error(ledger_of_three, page):
    response = ledger_of_three.get("/api/v1/wallet/transactions", {"page": page})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "page" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_a_page_past_the_end_is_not_found(ledger_of_three):
    response = ledger_of_three.get("/api/v1/wallet/transactions", {"page": 9})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.django_db
def test_page_size_is_clamped_and_pages_link_to_each_other(ledger_of_three):
    assert len(ledger_of_three.get("/api/v1/wallet/transactions", {"page_size": 1000}).json()["results"]) == 3
    body = ledger_of_three.get("/api/v1/wallet/transactions", {"page_size": 2, "page": 2}).json()
    assert body["count"] == 3
    assert [txn["amount"] for txn in body["results"]] == [100]
    assert body["next"] is None and "page_size=2" in body["previous"]
