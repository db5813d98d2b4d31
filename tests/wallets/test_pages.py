import re

import pytest

from apps.core.models import IdempotencyKey
from apps.wallets import services
from apps.wallets.models import Wallet, WalletTransaction
from tests.factories import UserFactory
from tests.wallets.helpers import snapshot

pytestmark = pytest.mark.django_db

URL = "/wallet/"



def form_token(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def test_the_wallet_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/wallet/"


def test_the_page_shows_balance_form_and_ledger(shopper_client):
    services.charge_wallet(user=shopper_client.user, amount=2550)

    response = shopper_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="wallet-balance">$25.50</strong>' in html
    assert 'name="amount"' in html and 'name="token"' in html
    assert "Charge" in html and "$25.50" in html


def test_a_new_user_sees_an_empty_wallet(shopper_client):
    html = shopper_client.get(URL).content.decode()
    assert "$0.00" in html
    assert "No transactions yet." in html
    assert not Wallet.objects.exists()


def test_charging_from_the_form(shopper_client):
    token = form_token(shopper_client.get(URL))

    response = shopper_client.post(URL, {"amount": "25.00", "token": token}, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert Wallet.objects.get(user=shopper_client.user).balance == 2500
    assert "Added $25.00. Your balance is $25.00." in response.content.decode()


@pytest.mark.parametrize(
    "typed,cents",
    [
        ("0.29", 29),
        ("1", 100),
        ("  7.5 ", 750),
        ("10000.00", 1_000_000),
        ("$20", 2000),
        ("20", 2000),
        ("1,000", 100_000),
        ("1,000.50", 100_050),
        ("$ 12.30", 1230),
    ],
)
def test_amounts_in_major_units_become_exact_cents(shopper_client, typed, cents):
    shopper_client.post(URL, {"amount": typed, "token": "t"})
    assert WalletTransaction.objects.get().amount == cents


def test_a_double_submitted_form_charges_once(shopper_client):
    token = form_token(shopper_client.get(URL))

    shopper_client.post(URL, {"amount": "10.00", "token": token})
    again = shopper_client.post(URL, {"amount": "10.00", "token": token}, follow=True)

    assert Wallet.objects.get(user=shopper_client.user).balance == 1000
    assert WalletTransaction.objects.count() == 1
    assert "This form was already sent: $10.00 was added once." in again.content.decode()
    assert shopper_client.post(URL, {"amount": "10.00", "token": form_token(again)}).status_code == 302
    assert Wallet.objects.get(user=shopper_client.user).balance == 2000


@pytest.mark.parametrize(
    "typed,message",
    [
        ("abc", "Enter an amount in dollars and cents, like 12.34."),
        ("", "Enter the amount to add, like 25.00."),
        ("-5", "Enter an amount between $0.01 and $10,000.00."),
        ("0", "Enter an amount between $0.01 and $10,000.00."),
        ("10000.01", "Enter an amount between $0.01 and $10,000.00."),
        ("12.345", "Enter an amount in dollars and cents, like 12.34."),
        ("1,00", "Enter an amount in dollars and cents, like 12.34."),
        ("NaN", "Enter an amount in dollars and cents, like 12.34."),
    ],
)
def test_bad_input_shows_a_message_and_keeps_what_was_typed(shopper_client, typed, message):
    token = form_token(shopper_client.get(URL))

    response = shopper_client.post(URL, {"amount": typed, "token": token})

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Ensure that" not in html and "Enter a number." not in html and "This field is required." not in html
    assert f'name="amount" value="{typed}"' in html if typed else 'name="amount"' in html
    assert snapshot(shopper_client.user) == {"wallet": None, "ledger": 0, "events": 0}
    assert not IdempotencyKey.objects.exists()


def test_a_refused_charge_can_be_corrected_and_sent_with_the_same_form(shopper_client, settings):
    settings.WALLET_MAX_BALANCE = 5000
    token = form_token(shopper_client.get(URL))

    refused = shopper_client.post(URL, {"amount": "60.00", "token": token})
    assert refused.status_code == 400
    assert "A wallet can hold at most $50.00; you can add up to $50.00." in refused.content.decode()
    assert form_token(refused) == token

    assert shopper_client.post(URL, {"amount": "50.00", "token": token}).status_code == 302
    assert Wallet.objects.get(user=shopper_client.user).balance == 5000


def test_another_user_cannot_see_my_ledger(client):
    me, other = UserFactory(), UserFactory()
    services.charge_wallet(user=me, amount=123_456)
    client.force_login(other)

    html = client.get(URL).content.decode()

    assert "$1,234.56" not in html
    assert "No transactions yet." in html


def test_the_ledger_is_paginated_newest_first(shopper_client):
    for cents in range(1, 26):
        services.charge_wallet(user=shopper_client.user, amount=cents)

    first = shopper_client.get(URL).content.decode()
    second = shopper_client.get(URL + "?page=2").content.decode()

    assert first.count('data-label="Amount"') == 20
    assert second.count('data-label="Amount"') == 5
    assert first.index("$0.25") < first.index("$0.24")
    assert "Page 2 of 2" in second
    assert shopper_client.get(URL + "?page=99").status_code == 200
