"""``DjangoStore`` passes the store contract on SQLite (and PostgreSQL when one answers)."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from support import django_settings

django_settings.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.db.models.signals import pre_delete  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from connect_mw.adapters.django import store as django_store_module  # noqa: E402
from connect_mw.adapters.django.models import Envelope, Event, Marker, Recipient  # noqa: E402
from connect_mw.adapters.django.store import DjangoStore  # noqa: E402
from connect_mw.effects import drive  # noqa: E402
from connect_mw.model import Notification, RecipientState, RecipientStatus  # noqa: E402
from connect_mw.recording import RecordOutcome, record  # noqa: E402
from connect_mw.stores.api import (  # noqa: E402
    Commit,
    EventQuery,
    ProcessingState,
    Progress,
    Store,
    dump_state,
    utcnow,
)
from connect_mw.testing import StoreContract, notification, recipient  # noqa: E402
from connect_mw.testing.builders import BASE_TIME  # noqa: E402
from connect_mw.testing.store_contract import state_of, stored_event  # noqa: E402


def empty_store(alias: str) -> DjangoStore:
    for model in (Recipient, Envelope, Event, Marker):
        model.objects.using(alias).all().delete()
    return DjangoStore(using=alias)


def record_in(store: Store, n: Notification, raw: bytes, key: str) -> RecordOutcome:
    return drive(record(store, n, raw, key))


def overwrite_django(store: Store, envelope_id: str, text: str) -> None:
    """The ``state`` column of the envelope's row, past the codec."""
    assert isinstance(store, DjangoStore)
    rows = Envelope.objects.using(store._alias()).filter(envelope_id=envelope_id)
    assert rows.update(state=text) == 1


class TestDjangoStoreSQLite(StoreContract):
    overwrite_state = staticmethod(overwrite_django)

    def make_store(self, tmp_path: Path) -> Store:
        return empty_store("default")


class TestDjangoStorePostgres(StoreContract):
    overwrite_state = staticmethod(overwrite_django)

    def make_store(self, tmp_path: Path) -> Store:
        alias = django_settings.postgres_alias()
        if alias is None:
            pytest.skip("no PostgreSQL server answers on 127.0.0.1")
        return empty_store(alias)


def test_envelope_and_recipients_are_mirrored_in_rows() -> None:
    store = empty_store("default")
    people = (recipient("1", "completed", name="Ann", email="ann@example.com"),)
    record_in(store, notification("e1", "sent", subject="Lease", recipients=people), b"{}", "k1")
    later = (*people, recipient("2", "sent", name="Bob", routing_order=2))
    record_in(store, notification("e1", "completed", recipients=later), b"{}", "k2")
    envelope = Envelope.objects.get(pk="e1")
    assert (envelope.status, envelope.subject, envelope.event_count) == ("completed", "Lease", 2)
    assert envelope.version == 2
    rows = list(envelope.recipients.values_list("recipient_id", "name", "status", "position"))
    assert rows == [("1", "Ann", "completed", 0), ("2", "Bob", "sent", 1)]
    assert store.get_envelope("e1") == store.list_envelopes(status="completed")[0]


def test_a_conflict_rolls_back_the_event_and_the_recipients() -> None:
    store = empty_store("default")
    store.commit(stored_event("k1"), state_of(), 0)
    people = (RecipientState("1", name="Ann", status=RecipientStatus.SENT),)
    moved = msgspec.structs.replace(state_of(status="delivered"), recipients=people)
    assert store.commit(stored_event("k2"), moved, 0) is Commit.CONFLICT
    assert store.commit(stored_event("k2"), moved, 2) is Commit.CONFLICT
    assert not Event.objects.filter(key="k2").exists()
    assert not Recipient.objects.exists()
    assert Envelope.objects.get(pk="e1").status == "sent"


def test_listings_do_not_load_raw_bodies() -> None:
    store = empty_store("default")
    record_in(store, notification("e1", "sent", at=BASE_TIME), b"x" * 1000, "k1")
    (event,) = store.list_events("e1")
    assert (event.raw, event.raw_size) == (None, 1000)
    with CaptureQueriesContext(connection) as queries:
        store.events(EventQuery(envelope_id="e1"))
    (select,) = queries.captured_queries
    assert '"raw"' not in select["sql"] and '"raw_size"' in select["sql"]
    assert '"body"' not in select["sql"]


def aliases() -> list[str]:
    postgres = django_settings.postgres_alias()
    return ["default"] if postgres is None else ["default", postgres]


@pytest.mark.parametrize("alias", aliases())
def test_the_debug_query_log_keeps_the_insert_but_not_the_body(alias: str) -> None:
    store = empty_store(alias)
    body = b"<PDFBytes>" + b"QUJD" * 300_000 + b"</PDFBytes>"
    with CaptureQueriesContext(connections[alias]) as queries:  # DEBUG's query log
        record_in(store, notification("e1", "completed"), body, "k1")
    inserts = [q["sql"] for q in queries.captured_queries if "connect_mw_event" in q["sql"]]
    assert any(sql.startswith("INSERT") and f"{len(body)} bytes" in sql for sql in inserts)
    assert all(len(q["sql"]) < 10_000 for q in queries.captured_queries)
    stored = store.get_event("k1")
    assert stored is not None and stored.raw == body


