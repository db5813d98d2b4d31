import pytest
from django.contrib.admin.models import LogEntry

from apps.wallets import services
from apps.wallets.models import Wallet, WalletTransaction
from tests.factories import UserFactory
from tests.wallets.helpers import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def wallet():
    shopper = UserFactory(email="buyer@example.com")
    services.charge_wallet(user=shopper, amount=5000)
    return Wallet.objects.get(user=shopper)


def adjust_url(wallet) -> str:
    return f"/admin/wallets/wallet/{wallet.pk}/adjust/"


def test_wallet_list_search_and_read_only_detail_with_ledger(admin_client, wallet):
    listing = admin_client.get("/admin/wallets/wallet/?q=buyer@")
    assert listing.status_code == 200
    assert "buyer@example.com" in listing.content.decode()
    assert "$50.00" in listing.content.decode()

    detail = admin_client.get(f"/admin/wallets/wallet/{wallet.pk}/change/")
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "Ledger (newest 50 lines)" in html
    assert 'name="balance"' not in html  # nothing editable
    assert adjust_url(wallet) in html


def test_wallets_cannot_be_added_edited_or_deleted_in_the_admin(admin_client, wallet):
    assert admin_client.get("/admin/wallets/wallet/add/").status_code == 403
    assert admin_client.post(f"/admin/wallets/wallet/{wallet.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"/admin/wallets/wallet/{wallet.pk}/change/", {"balance": "999999", "version": "0"})
    assert Wallet.objects.get(pk=wallet.pk).balance == 5000


def test_adjusting_goes_through_the_service(admin_client, wallet):
    assert admin_client.get(adjust_url(wallet)).status_code == 200

    response = admin_client.post(adjust_url(wallet), {"amount": "-12.50", "note": "damaged parcel refund reversed"}, follow=True)

    assert response.status_code == 200
    assert "Adjusted by \u2212$12.50; the balance is now $37.50." in response.content.decode()
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (3750, 2)
    txn = WalletTransaction.objects.get(kind="adjustment")
    assert (txn.amount, txn.balance_after, txn.note) == (-1250, 3750, "damaged parcel refund reversed")
    assert LogEntry.objects.filter(object_id=str(wallet.pk), change_message__contains="\u2212$12.50").exists()


@pytest.mark.parametrize(
    "data,message",
    [
        ({"amount": "-50.01", "note": "too much"}, "Your wallet balance is too low."),
        ({"amount": "0", "note": "nothing"}, "Enter an amount other than zero."),
        ({"amount": "1000000.01", "note": "over the cap"}, "A wallet can hold at most $1,000,000.00"),
    ],
)
def test_a_refused_adjustment_is_a_message_and_changes_nothing(admin_client, wallet, data, message):
    before = snapshot(wallet.user)

    response = admin_client.post(adjust_url(wallet), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert f'value="{data["amount"]}"' in html  # what staff typed is kept
    assert snapshot(wallet.user) == before


def test_adjusting_needs_the_change_permission(client, wallet):
    client.force_login(UserFactory(is_staff=True))
    assert client.post(adjust_url(wallet), {"amount": "10.00", "note": "x"}).status_code == 403
    assert Wallet.objects.get(pk=wallet.pk).balance == 5000


def test_transaction_list_is_read_only_with_filters(admin_client, wallet):
    response = admin_client.get("/admin/wallets/wallettransaction/?kind__exact=charge&q=buyer")
    assert response.status_code == 200
    assert "$50.00" in response.content.decode()
    txn = WalletTransaction.objects.get()
    assert admin_client.get(f"/admin/wallets/wallettransaction/{txn.pk}/change/").status_code == 200
    assert admin_client.get("/admin/wallets/wallettransaction/add/").status_code == 403
