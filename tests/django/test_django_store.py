"""``DjangoStore`` passes the store contract on SQLite (and PostgreSQL when one answers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import django_settings

django_settings.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from connect_mw.adapters.django.models import Envelope, Event, Recipient  # noqa: E402
from connect_mw.adapters.django.store import DjangoStore  # noqa: E402
from connect_mw.stores import Store  # noqa: E402
from connect_mw.testing import StoreContract, notification, recipient  # noqa: E402
from connect_mw.testing.builders import BASE_TIME  # noqa: E402


def empty_store(alias: str) -> DjangoStore:
    for model in (Recipient, Envelope, Event):
        model.objects.using(alias).all().delete()
    return DjangoStore(using=alias)


class TestDjangoStoreSQLite(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return empty_store("default")


class TestDjangoStorePostgres(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        alias = django_settings.postgres_alias()
        if alias is None:
            pytest.skip("no PostgreSQL server answers on 127.0.0.1")
        return empty_store(alias)


def test_envelope_and_recipients_are_mirrored_in_rows() -> None:
    store = empty_store("default")
    people = (recipient("1", "completed", name="Ann", email="ann@example.com"),)
    store.record(notification("e1", "sent", subject="Lease", recipients=people), b"{}", "k1")
    later = (*people, recipient("2", "sent", name="Bob", routing_order=2))
    store.record(notification("e1", "completed", recipients=later), b"{}", "k2")
    envelope = Envelope.objects.get(pk="e1")
    assert (envelope.status, envelope.subject, envelope.event_count) == ("completed", "Lease", 2)
    rows = list(envelope.recipients.values_list("recipient_id", "name", "status", "position"))
    assert rows == [("1", "Ann", "completed", 0), ("2", "Bob", "sent", 1)]
    assert store.get_envelope("e1") == store.list_envelopes(status="completed")[0]


def test_listings_do_not_load_raw_bodies() -> None:
    store = empty_store("default")
    store.record(notification("e1", "sent", at=BASE_TIME), b"x" * 1000, "k1")
    (event,) = store.events("e1")
    assert (event.raw, event.raw_size) == (None, 1000)


def test_record_refuses_to_run_inside_a_callers_transaction() -> None:
    store = empty_store("default")
    with pytest.raises(RuntimeError), transaction.atomic():
        store.record(notification("e1", "sent"), b"{}", "k1")
    assert store.get_event("k1") is None


def test_committed_migrations_match_the_models() -> None:
    call_command("makemigrations", "connect_mw", "--check", "--dry-run", verbosity=0)
