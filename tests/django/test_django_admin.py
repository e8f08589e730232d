"""The read-only admin: event and envelope lists, no raw bodies, the replay action."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from support import django_settings

django_settings.setup()

from django.contrib.auth.models import Permission, User  # noqa: E402
from django.test import Client  # noqa: E402

from connect_mw.adapters.django.models import Event  # noqa: E402
from connect_mw.adapters.django.store import DjangoStore  # noqa: E402
from connect_mw.effects import drive  # noqa: E402
from connect_mw.recording import record  # noqa: E402
from connect_mw.stores import ProcessingState  # noqa: E402
from connect_mw.testing import notification, recipient  # noqa: E402

EVENTS = "/admin/connect_mw/event/"
SECRET_BODY = b'{"note": "raw-body-marker"}'
LEASE = timedelta(minutes=5)


@pytest.fixture
def store() -> Iterator[DjangoStore]:
    django_settings.reset_tables()
    User.objects.all().delete()
    store = DjangoStore()
    people = (recipient("1", "completed", name="Ann Signer"), recipient("2", "sent", name="Bob"))
    completed = notification("env-1", "completed", recipients=people)
    drive(record(store, completed, SECRET_BODY, "key-1"))
    drive(record(store, notification("env-2", "sent"), SECRET_BODY, "key-2"))
    yield store


def admin_client(*, superuser: bool = True) -> Client:
    if superuser:
        user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    else:
        user = User.objects.create_user("viewer", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_event"))
    client = Client()
    client.force_login(user)
    return client


def test_event_changelist_filters_and_never_shows_raw_bodies(store: DjangoStore) -> None:
    client = admin_client()
    page = client.get(EVENTS).content.decode()
    assert "key-1" in page and "key-2" in page
    assert "raw-body-marker" not in page
    assert "Replay selected events" in page
    only_sent = client.get(EVENTS, {"status": "sent"}).content.decode()
    assert "key-2" in only_sent and "key-1" not in only_sent
    found = client.get(EVENTS, {"q": "env-1"}).content.decode()
    assert "key-1" in found and "key-2" not in found
    assert client.get(EVENTS, {"processing__exact": "pending"}).status_code == 200


def test_event_page_is_read_only_with_the_body_size(store: DjangoStore) -> None:
    pk = Event.objects.get(key="key-1").pk
    page = admin_client().get(f"{EVENTS}{pk}/change/").content.decode()
    assert "envelope-completed" in page and str(len(SECRET_BODY)) in page
    assert "raw-body-marker" not in page
    assert 'name="_save"' not in page


def test_envelope_admin_filters_by_status_and_shows_recipients(store: DjangoStore) -> None:
    client = admin_client()
    listing = client.get("/admin/connect_mw/envelope/", {"status": "completed"}).content.decode()
    assert "env-1" in listing and "env-2" not in listing
    page = client.get("/admin/connect_mw/envelope/env-1/change/").content.decode()
    assert "Ann Signer" in page and "Bob" in page
    assert f"{EVENTS}?q=env-1" in page


def test_replay_action_requeues_and_reports_busy_events(store: DjangoStore) -> None:
    queue = store.queue()
    assert len(queue.claim("w", lease_for=LEASE, limit=10)) == 2
    queue.finish("key-1", "w", ProcessingState.DEAD, error="gave up")  # key-2 stays leased
    selected = [str(pk) for pk in Event.objects.values_list("pk", flat=True)]
    response = admin_client().post(
        EVENTS, {"action": "replay", "_selected_action": selected}, follow=True
    )
    page = response.content.decode()
    assert "Queued 1 event(s)" in page and "Being processed right now: key-2" in page
    replayed = store.get_event("key-1")
    assert replayed is not None
    assert (replayed.processing, replayed.attempts) == (ProcessingState.PENDING, 0)


def test_replay_needs_the_change_permission(store: DjangoStore) -> None:
    client = admin_client(superuser=False)
    page = client.get(EVENTS).content.decode()
    assert "key-1" in page and "Replay selected events" not in page
