"""The event log in the admin is browsable by staff and read-only for everyone."""

import uuid

import pytest

from eventlog import store
from eventlog.models import Event

pytestmark = pytest.mark.django_db(databases=["default", "read"])


@pytest.fixture
def event():
    store.append(
        stream_type="order",
        stream_id=uuid.uuid4(),
        expected_version=0,
        events=[store.NewEvent("OrderPlaced", {"sku": "A-1"})],
        metadata={"actor": "alice"},
    )
    return Event.objects.get()


@pytest.fixture
def superuser_client(client, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.login(username="root", password="pw")
    return client


def test_superuser_browses_and_searches_by_stream(superuser_client, event):
    listing = superuser_client.get("/admin/eventlog/event/", {"q": str(event.stream_id)})
    assert listing.status_code == 200
    assert str(event.stream_id) in listing.content.decode()
    detail = superuser_client.get(f"/admin/eventlog/event/{event.position}/change/")
    assert detail.status_code == 200
    assert "&quot;sku&quot;: &quot;A-1&quot;" in detail.content.decode()


def test_nobody_can_add_change_or_delete(superuser_client, event):
    assert superuser_client.get("/admin/eventlog/event/add/").status_code == 403
    url = f"/admin/eventlog/event/{event.position}/"
    assert superuser_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    superuser_client.post(url + "change/", {"type": "Changed"})
    bulk = superuser_client.post(
        "/admin/eventlog/event/",
        {"action": "delete_selected", "_selected_action": [event.position], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert list(Event.objects.values_list("type", flat=True)) == ["OrderPlaced"]


def test_customers_are_sent_to_the_login_page(client, django_user_model, event):
    django_user_model.objects.create_user("alice", password="pw")
    client.login(username="alice", password="pw")
    response = client.get("/admin/eventlog/event/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
