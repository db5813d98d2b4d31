import json
import uuid

import pytest
from django.db import transaction

from apps.devtools.models import DevReceivedEvent
from apps.outbox import relay, services
from apps.outbox.models import OutboxEvent
from tests.factories import UserFactory
from tests.outbox.helpers import signature_of

URL = "/dev/data-platform/events"


def _body(**overrides) -> bytes:
    body = {"id": str(uuid.uuid4()), "type": "order.paid", "occurred_at": "2026-11-21T05:00:00+00:00", "data": {"order_id": 7}}
    return json.dumps({**body, **overrides}).encode()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.mark.django_db
def test_a_correctly_signed_event_is_recorded(client, debug):
    body = _body()
    response = client.post(URL, body, content_type="application/json", headers={"X-Signature": signature_of(body), "X-Request-ID": "req-9"})
    assert response.status_code == 202
    received = DevReceivedEvent.objects.get()
    assert str(received.event_id) == json.loads(body)["id"]
    assert (received.type, received.data, received.request_id) == ("order.paid", {"order_id": 7}, "req-9")


@pytest.mark.django_db
@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "not-a-signature"])
def test_a_wrongly_signed_event_is_refused_and_not_recorded(client, debug, signature):
    response = client.post(URL, _body(), content_type="application/json", headers={"X-Signature": signature})
    assert response.status_code == 401
    assert DevReceivedEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", _body(id="not-a-uuid"), _body(occurred_at="yesterday"), _body(data=[1])])
def test_a_malformed_event_is_refused_and_not_recorded(client, debug, body):
    response = client.post(URL, body, content_type="application/json", headers={"X-Signature": signature_of(body)})
    assert response.status_code == 400
    assert DevReceivedEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_receiver_answers_only_with_debug_on_even_where_the_app_is_installed(client):
    assert client.get(URL).status_code == 404
    body = _body()
    assert client.post(URL, body, content_type="application/json", headers={"X-Signature": signature_of(body)}).status_code == 404
    assert DevReceivedEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_whole_pipeline_reaches_the_built_in_receiver(live_server, settings, client):
    settings.DEBUG = True
    settings.DATA_PLATFORM_URL = ""
    with transaction.atomic():
        event = services.publish(type="coupon.issued", aggregate=UserFactory(), data={"coupon_id": 3})
    settings.DATA_PLATFORM_URL = live_server.url + URL

    assert relay.relay_due_events().sent == 1

    assert OutboxEvent.objects.get(pk=event.pk).status == OutboxEvent.Status.SENT
    received = DevReceivedEvent.objects.get()
    assert (received.event_id, received.type, received.data) == (event.event_id, "coupon.issued", {"coupon_id": 3})
    assert received.occurred_at == event.created_at
    page = client.get(URL)
    assert page.status_code == 200
    assert str(event.event_id) in page.content.decode()
    assert "0 pending, 0 dead" in page.content.decode()
