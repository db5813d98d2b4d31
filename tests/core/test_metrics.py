import pytest
from django.core.cache import cache

from apps.outbox.models import OutboxEvent
from apps.wallets.metrics import WALLET_CONFLICTS_KEY


@pytest.mark.django_db
def test_metrics_exposes_business_counters_from_shared_stores(client):
    OutboxEvent.objects.create(type="test.event", aggregate_type="test.thing", aggregate_id="1")
    OutboxEvent.objects.create(type="test.event", aggregate_type="test.thing", aggregate_id="2", status=OutboxEvent.Status.DEAD)
    cache.set(WALLET_CONFLICTS_KEY, 7, timeout=None)

    response = client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'flashcart_outbox_events{status="pending"} 1.0' in text
    assert 'flashcart_outbox_events{status="dead"} 1.0' in text
    assert "flashcart_wallet_conflicts_retried_total 7.0" in text
    assert "flashcart_coupons_issued_total 0.0" in text
    assert "django_http_requests_total_by_method_total" in text


@pytest.mark.django_db
def test_an_app_whose_metrics_cannot_be_read_leaves_only_its_own_out(client, monkeypatch):
    from apps.orders.metrics import OrderMetrics

    def broken(self):
        raise ConnectionError("database gone")

    OutboxEvent.objects.create(type="test.event", aggregate_type="test.thing", aggregate_id="1")
    monkeypatch.setattr(OrderMetrics, "read", broken)

    response = client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert "flashcart_orders_placed" not in text
    assert 'flashcart_outbox_events{status="pending"} 1.0' in text
