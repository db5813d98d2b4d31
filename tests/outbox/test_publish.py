import pytest
from django.db import transaction

from apps.core.request_context import request_id_var
from apps.outbox import relay, services
from apps.outbox.models import OutboxEvent
from tests.factories import ProductFactory, UserFactory


@pytest.mark.django_db
def test_publish_writes_the_event_with_aggregate_and_request_id(django_capture_on_commit_callbacks):
    product = ProductFactory()
    token = request_id_var.set("req-42")
    try:
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            event = services.publish(type="product.stock_adjusted", aggregate=product, data={"delta": -2, "stock": 8})
    finally:
        request_id_var.reset(token)

    stored = OutboxEvent.objects.get(pk=event.pk)
    assert stored.type == "product.stock_adjusted"
    assert (stored.aggregate_type, stored.aggregate_id) == ("catalog.product", str(product.pk))
    assert stored.payload == {"delta": -2, "stock": 8}
    assert stored.request_id == "req-42"
    assert (stored.status, stored.attempts) == (OutboxEvent.Status.PENDING, 0)
    assert len(callbacks) == 1  # the relay trigger, run only once the transaction commits


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_raises_and_writes_nothing():
    user = UserFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.publish(type="wallet.charged", aggregate=user, data={"amount": 1})
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db
def test_publish_rejects_unknown_types_and_unsaved_aggregates():
    with transaction.atomic():
        with pytest.raises(ValueError, match="unknown event type"):
            services.publish(type="wallet.stolen", aggregate=UserFactory(), data={})
        with pytest.raises(ValueError, match="saved"):
            services.publish(type="wallet.charged", aggregate=UserFactory.build(), data={})
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_event_published_in_a_transaction_that_rolls_back_is_never_sent(platform):
    user = UserFactory()
    with pytest.raises(RuntimeError, match="payment failed"):
        with transaction.atomic():
            services.publish(type="wallet.charged", aggregate=user, data={"amount": 100})
            raise RuntimeError("payment failed")
    with transaction.atomic():
        kept = services.publish(type="wallet.charged", aggregate=user, data={"amount": 200})

    relay.relay_due_events()
    relay.relay_due_events()

    assert list(OutboxEvent.objects.values_list("event_id", "status")) == [(kept.event_id, OutboxEvent.Status.SENT)]
    assert [body["data"] for body in platform.received] == [{"amount": 200}]
    assert len(platform.calls) == 1
