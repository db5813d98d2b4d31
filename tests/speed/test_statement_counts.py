"""What a request costs the database, through the API with a real token (and an Idempotency-Key on writes).

Counted by wrapping the connection's execute (every statement, SAVEPOINTs included) and its commit
(tests/speed/counting.py), with the cache (Redis) up and warm, tasks queued on commit as in
production. Each budget is the issue's: adding a query to one of these paths fails here. The
expected statements are listed where the budget is tight, so a failure shows what changed.
"""

import pytest

from apps.coupons.models import Coupon, UserCoupon
from tests.factories import CouponFactory, ProductFactory, UserFactory
from tests.orders.helpers import fund
from tests.speed.conftest import token_client
from tests.speed.counting import count_database_cost

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("queued_tasks")]

# The order flow: key INSERT, products SELECT FOR UPDATE, stock UPDATE (one per line), wallet SELECT
# FOR UPDATE, order INSERT, items INSERT, wallet UPDATE, ledger INSERT, outbox INSERT, key UPDATE.
ONE_LINE_CHECKOUT = 10
PER_EXTRA_LINE = 1
PER_COUPON = 2  # the coupon's row lock and its guarded UPDATE; the campaign's terms come from the cache
# The charge: key INSERT, wallet SELECT, wallet UPDATE, ledger INSERT, outbox INSERT, key UPDATE.
CHARGE = 6


@pytest.fixture
def shopper():
    """A funded shopper whose token lookup is already cached (their first request was made)."""
    user = UserFactory()
    fund(user, 1_000_000)
    client = token_client(user)
    assert client.get("/api/v1/me").status_code == 200
    return client


def _checkout(client, lines, *, key: str, user_coupon_id: int | None = None):
    body = {"items": [{"product_id": product.pk, "quantity": 1} for product in lines]}
    if user_coupon_id is not None:
        body["user_coupon_id"] = user_coupon_id
    with count_database_cost() as cost:
        response = client.post("/api/v1/orders", body, format="json", headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return cost


def _assert_one_transaction(cost, *, at_most: int) -> None:
    assert len(cost.statements) <= at_most, cost
    assert cost.commits == 1, cost
    assert cost.autocommitted_writes == [], cost


def test_authenticated_me_with_the_cache_up_costs_no_statement(shopper):
    with count_database_cost() as cost:
        response = shopper.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["id"] == shopper.user.pk
    assert cost.statements == [] and cost.commits == 0, cost


def test_the_first_request_of_a_token_asks_the_database_once():
    client = token_client(UserFactory())
    with count_database_cost() as cost:
        assert client.get("/api/v1/me").status_code == 200
    assert len(cost.statements) == 1 and "authtoken_token" in cost.statements[0], cost
    assert cost.commits == 0


def test_one_line_wallet_checkout_is_one_transaction_of_at_most_ten_statements(shopper):
    product = ProductFactory(stock=10)
    cost = _checkout(shopper, [product], key="one-line")
    _assert_one_transaction(cost, at_most=ONE_LINE_CHECKOUT)
    assert not any("authtoken_token" in sql or "accounts_user" in sql for sql in cost.statements), cost


@pytest.mark.parametrize("lines", [2, 3, 5])
def test_each_extra_line_adds_at_most_one_statement(shopper, lines):
    products = ProductFactory.create_batch(lines, stock=10)
    cost = _checkout(shopper, products, key=f"lines-{lines}")
    _assert_one_transaction(cost, at_most=ONE_LINE_CHECKOUT + (lines - 1) * PER_EXTRA_LINE)


def test_a_coupon_adds_at_most_two_statements(shopper):
    coupon = CouponFactory(discount_value=100)
    # Claimed through the API, as a shopper does: the campaign is in the cache from then on.
    claimed = shopper.post(f"/api/v1/coupons/{coupon.pk}/issue")
    assert claimed.status_code == 201, claimed.content
    product = ProductFactory(stock=10, price=1000)
    cost = _checkout(shopper, [product], key="with-coupon", user_coupon_id=claimed.json()["id"])
    _assert_one_transaction(cost, at_most=ONE_LINE_CHECKOUT + PER_COUPON)
    assert UserCoupon.objects.get(pk=claimed.json()["id"]).status == UserCoupon.Status.USED


def test_wallet_charge_is_one_transaction_of_at_most_six_statements(shopper):
    with count_database_cost() as cost:
        response = shopper.post("/api/v1/wallet/charge", {"amount": 500}, format="json", headers={"Idempotency-Key": "charge-1"})
    assert response.status_code == 200, response.content
    _assert_one_transaction(cost, at_most=CHARGE)


def test_sold_out_coupon_claim_costs_no_statement(shopper):
    coupon = CouponFactory(total_quantity=1)
    assert token_client(UserFactory()).post(f"/api/v1/coupons/{coupon.pk}/issue").status_code == 201
    # The first refusal may read the campaign and build the gate; from then on, memory answers.
    assert shopper.post(f"/api/v1/coupons/{coupon.pk}/issue").status_code == 409
    with count_database_cost() as cost:
        response = shopper.post(f"/api/v1/coupons/{coupon.pk}/issue")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "COUPON_SOLD_OUT"
    assert cost.statements == [] and cost.commits == 0, cost
    assert Coupon.objects.get(pk=coupon.pk).issued_quantity == 1


def test_cached_product_detail_costs_no_statement(api_client):
    product = ProductFactory(stock=3)
    assert api_client.get(f"/api/v1/products/{product.pk}").status_code == 200
    with count_database_cost() as cost:
        response = api_client.get(f"/api/v1/products/{product.pk}")
    assert response.status_code == 200 and response.json()["stock"] == 3
    assert cost.statements == [] and cost.commits == 0, cost


def test_sold_out_product_checkout_costs_no_statement(shopper):
    product = ProductFactory(stock=1)
    _checkout(shopper, [product], key="takes-the-last-one")
    with count_database_cost() as cost:
        response = shopper.post(
            "/api/v1/orders", {"items": [{"product_id": product.pk, "quantity": 1}]}, format="json", headers={"Idempotency-Key": "too-late"}
        )
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "OUT_OF_STOCK"
    assert cost.statements == [] and cost.commits == 0, cost
