import pytest
from django.contrib.auth.models import Permission

from apps.outbox.models import OutboxEvent
from tests.factories import ProductFactory, UserFactory

CHANGELIST = "/admin/outbox/outboxevent/"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def events(make_event):
    pending = make_event(UserFactory(), type="wallet.charged", data={"amount": 1500, "note": "gift"})
    dead = make_event(UserFactory(), type="order.paid")
    other_dead = make_event(ProductFactory(), type="product.stock_adjusted", data={"delta": -1})
    sent = make_event(UserFactory(), type="order.paid")
    OutboxEvent.objects.filter(pk__in=[dead.pk, other_dead.pk]).update(status=OutboxEvent.Status.DEAD, attempts=10, last_error="HTTP 503")
    OutboxEvent.objects.filter(pk=sent.pk).update(status=OutboxEvent.Status.SENT)
    return {"pending": pending, "dead": dead, "other_dead": other_dead, "sent": sent}


@pytest.mark.django_db
def test_changelist_shows_pending_and_dead_counts_and_filters(admin_client, events):
    page = admin_client.get(CHANGELIST).content.decode()
    assert "Pending: <strong>1</strong>" in page
    assert "Dead: <strong>2</strong>" in page

    dead_page = admin_client.get(CHANGELIST, {"status__exact": "dead"})
    assert {e.pk for e in dead_page.context["cl"].result_list} == {events["dead"].pk, events["other_dead"].pk}
    by_type = admin_client.get(CHANGELIST, {"type": "order.paid"})
    assert {e.pk for e in by_type.context["cl"].result_list} == {events["dead"].pk, events["sent"].pk}
    both = admin_client.get(CHANGELIST, {"type": "order.paid", "status__exact": "dead"})
    assert [e.pk for e in both.context["cl"].result_list] == [events["dead"].pk]


@pytest.mark.django_db
def test_event_page_shows_the_payload_as_readable_json_and_nothing_is_editable(admin_client, events):
    event = events["pending"]
    response = admin_client.get(f"{CHANGELIST}{event.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<pre>{\n  &quot;amount&quot;: 1500,\n  &quot;note&quot;: &quot;gift&quot;\n}</pre>' in page
    assert 'name="payload"' not in page
    assert 'name="_save"' not in page
    assert admin_client.post(f"{CHANGELIST}{event.pk}/change/", {"status": "sent"}).status_code == 403
    assert admin_client.get(f"{CHANGELIST}{event.pk}/delete/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


@pytest.mark.django_db
def test_send_again_resets_only_dead_events(admin_client, events):
    selected = [events["dead"].pk, events["other_dead"].pk, events["pending"].pk, events["sent"].pk]
    response = admin_client.post(CHANGELIST, {"action": "send_again", "_selected_action": selected}, follow=True)
    page = response.content.decode()
    assert "2 dead event(s) queued to be sent again." in page
    assert "2 selected event(s) were not dead and were left alone." in page
    rows = {e.pk: (e.status, e.attempts) for e in OutboxEvent.objects.all()}
    assert rows[events["dead"].pk] == (OutboxEvent.Status.PENDING, 0)
    assert rows[events["other_dead"].pk] == (OutboxEvent.Status.PENDING, 0)
    assert rows[events["sent"].pk] == (OutboxEvent.Status.SENT, 0)
    assert rows[events["pending"].pk] == (OutboxEvent.Status.PENDING, 0)


@pytest.mark.django_db
def test_staff_who_may_only_view_events_cannot_send_them_again(client, events):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxevent"))
    client.force_login(viewer)

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "send_again" not in page.content.decode()
    client.post(CHANGELIST, {"action": "send_again", "_selected_action": [events["dead"].pk]})
    assert OutboxEvent.objects.get(pk=events["dead"].pk).status == OutboxEvent.Status.DEAD


@pytest.mark.django_db
def test_search_finds_an_event_by_its_id_or_aggregate_and_tolerates_anything_else(admin_client, events):
    event = events["other_dead"]
    by_id = admin_client.get(CHANGELIST, {"q": str(event.event_id)})
    assert [e.pk for e in by_id.context["cl"].result_list] == [event.pk]
    by_aggregate = admin_client.get(CHANGELIST, {"q": event.aggregate_id, "type": "product.stock_adjusted"})
    assert [e.pk for e in by_aggregate.context["cl"].result_list] == [event.pk]
    assert admin_client.get(CHANGELIST, {"q": "not a uuid"}).status_code == 200
