"""PostgresStore group commit: batches share one transaction, a failing commit fails alone."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.services import POSTGRES_DSN, postgres_namespace, require_module

require_module("psycopg")

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from connect_mw.effects import adrive, drive  # noqa: E402
from connect_mw.recording import RecordOutcome, record  # noqa: E402
from connect_mw.stores.api import Commit  # noqa: E402
from connect_mw.stores.group_commit import Pending  # noqa: E402
from connect_mw.stores.postgres import PostgresStore  # noqa: E402
from connect_mw.testing.builders import notification  # noqa: E402
from connect_mw.testing.store_contract import state_of, stored_event  # noqa: E402
from support.group_commit_checks import check_thread_records_each_committed  # noqa: E402

RAW = b'{"event":"envelope-sent"}'


@pytest.fixture
def store() -> Iterator[PostgresStore]:
    with postgres_namespace() as schema, PostgresStore(POSTGRES_DSN, schema=schema) as pg:
        pg.get_envelope("warm-up")  # creates the schema
        yield pg


def pending(
    envelope_id: str, key: str, status: str = "sent", minutes: int = 0, version: int = 0
) -> Pending:
    """A commit of a new event ``key`` for ``envelope_id`` at DocuSign time ``minutes``."""
    event = stored_event(key, envelope_id, minutes=minutes)
    return Pending(event, state_of(envelope_id, status, minutes), version)


def fail_after_committing(store: PostgresStore, monkeypatch: Any, key: str, statement: str) -> None:
    """Make the commit of ``key`` run ``statement`` once it has written its rows."""
    commit_one = store._commit_one

    def patched(conn: psycopg.Connection[Any], item: Pending) -> Commit:
        outcome = commit_one(conn, item)
        if item.event.key == key:
            conn.execute(statement)
        return outcome

    monkeypatch.setattr(store, "_commit_one", patched)


def test_a_failing_commit_fails_alone_in_its_batch(store: PostgresStore, monkeypatch: Any) -> None:
    fail_after_committing(store, monkeypatch, "k2", "SELECT 1/0")  # aborts the transaction
    batch = [pending("e1", "k1"), pending("e2", "k2"), pending("e3", "k3")]
    store._group.write(batch)
    assert batch[0].result() is batch[2].result() is Commit.INSERTED
    with pytest.raises(psycopg.errors.DivisionByZero):
        batch[1].result()
    assert store.get_event("k1") is not None and store.get_event("k3") is not None
    assert store.get_event("k2") is None and store.get_envelope("e2") is None  # rolled back


def test_commits_of_one_envelope_follow_its_version_within_a_batch(store: PostgresStore) -> None:
    batch = [
        pending("e2", "k1", "completed", minutes=2),
        pending("e1", "k2", "sent"),
        pending("e2", "k3", "sent", version=1),  # folded onto k1's state: inserted
        pending("e1", "k4", "delivered", minutes=1),  # raced k2 for version 0: a conflict
        pending("e2", "k1", "completed", minutes=2, version=2),  # a duplicate of the first
    ]
    store._group.write(batch)
    assert [item.result() for item in batch] == [
        Commit.INSERTED,
        Commit.INSERTED,
        Commit.INSERTED,
        Commit.CONFLICT,
        Commit.DUPLICATE,
    ]
    e1, e2 = store.load("e1"), store.load("e2")
    assert e1 is not None and (e1.state, e1.version) == (state_of("e1", "sent"), 1)
    assert e2 is not None and (e2.state, e2.version) == (state_of("e2", "sent"), 2)
    assert [e.key for e in store.list_events("e2")] == ["k3", "k1"]  # by order_at
    assert [e.key for e in store.list_events("e1")] == ["k2"]  # k4 taken back


def test_a_duplicate_key_in_a_batch_leaves_no_envelope_row(store: PostgresStore) -> None:
    batch = [pending("e1", "k1"), pending("e2", "k1"), pending("e3", "k3")]  # e2 reuses k1
    store._group.write(batch)
    assert [item.result() for item in batch] == [
        Commit.INSERTED,
        Commit.DUPLICATE,
        Commit.INSERTED,
    ]
    assert store.get_envelope("e2") is None
    assert sorted(state.envelope_id for state in store.list_envelopes()) == ["e1", "e3"]
    envelopes = sql.Identifier(store.schema, "connect_envelopes")
    with psycopg.connect(POSTGRES_DSN) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(envelopes)).fetchone()
    assert row == (2,)  # e1 and e3: no row for e2


def test_a_lost_connection_fails_the_whole_batch(store: PostgresStore, monkeypatch: Any) -> None:
    fail_after_committing(store, monkeypatch, "k2", "SELECT pg_terminate_backend(pg_backend_pid())")
    batch = [pending("e1", "k1"), pending("e2", "k2"), pending("e3", "k3")]
    store._group.write(batch)
    for item in batch:  # k1 was written in the transaction, but it never committed
        with pytest.raises(psycopg.OperationalError):
            item.result()
    monkeypatch.undo()
    assert store.list_events() == []
    assert drive(record(store, notification("e1"), RAW, "k1")).inserted  # a fresh connection


def test_a_failed_commit_fails_every_record(store: PostgresStore) -> None:
    events = sql.Identifier(store.schema, "connect_events")
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
        )
        conn.execute(
            sql.SQL(
                "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON {} DEFERRABLE INITIALLY "
                "DEFERRED FOR EACH ROW WHEN (NEW.key = 'k3') EXECUTE FUNCTION pg_temp.refuse()"
            ).format(events)
        )
        batch = [pending("e1", "k1"), pending("e2", "k2"), pending("e3", "k3")]
        store._group.write(batch)  # while the trigger's function exists
    for item in batch:
        with pytest.raises(psycopg.errors.RaiseException, match="refused at commit"):
            item.result()
    assert store.list_events() == [] and store.list_envelopes() == []


def test_a_deadlocked_batch_is_written_again(store: PostgresStore, monkeypatch: Any) -> None:
    drive(record(store, notification("e1"), RAW, "k1"))
    drive(record(store, notification("e2"), RAW, "k2"))
    write_once, attempts = store._write_once, []

    def counted(batch: list[Pending]) -> None:
        attempts.append(len(batch))
        write_once(batch)

    monkeypatch.setattr(store, "_write_once", counted)
    envelopes = sql.Identifier(store.schema, "connect_envelopes")
    lock = sql.SQL("SELECT 1 FROM {} WHERE envelope_id = %s FOR UPDATE").format(envelopes)
    batch = [
        pending("e1", "k3", "delivered", 1, version=1),
        pending("e2", "k4", "delivered", 1, version=1),
    ]
    with psycopg.connect(POSTGRES_DSN) as other:
        other.execute("SET deadlock_timeout = '20s'")  # so that the store's batch is the victim
        other.execute(lock, ("e2",))
        writer = threading.Thread(target=store._group.write, args=(batch,))
        writer.start()  # locks e1, then waits for e2
        wait_for_a_lock_wait(other)
        other.execute(lock, ("e1",))  # a deadlock: the batch is rolled back, so this proceeds
    writer.join()
    assert attempts == [2, 2]
    assert [item.result() for item in batch] == [Commit.INSERTED, Commit.INSERTED]
    assert len(store.list_events()) == 4


def wait_for_a_lock_wait(conn: psycopg.Connection[Any]) -> None:
    """Return once a backend waits for a lock ``conn`` holds (the store's batch, here).

    Only a backend ``conn`` blocks counts: a lock wait elsewhere on a shared server (another
    test run) would let the test take its second lock before the batch took its first.
    """
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
    )
    for _ in range(200):
        row = conn.execute(query).fetchone()
        if row is not None and row[0] > 0:
            return
        time.sleep(0.01)
    raise AssertionError("the batch never waited for the lock")


def test_concurrent_async_records_share_commits(store: PostgresStore, monkeypatch: Any) -> None:
    write_once, batches = store._write_once, []

    def counted(batch: list[Pending]) -> None:
        batches.append(len(batch))
        write_once(batch)

    monkeypatch.setattr(store, "_write_once", counted)

    async def deliver_all() -> list[RecordOutcome]:
        calls = [
            adrive(record(store, notification(f"e{i % 8}", "sent"), RAW, f"k{i}"))
            for i in range(60)
        ]
        return await asyncio.gather(*calls)

    outcomes = asyncio.run(deliver_all())
    assert sum(outcome.inserted for outcome in outcomes) == 60
    # Commits of one envelope at one version conflict and are tried again: 60 or more.
    assert sum(batches) >= 60 and 1 <= len(batches) < sum(batches)  # batched
    assert len(store.list_events()) == 60
    counts = [store.get_envelope(f"e{i}") for i in range(8)]
    assert sum(0 if s is None else s.event_count for s in counts) == 60


def test_concurrent_thread_records_are_each_committed(store: PostgresStore) -> None:
    check_thread_records_each_committed(store)