@pytest.mark.parametrize("alias", aliases())
def test_binary_bodies_round_trip_and_leave_other_bytes_parameters_alone(alias: str) -> None:
    # On PostgreSQL the body is bound by BytesPassThroughDumper, on the insert's cursor only.
    store = empty_store(alias)
    body = random.Random(0).randbytes(2_000_000) + bytes(range(256))
    record_in(store, notification("e1", "completed"), body, "k1")
    stored = store.get_event("k1")
    assert stored is not None and stored.raw == body
    with connections[alias].cursor() as cursor:  # Django's own cursor, bytes as before
        cursor.execute("SELECT %s, %s", [b"\x00\xffab", "é\u20ac"])
        assert tuple(cursor.fetchone()) == (b"\x00\xffab", "é\u20ac")


def test_large_bodies_on_sqlite_go_to_the_tables_last_column() -> None:
    store = empty_store("default")
    large, small = b"L" * 300_000, b"{}"
    record_in(store, notification("e1", "sent"), large, "large")
    record_in(store, notification("e2", "sent"), small, "small")
    with connection.cursor() as cursor:
        columns = [row[1] for row in cursor.execute("PRAGMA table_info(connect_mw_event)")]
        cursor.execute("SELECT key, length(raw), length(body) FROM connect_mw_event ORDER BY key")
        rows = cursor.fetchall()
    assert columns[-1] == "body"  # only there does SQLite keep a zeroblob out of memory
    assert rows == [("large", 0, len(large)), ("small", len(small), None)]
    assert [store.get_event(key).raw for key in ("large", "small")] == [large, small]  # type: ignore[union-attr]


def test_commit_refuses_to_run_inside_a_callers_transaction() -> None:
    store = empty_store("default")
    with pytest.raises(RuntimeError), transaction.atomic():
        record_in(store, notification("e1", "sent"), b"{}", "k1")
    assert store.get_event("k1") is None


def test_update_event_and_purge_are_one_statement_even_with_delete_receivers() -> None:
    # A pre_delete receiver (an audit app) would turn QuerySet.delete() into a read, then a
    # delete by primary key: retention makes tombstones with one UPDATE instead.
    store = empty_store("default")
    store.commit(stored_event("k1"), state_of(), 0)
    heard: list[Any] = []

    def audit(**kwargs: Any) -> None:
        heard.append(kwargs)

    pre_delete.connect(audit, sender=Event)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert store.update_event("k1", 0, None)
    finally:
        pre_delete.disconnect(audit, sender=Event)
    (update,) = [q["sql"] for q in queries.captured_queries]
    assert update.startswith("UPDATE") and '"revision" = 0' in update
    assert heard == []
    tombstone = store.get_event("k1")
    assert tombstone is not None and tombstone.processing.value == "purged"
    assert tombstone.raw is None


def test_offload_runs_in_djangos_thread_for_sync_code() -> None:
    # thread_sensitive: called under async_to_sync from this thread, the store's calls come
    # back to this thread, as Django runs sync views; a worker thread would leak connections.
    store = empty_store("default")

    async def where() -> int:
        return await store.offload(threading.get_ident)

    assert async_to_sync(where)() == threading.get_ident()
    assert "_in_thread" not in vars(DjangoStore)


def test_envelopes_stored_before_the_version_column_start_at_version_one() -> None:
    store = empty_store("default")
    executor = MigrationExecutor(connections["default"])
    executor.migrate([("connect_mw", "0001_initial")])
    try:
        old = executor.loader.project_state([("connect_mw", "0001_initial")]).apps
        text = dump_state(state_of())
        old.get_model("connect_mw", "Envelope").objects.create(envelope_id="e1", state=text)
    finally:
        call_command("migrate", "connect_mw", verbosity=0)
    snapshot = store.load("e1")
    assert snapshot is not None and (snapshot.state, snapshot.version) == (state_of(), 1)
    assert store.commit(stored_event("k2"), state_of(status="delivered"), 1) is Commit.INSERTED


def test_committed_migrations_match_the_models() -> None:
    call_command("makemigrations", "connect_mw", "--check", "--dry-run", verbosity=0)


def test_purge_runs_batch_after_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(django_store_module, "PURGE_BATCH", 2)
    store = empty_store("default")
    for i in range(5):
        store.commit(stored_event(f"k{i}", f"e{i}"), state_of(f"e{i}"), 0)
        event = store.get_event(f"k{i}")
        assert event is not None
        done = Progress(ProcessingState.PROCESSED, 1, utcnow(), None, None, event.revision + 1)
        assert store.update_event(f"k{i}", event.revision, done)
    assert store.purge(utcnow() + timedelta(minutes=1)) == 5
    assert {e.processing for e in store.list_events()} == {ProcessingState.PURGED}


@pytest.mark.parametrize("alias", aliases())
def test_probe_closes_the_connection_its_thread_opened(alias: str) -> None:
    store = empty_store(alias)
    opened: list[Any] = []

    def created(sender: object, connection: Any, **_: object) -> None:
        if threading.current_thread().name == "connect-mw-probe":
            opened.append(connection)

    connection_created.connect(created)
    try:
        store.probe(5.0)
    finally:
        connection_created.disconnect(created)
    assert opened, "the probe loaded from the database in its own thread"
    assert all(wrapper.connection is None for wrapper in opened)


def test_bodies_on_postgresql_are_compressed_with_lz4() -> None:
    # as PostgresStore's schema 3: pglz spent about 0.5 s of a 25 MB commit trying
    alias = django_settings.postgres_alias()
    if alias is None:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1")
    query = (
        "SELECT attcompression::text FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'raw'"
    )
    with connections[alias].cursor() as cursor:
        cursor.execute(query, [Event._meta.db_table])
        assert cursor.fetchone() == ("l",)
