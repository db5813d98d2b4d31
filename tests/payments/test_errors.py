"""The payment errors leave the API in API.md's shape: 503 PAYMENT_UNAVAILABLE with Retry-After, 401 INVALID_SIGNATURE."""

import json

import pytest

from apps.core.errors import InvalidSignature, PaymentUnavailable
from apps.core.exceptions import api_exception_handler
from apps.payments.breaker import BreakerPolicy, SharedBreaker


def test_payment_unavailable_is_503_with_retry_after():
    response = api_exception_handler(PaymentUnavailable(retry_after=17), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert response.data == {
        "error": {
            "code": "PAYMENT_UNAVAILABLE",
            "message": "Card payments are unavailable right now; please try again shortly or pay from your wallet.",
            "details": {"retry_after": 17},
        }
    }


def test_open_breaker_error_carries_the_time_left(breaker_name):
    breaker = SharedBreaker(breaker_name, BreakerPolicy(window=10, min_calls=1, failure_rate=0.5, open_seconds=30, trial_seconds=5))
    breaker.record(breaker.acquire(), success=False)
    with pytest.raises(PaymentUnavailable) as raised:
        breaker.ensure_closed()
    response = api_exception_handler(raised.value, {})
    assert response.status_code == 503
    assert 29 <= int(response["Retry-After"]) <= 30


def test_invalid_signature_is_401():
    response = api_exception_handler(InvalidSignature(), {})
    assert response.status_code == 401
    assert json.loads(json.dumps(response.data))["error"]["code"] == "INVALID_SIGNATURE"
    assert "Retry-After" not in response
