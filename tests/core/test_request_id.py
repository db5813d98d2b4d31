import json
import logging
import re

import pytest

from apps.core.logging import JsonFormatter, RequestIdFilter
from apps.core.request_context import request_id_var
from apps.outbox.models import OutboxEvent


@pytest.mark.django_db
def test_a_request_id_is_generated_when_the_caller_sends_none(client):
    response = client.get("/livez")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/livez")["X-Request-ID"] != response["X-Request-ID"]


@pytest.mark.django_db
def test_a_sane_caller_request_id_is_kept_and_a_bad_one_replaced(client):
    assert client.get("/livez", HTTP_X_REQUEST_ID="edge-7f3a:42")["X-Request-ID"] == "edge-7f3a:42"
    for bad in ("has spaces", "x" * 129, "semi;colon"):
        replaced = client.get("/livez", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced), bad


@pytest.mark.django_db
def test_events_published_by_a_request_carry_its_id(auth_client):
    response = auth_client.post("/api/v1/wallet/charge", {"amount": 500}, format="json", HTTP_X_REQUEST_ID="checkout-req-1")
    assert response.status_code == 200
    assert list(OutboxEvent.objects.values_list("type", "request_id")) == [("wallet.charged", "checkout-req-1")]


def test_every_log_line_carries_the_request_id_as_json():
    record = logging.LogRecord("apps.orders", logging.WARNING, __file__, 1, "order %s refused", (42,), None)
    token = request_id_var.set("req-abc")
    try:
        assert RequestIdFilter().filter(record) is True
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-abc"
    assert line["message"] == "order 42 refused"
    assert line["level"] == "WARNING" and line["logger"] == "apps.orders"


def test_outside_a_request_log_lines_say_so():
    record = logging.LogRecord("apps.outbox", logging.INFO, __file__, 1, "relay idle", (), None)
    RequestIdFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["request_id"] == "-"
