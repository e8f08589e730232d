"""``PostgresStore`` against a real PostgreSQL: what is specific to it.

The public contract suite runs against it in ``test_store_contract.py``.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest

from support.polling import wait_until
from support.services import POSTGRES_DSN, postgres_namespace, require_module

require_module("psycopg")

import psycopg  # noqa: E402
import psycopg_pool  # noqa: E402
from psycopg import sql  # noqa: E402

from connect_mw.effects import drive  # noqa: E402
from connect_mw.errors import ConfigurationError  # noqa: E402
from connect_mw.model import Notification  # noqa: E402
from connect_mw.queues.sql import SQLQueue  # noqa: E402
from connect_mw.recording import RecordOutcome, record  # noqa: E402
from connect_mw.stores import open_store  # noqa: E402
from connect_mw.stores import postgres as postgres_module  # noqa: E402
from connect_mw.stores.api import (  # noqa: E402
    Commit,
    ProcessingState,
    Progress,
    Store,
    StoreEncodingError,
)
from connect_mw.stores.group_commit import Pending  # noqa: E402
from connect_mw.stores.postgres import SCHEMA_VERSION, PostgresStore  # noqa: E402
from connect_mw.stores.psycopg_bytes import BytesPassThroughDumper  # noqa: E402
from connect_mw.testing import notification  # noqa: E402
from connect_mw.testing.builders import BASE_TIME  # noqa: E402
from connect_mw.testing.store_contract import RAW, state_of, stored_event  # noqa: E402

LEASE = timedelta(minutes=5)


def rec(store: Store, n: Notification, raw: bytes = RAW, key: str = "k1") -> RecordOutcome:
    """Record through the core, as the receiver does."""
    return drive(record(store, n, raw, key))


@pytest.fixture
def schema() -> Iterator[str]:
    with postgres_namespace() as name:
        yield name


@pytest.fixture
def store(schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(POSTGRES_DSN, schema=schema) as pg:
        yield pg


def table(schema: str, name: str) -> sql.Identifier:
    return sql.Identifier(schema, name)


def count(schema: str, name: str) -> int:
    with psycopg.connect(POSTGRES_DSN) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(table(schema, name))
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_schema_is_created_once_by_concurrent_stores(schema: str) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def first_use() -> None:
        with PostgresStore(POSTGRES_DSN, schema=schema, table_prefix="race_") as pg:
            barrier.wait()
            try:
                pg.get_envelope("e1")
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(schema, "race_schema_version") == 1


def test_table_prefixes_are_separate_namespaces(schema: str) -> None:
    odd = 'B "odd" '  # quoted wherever a table is named, the queue's SQL included
    with (
        PostgresStore(POSTGRES_DSN, schema=schema, table_prefix="a_") as a,
        PostgresStore(POSTGRES_DSN, schema=schema, table_prefix=odd) as b,
    ):
        assert rec(a, notification("e1")).inserted
        assert rec(b, notification("e1")).inserted
        assert a.get_event("k1") is not None and b.get_event("k1") is not None
        assert [e.key for e in b.queue().claim("w", lease_for=LEASE)] == ["k1"]
        assert [e.key for e in a.queue().claim("w", lease_for=LEASE)] == ["k1"]
        a.write_marker("m", "a")
        assert b.read_marker("m") is None
    assert count(schema, "a_events") == count(schema, odd + "events") == 1


def test_newer_schema_version_is_refused(store: PostgresStore, schema: str) -> None:
    store.get_envelope("e1")
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        version = table(schema, "connect_schema_version")
        conn.execute(sql.SQL("INSERT INTO {} VALUES (99)").format(version))
    with (
        PostgresStore(POSTGRES_DSN, schema=schema) as newer,
        pytest.raises(ConfigurationError, match="version 99"),
    ):
        newer.get_envelope("e1")


UNSTORABLE = {
    "nul in envelope id": (notification("e\x00"), "k1"),
    "nul in key": (notification("e1"), "k\x00"),
    "surrogate in subject": (notification("e1", subject="\ud800"), "k1"),
    "surrogate in account": (notification("e1", account_id="\udcff"), "k1"),
}


@pytest.mark.parametrize("case", UNSTORABLE)
def test_unstorable_text_is_refused_and_nothing_is_written(store: PostgresStore, case: str) -> None:
    bad, key = UNSTORABLE[case]
    with pytest.raises(StoreEncodingError):
        rec(store, bad, key=key)
    assert store.list_events() == []
    assert store.list_envelopes() == []
    assert rec(store, notification("e1")).inserted


def test_unstorable_lookups_find_nothing(store: PostgresStore) -> None:
    rec(store, notification("e1"))
    assert store.load("e\x00") is None
    assert store.get_event("k\x00") is None
    assert store.list_events("e\udcff") == []
    assert not store.update_event("k\x00", 0, Progress())


def test_unstorable_text_in_a_batch_fails_alone(store: PostgresStore) -> None:
    batch = [
        Pending(stored_event("k1", "e1"), state_of("e1"), 0),
        Pending(stored_event("k\x00", "e2"), state_of("e2"), 0),
        Pending(stored_event("k3", "e3"), state_of("e3"), 0),
    ]
    store._group.write(batch)
    with pytest.raises(StoreEncodingError):
        batch[1].result()
    assert [batch[0].result(), batch[2].result()] == [Commit.INSERTED, Commit.INSERTED]
    assert [e.key for e in store.list_events()] == ["k1", "k3"]


def test_nul_in_folded_text_round_trips(store: PostgresStore) -> None:
    rec(store, notification("e1", subject="a\x00b"), b"\x00raw\x00")
    state = store.get_envelope("e1")
    assert state is not None and state.subject == "a\x00b"
    event = store.get_event("k1")
    assert event is not None and event.raw == b"\x00raw\x00"


def large_body(size: int, salt: int = 0) -> bytes:
    """``size`` bytes of every value, NUL included, that lz4 cannot shrink."""
    return random.Random(salt).randbytes(size - 256) + bytes(range(256))


def test_large_bodies_round_trip_byte_for_byte(store: PostgresStore) -> None:
    # Bound through BytesPassThroughDumper (no copy in psycopg): what is read back is the body.
    bodies = {"one": large_body(3_000_000), "empty": b"", "small": b"\x00\xff"}
    for key, body in bodies.items():
        assert store.commit(stored_event(key, key, raw=body), state_of(key), 0) is Commit.INSERTED
    batched = {f"b{i}": large_body(1_000_000, i) for i in range(3)}
    batch = [Pending(stored_event(k, k, raw=raw), state_of(k), 0) for k, raw in batched.items()]
    store._group.write(batch)  # one transaction, as concurrent commits share
    assert [item.result() for item in batch] == [Commit.INSERTED] * 3
    for key, body in {**bodies, **batched}.items():
        event = store.get_event(key)
        assert event is not None and event.raw == body and event.raw_size == len(body)


def test_other_parameters_bind_as_before_on_the_stores_connections(store: PostgresStore) -> None:
    body, auto = bytes(range(256)) * 4, psycopg.adapt.PyFormat.AUTO
    with store._connection() as conn:
        assert conn.adapters.get_dumper(bytes, auto) is BytesPassThroughDumper
        row = conn.execute(
            "SELECT %s::text, %s, %b, %t::bytea, %s, %s, length(%s)",
            ("é\u20ac text", body, body, body, bytearray(body), memoryview(body)[8:16], body),
        ).fetchone()
    assert row == ("é\u20ac text", body, body, body, body, body[8:16], len(body))
    with psycopg.connect(POSTGRES_DSN) as other:  # other connections keep psycopg's dumper
        dumper = other.adapters.get_dumper(bytes, psycopg.adapt.PyFormat.BINARY)
    assert dumper is not BytesPassThroughDumper


def test_error_text_is_made_storable(store: PostgresStore) -> None:
    queue = store.queue()
    rec(store, notification("e1"))
    queue.claim("w", lease_for=LEASE)
    assert queue.finish("k1", "w", ProcessingState.DEAD, error="bad \x00 byte \udcff")
    event = store.get_event("k1")
    assert event is not None and event.error == "bad \\x00 byte \\udcff"
    failed = Progress(ProcessingState.FAILED, 1, None, None, "nul \x00", event.revision + 1)
    assert store.update_event("k1", event.revision, failed)
    again = store.get_event("k1")
    assert again is not None and again.error == "nul \\x00"


def test_unreachable_server_raises() -> None:
    dead = PostgresStore(
        "postgresql://postgres@127.0.0.1:9/test", connect_timeout=1, pool_timeout=1.5
    )
    with dead, pytest.raises(psycopg_pool.PoolTimeout):
        rec(dead, notification("e1"))


def test_hung_server_raises() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections, never answers
        port = listener.getsockname()[1]
        dsn = f"postgresql://postgres@127.0.0.1:{port}/test"
        with (
            PostgresStore(dsn, connect_timeout=1, pool_timeout=2) as hung,
            pytest.raises(psycopg_pool.PoolTimeout),
        ):
            hung.get_envelope("e1")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_builds_a_postgres_store(scheme: str, schema: str) -> None:
    uri = f"{scheme}://postgres@127.0.0.1:5432/test?connect_timeout=3&schema={schema}"
    with open_store(uri + "&table_prefix=uri_") as store:
        assert isinstance(store, PostgresStore)
        assert (store.schema, store.table_prefix) == (schema, "uri_")
        assert rec(store, notification("e1")).inserted
    assert count(schema, "uri_events") == 1


def test_a_key_reused_by_another_envelope_leaves_no_envelope_row(store: PostgresStore) -> None:
    rec(store, notification("e1"))
    assert not rec(store, notification("e2")).inserted
    assert store.get_envelope("e2") is None
    assert count(store.schema, "connect_envelopes") == 1


def test_a_conflict_takes_the_event_back(store: PostgresStore) -> None:
    assert store.commit(stored_event("k1"), state_of(), 0) is Commit.INSERTED
    assert store.commit(stored_event("k2"), state_of(status="delivered"), 0) is Commit.CONFLICT
    assert count(store.schema, "connect_events") == 1
    assert store.commit(stored_event("k2"), state_of(status="delivered"), 1) is Commit.INSERTED


def test_a_blocked_record_ends_at_the_statement_timeout(schema: str) -> None:
    with PostgresStore(POSTGRES_DSN, schema=schema, statement_timeout_ms=300) as pg:
        rec(pg, notification("e1"))
        envelopes = table(schema, "connect_envelopes")
        with psycopg.connect(POSTGRES_DSN) as blocker:
            blocker.execute(sql.SQL("SELECT 1 FROM {} FOR UPDATE").format(envelopes))
            with pytest.raises(psycopg.errors.QueryCanceled):
                rec(pg, notification("e1", "delivered"), key="k2")
        assert pg.get_event("k2") is None
        assert rec(pg, notification("e1", "delivered"), key="k2").inserted


def test_a_claim_skips_an_envelope_whose_row_is_locked(store: PostgresStore) -> None:
    rec(store, notification("e1"), key="k1")
    rec(store, notification("e2"), key="k2")
    envelopes = table(store.schema, "connect_envelopes")
    lock = sql.SQL("SELECT 1 FROM {} WHERE envelope_id = 'e1' FOR UPDATE").format(envelopes)
    queue = store.queue()
    with psycopg.connect(POSTGRES_DSN) as other:
        other.execute(lock)  # as another claimer (or a commit of e1) would
        assert [e.key for e in queue.claim("w", lease_for=LEASE, limit=10)] == ["k2"]
        assert queue.claim("w", lease_for=LEASE, key="k1") == []
    assert [e.key for e in queue.claim("w", lease_for=LEASE, key="k1")] == ["k1"]


def waiting_for_a_lock() -> bool:
    with psycopg.connect(POSTGRES_DSN) as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        row = conn.execute(query).fetchone()
    return row is not None and row[0] > 0


def test_a_claim_in_flight_holds_its_envelope_against_a_late_older_event(
    store: PostgresStore,
) -> None:
    """The envelope row lock: without it, B would lease the late event while A holds its own.

    A leases the envelope's only event and has not committed yet; an older event of that
    envelope arrives (its commit waits for A's lock on the envelope row) and B claims.
    """
    rec(store, notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1)), key="newer")
    leased, release = threading.Event(), threading.Event()

    @contextmanager
    def held_open() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with store._transaction() as conn:
            yield conn
            leased.set()  # the lease is written, not committed
            release.wait(10)

    first: list[str] = []
    claimer = threading.Thread(
        target=lambda: first.extend(
            e.key
            for e in SQLQueue(store._dialect, transaction=held_open).claim("A", lease_for=LEASE)
        )
    )
    claimer.start()
    assert leased.wait(10)
    late = threading.Thread(
        target=rec, args=(store, notification("e1", "sent", at=BASE_TIME)), kwargs={"key": "older"}
    )
    late.start()
    wait_until(lambda: not late.is_alive() or waiting_for_a_lock(), what="the late commit")
    second = store.queue().claim("B", lease_for=LEASE, limit=10)
    release.set()
    claimer.join()
    late.join()
    assert (first, second) == (["newer"], [])
    assert store.get_event("older") is not None  # committed once A's claim was
    assert store.queue().claim("B", lease_for=LEASE, limit=10) == []  # "newer" is in flight


# The first schema, as the previous release created it.
SCHEMA_1 = """
CREATE SCHEMA {schema};
CREATE TABLE {version} (version integer NOT NULL);
INSERT INTO {version} VALUES (1);
CREATE TABLE {events} (
    seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, key text NOT NULL UNIQUE,
    envelope_id text NOT NULL, account_id text, event text NOT NULL, status text,
    format text NOT NULL, occurred_at timestamptz, received_at timestamptz NOT NULL,
    order_at timestamptz NOT NULL, raw bytea NOT NULL, raw_size integer NOT NULL,
    transitions text NOT NULL, processing text NOT NULL DEFAULT 'pending', error text,
    attempts integer NOT NULL DEFAULT 0, next_attempt_at timestamptz, lease_worker text,
    lease_until timestamptz
);
CREATE INDEX connect_ix_envelope ON {events} (envelope_id, order_at, seq);
CREATE INDEX connect_ix_order ON {events} (order_at, seq);
CREATE INDEX connect_ix_due ON {events} (next_attempt_at)
    WHERE processing IN ('pending', 'failed');
CREATE INDEX connect_ix_state ON {events} (processing, order_at, seq);
CREATE INDEX connect_ix_final ON {events} (received_at)
    WHERE processing IN ('processed', 'dead');
CREATE TABLE {envelopes} (envelope_id text PRIMARY KEY, account_id text,
    status text, updated_at timestamptz, state text);
CREATE INDEX connect_ix_updated ON {envelopes} (updated_at DESC NULLS LAST);
CREATE INDEX connect_ix_status ON {envelopes} (status, updated_at DESC NULLS LAST);
"""
OLD_STATE = (
    '{"envelope_id":"%s","account_id":"acct-1","status":"sent",'
    '"status_at":"2024-01-01T00:00:00.000000Z","updated_at":%s,"subject":"Old",'
    '"void_reason":null,"decline_reason":null,"reached":["sent"],"recipients":[],'
    '"event_count":1}'
)
THEN = datetime(2024, 1, 1, tzinfo=timezone.utc)


def make_schema_1(schema: str) -> None:
    """A database of the previous release: two envelopes (one never updated), two events."""
    names = {
        "schema": sql.Identifier(schema),
        "version": table(schema, "connect_schema_version"),
        "events": table(schema, "connect_events"),
        "envelopes": table(schema, "connect_envelopes"),
    }
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL(SCHEMA_1).format(**names))
        insert_event = sql.SQL(
            "INSERT INTO {} (key, envelope_id, event, format, received_at, order_at, raw, "
            "raw_size, transitions, processing, next_attempt_at) "
            "VALUES (%s, %s, 'envelope-sent', 'json-sim', %s, %s, %s, %s, '[]', %s, %s)"
        ).format(names["events"])
        for key, envelope_id, processing in (("old", "old-env", "pending"), ("done", "x", "dead")):
            conn.execute(
                insert_event, (key, envelope_id, THEN, THEN, b"old\x00", 4, processing, THEN)
            )
        insert_envelope = sql.SQL(
            "INSERT INTO {} (envelope_id, account_id, status, updated_at, state) "
            "VALUES (%s, 'acct-1', 'sent', %s, %s)"
        ).format(names["envelopes"])
        conn.execute(
            insert_envelope,
            ("old-env", THEN, OLD_STATE % ("old-env", '"2024-01-01T00:00:00.000000Z"')),
        )
        conn.execute(insert_envelope, ("no-time", None, OLD_STATE % ("no-time", "null")))


def test_a_schema_1_database_is_upgraded_in_place(schema: str) -> None:
    make_schema_1(schema)
    with PostgresStore(POSTGRES_DSN, schema=schema) as pg:
        snapshot = pg.load("old-env")
        assert snapshot is not None and snapshot.version == 1
        assert (snapshot.state.subject, snapshot.state.event_count) == ("Old", 1)
        old = pg.get_event("old")
        assert old is not None and (old.raw, old.revision, old.sequence) == (b"old\x00", 0, 1)
        listed = [s.envelope_id for s in pg.list_envelopes()]
        assert listed == ["old-env", "no-time"]  # never updated: listed last
        assert [s.envelope_id for s in pg.list_envelopes(after=(THEN, "old-env"))] == ["no-time"]
        assert [e.key for e in pg.list_events(processing=ProcessingState.DEAD)] == ["done"]
        at = THEN + timedelta(hours=1)
        outcome = rec(pg, notification("old-env", "delivered", at=at), key="new")
        assert outcome.inserted and outcome.state.event_count == 2
        new = pg.get_event("new")
        assert new is not None and new.sequence > 2
        assert [e.key for e in pg.queue().claim("w", lease_for=LEASE, limit=10)] == ["old"]
        pg.write_marker("reconcile", "then")
        assert pg.read_marker("reconcile") == "then"
    with PostgresStore(POSTGRES_DSN, schema=schema) as again:  # a current schema: unchanged
        assert again.get_envelope("no-time") is not None
    with psycopg.connect(POSTGRES_DSN) as conn:
        versions = sql.SQL("SELECT max(version), count(*) FROM {}").format(
            table(schema, "connect_schema_version")
        )
        assert conn.execute(versions).fetchone() == (SCHEMA_VERSION, 2)


def raw_storage(schema: str) -> tuple[str, str]:
    """``events.raw``'s compression (``l``: lz4, ``""``: the default) and storage mode."""
    query = (
        "SELECT attcompression::text, attstorage::text FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'raw'"
    )
    with psycopg.connect(POSTGRES_DSN) as conn:
        where = table(schema, "connect_events").as_string(conn)
        row = conn.execute(query, (where,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_bodies_are_compressed_with_lz4(store: PostgresStore, schema: str) -> None:
    # pglz, the default, spent about 0.5 s of a 25 MB body's commit trying to compress it
    store.load("any")  # the schema exists
    assert raw_storage(schema)[0] == "l"


def test_without_lz4_bodies_are_stored_uncompressed(schema: str) -> None:
    # PostgreSQL 13 does not know the statement; a 14+ built without lz4 refuses it
    class WithoutLz4:
        def __init__(self, conn: psycopg.Connection[Any]) -> None:
            self.conn = conn

        def transaction(self) -> Any:
            return self.conn.transaction()

        def execute(self, query: sql.Composed) -> Any:
            if "COMPRESSION lz4" in query.as_string(self.conn):
                refuse = (
                    "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported'; END $$"
                )
                self.conn.execute(refuse)  # as PostgreSQL refuses it, inside the savepoint
            return self.conn.execute(query)

    names = postgres_module._names(schema, "connect_")
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {events} (raw bytea)").format(**names))
        with conn.transaction():
            postgres_module._compress_bodies(cast(Any, WithoutLz4(conn)), names)
    assert raw_storage(schema) == ("", "e")
