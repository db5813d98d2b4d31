"""The PG simulator as a real process, driven through the shop's gateway client (API.md, "The PG simulator")."""

import itertools
import json
import time

import pytest
import requests

from apps.payments import gateway as gateway_module
from apps.payments.gateway import GatewayRejected, PgPayment, payment_idempotency_key, verify_signature
from tests.payments.conftest import wait_until

_order_ids = itertools.count(1000)

PROCESSING = 0.3  # the module simulator's PG_SIM_PROCESSING_MS
SETTLE = PROCESSING + 2.0  # long enough for a decision and a delivered callback on a busy machine


@pytest.fixture
def pg(simulator, make_gateway):
    return make_gateway(simulator.url)


def create(pg, card_number: str, callback: str, *, key: str | None = None, amount: int = 1999):
    order_id = next(_order_ids)
    payment = pg.create_payment(
        order_id=order_id, amount=amount, currency="USD", card_number=card_number, idempotency_key=key or f"test-{order_id}", callback=callback
    )
    return order_id, payment


def test_approved_card_is_pending_then_approved_with_a_signed_callback(pg, receiver):
    shop = receiver()
    order_id, payment = create(pg, "4242424242424242", shop.url, amount=12345)
    assert payment.status == "pending" and payment.transaction_key.startswith("pg_")
    assert pg.get_payment(payment.transaction_key).status == "pending"

    deliveries = wait_until(lambda: shop.for_transaction(payment.transaction_key), timeout=SETTLE)
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert delivery.json == {"transaction_key": payment.transaction_key, "order_id": order_id, "status": "approved", "reason": None}
    assert verify_signature(delivery.body, delivery.signature)
    assert not verify_signature(delivery.body, delivery.signature, secret="another-secret")

    answer = pg.get_payment(payment.transaction_key)
    assert answer == PgPayment(transaction_key=payment.transaction_key, status="approved", order_id=order_id, amount=12345, reason=None)


@pytest.mark.parametrize(("card_number", "reason"), [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")])
def test_declining_cards_call_back_declined_with_their_reason(pg, receiver, card_number, reason):
    shop = receiver()
    order_id, payment = create(pg, card_number, shop.url)
    deliveries = wait_until(lambda: shop.for_transaction(payment.transaction_key), timeout=SETTLE)
    assert [delivery.json for delivery in deliveries] == [
        {"transaction_key": payment.transaction_key, "order_id": order_id, "status": "declined", "reason": reason}
    ]
    assert (pg.get_payment(payment.transaction_key).status, pg.get_payment(payment.transaction_key).reason) == ("declined", reason)


def test_any_other_luhn_valid_number_is_approved(pg, receiver):
    shop = receiver()
    _, payment = create(pg, "5555555555554444", shop.url)
    deliveries = wait_until(lambda: shop.for_transaction(payment.transaction_key), timeout=SETTLE)
    assert [delivery.json["status"] for delivery in deliveries] == ["approved"]


def test_lost_callback_card_is_approved_but_only_a_status_query_finds_it(pg, receiver):
    shop = receiver()
    _, payment = create(pg, "4000000000000341", shop.url)
    assert wait_until(lambda: pg.get_payment(payment.transaction_key).status == "approved", timeout=SETTLE)
    wait_until(lambda: shop.snapshot(), timeout=1.0)
    assert shop.snapshot() == []


def test_pending_forever_card_is_never_decided(pg, receiver):
    shop = receiver()
    _, payment = create(pg, "4000000000000259", shop.url)
    wait_until(lambda: shop.snapshot(), timeout=PROCESSING + 1.0)
    assert shop.snapshot() == []
    assert pg.get_payment(payment.transaction_key).status == "pending"


def test_callback_is_retried_until_the_shop_answers_2xx(pg, receiver):
    shop = receiver(fail_first=2)
    _, payment = create(pg, "4242424242424242", shop.url)
    # First retry after 0.5 s, the next 1 s later: delivered on the third attempt.
    deliveries = wait_until(lambda: [d for d in shop.for_transaction(payment.transaction_key) if d.answered == 200], timeout=SETTLE + 3)
    assert deliveries, shop.snapshot()
    attempts = shop.for_transaction(payment.transaction_key)
    assert [delivery.answered for delivery in attempts] == [503, 503, 200]
    assert len({delivery.body for delivery in attempts}) == 1
    assert all(verify_signature(delivery.body, delivery.signature) for delivery in attempts)
    wait_until(lambda: len(shop.snapshot()) > 3, timeout=1.0)
    assert len(shop.snapshot()) == 3  # nothing more once it was accepted


def test_callback_to_an_unreachable_shop_is_retried_until_it_is_back(pg, receiver):
    shop = receiver()
    shop_url, port = shop.url, shop.server.server_port
    shop.close()
    _, payment = create(pg, "4242424242424242", shop_url)
    time.sleep(PROCESSING + 0.3)  # the first delivery attempt finds nobody listening
    back = receiver(port=port)
    deliveries = wait_until(lambda: back.for_transaction(payment.transaction_key), timeout=SETTLE + 4)
    assert [delivery.json["status"] for delivery in deliveries] == ["approved"]


def test_refund_of_an_approved_payment_is_repeatable(pg, receiver):
    shop = receiver()
    _, payment = create(pg, "4242424242424242", shop.url)
    assert wait_until(lambda: pg.get_payment(payment.transaction_key).status == "approved", timeout=SETTLE)
    first, again = pg.refund(payment.transaction_key), pg.refund(payment.transaction_key)
    assert first.status == again.status == "refunded"
    assert pg.get_payment(payment.transaction_key).status == "refunded"


def test_refund_of_a_pending_payment_voids_it_and_no_callback_follows(pg, receiver):
    shop = receiver()
    _, payment = create(pg, "4242424242424242", shop.url)
    assert pg.refund(payment.transaction_key).status == "refunded"
    wait_until(lambda: shop.snapshot(), timeout=PROCESSING + 1.0)
    assert shop.snapshot() == []
    assert pg.get_payment(payment.transaction_key).status == "refunded"


def test_refund_of_a_declined_payment_is_refused(pg, receiver):
    shop = receiver()
    _, payment = create(pg, "4000000000000002", shop.url)
    assert wait_until(lambda: pg.get_payment(payment.transaction_key).status == "declined", timeout=SETTLE)
    with pytest.raises(GatewayRejected) as raised:
        pg.refund(payment.transaction_key)
    assert raised.value.status_code == 409


def test_unknown_transaction_is_404(pg):
    for call in (pg.get_payment, pg.refund):
        with pytest.raises(GatewayRejected) as raised:
            call("pg_unknown")
        assert raised.value.status_code == 404


def test_same_idempotency_key_gets_the_same_transaction(pg, receiver):
    shop = receiver()
    key = payment_idempotency_key(next(_order_ids))
    _, first = create(pg, "4242424242424242", shop.url, key=key)
    _, again = create(pg, "4242424242424242", shop.url, key=key)
    _, other = create(pg, "4242424242424242", shop.url)
    assert first.transaction_key == again.transaction_key != other.transaction_key
    wait_until(lambda: len(shop.snapshot()) >= 3, timeout=SETTLE)
    assert sorted(delivery.json["transaction_key"] for delivery in shop.snapshot()) == sorted([first.transaction_key, other.transaction_key])


def test_requests_with_a_wrong_or_missing_signature_are_401(simulator, make_gateway, receiver):
    forger = make_gateway(simulator.url, secret="not-the-secret")
    with pytest.raises(GatewayRejected) as raised:
        forger.create_payment(order_id=1, amount=100, currency="USD", card_number="4242424242424242", idempotency_key="forged", callback=receiver().url)
    assert raised.value.status_code == 401
    body = json.dumps({"order_id": 1, "amount": 100, "currency": "USD", "card_number": "4242424242424242", "callback_url": "http://127.0.0.1:9/"}).encode()
    unsigned = requests.post(simulator.url + "/payments", data=body, timeout=5)
    assert unsigned.status_code == 401
    tampered = requests.post(
        simulator.url + "/payments", data=body.replace(b"100", b"1"), headers={"X-PG-Signature": gateway_module.sign(body)}, timeout=5
    )
    assert tampered.status_code == 401
    assert requests.get(simulator.url + "/payments/pg_x", timeout=5).status_code == 401


def test_invalid_card_number_or_body_is_400(pg, simulator, receiver):
    with pytest.raises(GatewayRejected) as raised:
        create(pg, "4242424242424241", receiver().url)
    assert raised.value.status_code == 400
    body = b"[1, 2]"
    answer = requests.post(simulator.url + "/payments", data=body, headers={"X-PG-Signature": gateway_module.sign(body)}, timeout=5)
    assert answer.status_code == 400


def test_the_simulator_never_prints_a_card_number(simulator, pg, receiver):
    shop = receiver()
    for number in ("4242424242424242", "4000000000000002", "5555555555554444"):
        create(pg, number, shop.url)
    wait_until(lambda: len(shop.snapshot()) >= 3, timeout=SETTLE)
    output = simulator.output()
    assert "accepted" in output  # it does log (verbosity 2), just never the number
    for number in ("4242424242424242", "4000000000000002", "5555555555554444"):
        assert number not in output
