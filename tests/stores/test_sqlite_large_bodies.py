"""SQLiteStore and large bodies: BLOB I/O without a bound copy, checkpoints off the commit.

Also the upgrades of older files, which must keep ``body`` the table's last column.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw.effects import adrive, drive
from connect_mw.model import Notification
from connect_mw.recording import RecordOutcome, record
from connect_mw.stores import SQLiteStore
from connect_mw.stores import sqlite as sqlite_module
from connect_mw.stores.api import Commit, ProcessingState, Store
from connect_mw.stores.group_commit import Pending
from connect_mw.stores.sqlite_checkpoint import Checkpointer
from connect_mw.testing.builders import BASE_TIME, notification
from connect_mw.testing.store_contract import state_of, stored_event

BIG = os.urandom(sqlite_module.BLOB_IO_MIN + 12345)  # not a multiple of the page size
SMALL = b'{"event":"envelope-sent"}'
needs_blob_io = pytest.mark.skipif(not sqlite_module.BLOB_IO, reason="Python >= 3.11")
LEASE = timedelta(minutes=1)


def rec(store: Store, n: Notification, raw: bytes, key: str) -> RecordOutcome:
    """Record through the core, as the receiver does."""
    return drive(record(store, n, raw, key))


def _inserts(store: SQLiteStore) -> list[str]:
    statements: list[str] = []
    store._connection().set_trace_callback(
        lambda sql: statements.append(sql) if sql.startswith("INSERT INTO connect_events") else None
    )
    return statements


def _checkpointer(store: SQLiteStore) -> Checkpointer:
    store._connection()
    assert store._checkpointer is not None
    return store._checkpointer


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("timed out")


def _sizes(path: Path) -> tuple[int, int]:
    """The database file's size and its WAL's."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0


@needs_blob_io
def test_a_large_body_is_written_through_blob_io_and_reads_back_exactly(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    inserts = _inserts(store)
    assert rec(store, notification("e1", "sent"), BIG, "k1").inserted
    assert rec(store, notification("e2", "sent"), SMALL, "k2").inserted
    assert ["zeroblob(" in sql for sql in inserts] == [True, False]  # small ones are bound
    event = store.get_event("k1")
    assert event is not None and event.raw == BIG and event.raw_size == len(BIG)
    claimed = store.queue().claim("w", lease_for=LEASE, limit=2)
    assert sorted(e.key for e in claimed) == ["k1", "k2"]
    assert {e.key: _raw(store, e.key) for e in claimed} == {"k1": BIG, "k2": SMALL}
    store.close()


def _raw(store: Store, key: str) -> bytes | None:
    event = store.get_event(key)
    return None if event is None else event.raw


def test_without_blob_io_the_body_is_bound_as_on_python_3_10(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    store._blob_io = False  # what BLOB_IO is on Python 3.10
    inserts = _inserts(store)
    assert rec(store, notification("e1", "sent"), BIG, "k1").inserted
    assert not any("zeroblob(" in sql for sql in inserts)
    event = store.get_event("k1")
    assert event is not None and event.raw == BIG
    store.close()


def test_a_large_duplicate_keeps_the_first_body(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    assert rec(store, notification("e1", "sent"), BIG, "k1").inserted
    other = bytes(reversed(BIG))
    assert not rec(store, notification("e1", "sent"), other, "k1").inserted
    event = store.get_event("k1")
    assert event is not None and event.raw == BIG
    store.close()


@needs_blob_io
def test_a_failing_blob_write_fails_its_record_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    bad_body = bytes(reversed(BIG))
    write_blob = sqlite_module._write_blob

    def failing(conn: sqlite3.Connection, rowid: int | None, raw: bytes) -> None:
        if raw == bad_body:
            raise sqlite3.OperationalError("disk I/O error")
        write_blob(conn, rowid, raw)

    monkeypatch.setattr(sqlite_module, "_write_blob", failing)
    batch = [
        Pending(stored_event("k1", "e1", raw=BIG), state_of("e1"), 0),
        Pending(stored_event("k2", "e2", raw=bad_body), state_of("e2"), 0),
        Pending(stored_event("k3", "e3", raw=SMALL), state_of("e3"), 0),
    ]
    store._group.write(batch)
    with pytest.raises(sqlite3.OperationalError):
        batch[1].result()
    assert batch[0].result() is batch[2].result() is Commit.INSERTED
    assert store.get_event("k2") is None and store.get_envelope("e2") is None
    first = store.get_event("k1")
    assert first is not None and first.raw == BIG
    store.close()


def test_async_records_of_large_bodies_round_trip(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    bodies = [os.urandom(len(BIG) + i) for i in range(4)]

    async def deliver() -> list[bool]:
        calls = [
            adrive(record(store, notification(f"e{i}", "sent"), body, f"k{i}"))
            for i, body in enumerate(bodies)
        ]
        return [outcome.inserted for outcome in await asyncio.gather(*calls)]

    assert asyncio.run(deliver()) == [True] * 4
    for i, body in enumerate(bodies):
        event = store.get_event(f"k{i}")
        assert event is not None and event.raw == body
    store.close()


def test_the_checkpoint_runs_off_the_commit_on_its_own_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "connect.sqlite3"
    store = SQLiteStore(path)
    checkpointer = _checkpointer(store)
    checkpointer.every = len(BIG)
    release, threads = threading.Event(), []
    checkpoint = checkpointer.checkpoint

    def held(conn: sqlite3.Connection) -> None:
        threads.append(threading.current_thread().name)
        release.wait(10)
        checkpoint(conn)

    monkeypatch.setattr(checkpointer, "checkpoint", held)
    assert rec(store, notification("e1", "sent"), BIG, "k1").inserted
    database, wal = _sizes(path)
    assert wal > len(BIG) > database  # committed to the WAL, not copied back by the commit
    _wait_for(lambda: bool(threads))
    assert threads == ["connect-mw-sqlite-checkpoint"]
    release.set()
    _wait_for(lambda: checkpointer.runs == 1)
    assert checkpointer.last is not None
    busy, frames, copied = checkpointer.last
    assert busy == 0 and frames == copied > len(BIG) // 4096
    assert _sizes(path)[0] > len(BIG)  # now in the database file
    store.close()
    assert checkpointer._thread is None  # close() stopped the thread


def test_small_commits_do_not_wake_the_checkpointer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    checkpointer = _checkpointer(store)
    for i in range(10):
        rec(store, notification(f"e{i}", "sent"), SMALL, f"k{i}")
    assert checkpointer._thread is None and checkpointer.runs == 0
    store.close()


def _grow_wal(store: SQLiteStore, path: Path, records: int) -> int:
    """Record ``records`` large bodies; the largest the WAL file got."""
    largest = 0
    for i in range(records):
        rec(store, notification(f"e{i}", "sent"), os.urandom(len(BIG)), f"k{i}")
        largest = max(largest, _sizes(path)[1])
    return largest


def test_the_wal_is_capped_when_the_background_checkpoint_falls_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 1024 * 1024
    capped_path, unbounded_path = tmp_path / "capped.sqlite3", tmp_path / "unbounded.sqlite3"
    capped = SQLiteStore(capped_path, wal_limit=limit)
    unbounded = SQLiteStore(unbounded_path, wal_limit=2**40)
    for store in (capped, unbounded):  # a checkpoint thread that never gets to run
        monkeypatch.setattr(_checkpointer(store), "wrote", lambda size: None)
    records = 4 * limit // len(BIG) + 1
    assert _grow_wal(unbounded, unbounded_path, records) > records * len(BIG)  # the baseline
    assert _grow_wal(capped, capped_path, records) < limit + 2 * len(BIG)
    for store in (capped, unbounded):
        assert len(store.list_events(limit=None)) == records
        store.close()


def test_an_in_memory_database_has_no_checkpointer() -> None:
    store = SQLiteStore(":memory:")
    assert rec(store, notification("e1", "sent"), BIG, "k1").inserted
    assert store._checkpointer is None
    event = store.get_event("k1")
    assert event is not None and event.raw == BIG
    store.close()


def test_the_checkpointer_survives_a_failing_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    checkpointer = _checkpointer(store)
    checkpointer.every = 1
    checkpoint, failures = checkpointer.checkpoint, list[int]()

    def flaky(conn: sqlite3.Connection) -> None:
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("disk I/O error")
        checkpoint(conn)

    monkeypatch.setattr(checkpointer, "checkpoint", flaky)
    rec(store, notification("e1", "sent"), SMALL, "k1")
    _wait_for(lambda: bool(failures) and not checkpointer._wanted)
    rec(store, notification("e2", "sent"), SMALL, "k2")
    _wait_for(lambda: checkpointer.runs == 1)
    store.close()


# The schema of the previous releases, by hand: 2 has no ``body`` column, 3 ends with it.
OLD_EVENTS = """
CREATE TABLE connect_events (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    key              TEXT NOT NULL UNIQUE,
    envelope_id      TEXT NOT NULL,
    account_id       TEXT,
    event            TEXT NOT NULL,
    status           TEXT,
    format           TEXT NOT NULL,
    occurred_at      TEXT,
    received_at      TEXT NOT NULL,
    order_at         TEXT NOT NULL,
    raw              BLOB NOT NULL,
    raw_size         INTEGER NOT NULL,
    transitions      TEXT NOT NULL,
    processing       TEXT NOT NULL DEFAULT 'pending',
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    lease_worker     TEXT,
    lease_until      TEXT{body}
);
CREATE INDEX connect_events_envelope ON connect_events (envelope_id, processing, order_at);
CREATE INDEX connect_events_due ON connect_events (processing, next_attempt_at);
CREATE INDEX connect_events_received ON connect_events (received_at);
CREATE TABLE connect_envelopes (
    envelope_id  TEXT PRIMARY KEY,
    account_id   TEXT,
    status       TEXT,
    updated_at   TEXT,
    state        TEXT NOT NULL
);
CREATE INDEX connect_envelopes_updated ON connect_envelopes (updated_at, envelope_id);
CREATE INDEX connect_envelopes_status ON connect_envelopes (status, updated_at);
PRAGMA user_version={version};
"""
THEN = "2024-01-01T00:00:00.000000Z"
OLD_STATE = (
    '{"envelope_id":"%s","account_id":"acct-1","status":"sent","status_at":"%s",'
    '"updated_at":%s,"subject":"Old","void_reason":null,"decline_reason":null,'
    '"reached":["sent"],"recipients":[],"event_count":1}'
)


def make_old_file(path: Path, version: int) -> None:
    """A file of schema ``version`` (2 or 3): two events (a third purged), two envelopes."""
    body = ",\n    body             BLOB" if version == 3 else ""
    insert = (
        "INSERT INTO connect_events (key, envelope_id, event, format, received_at, order_at, "
        "raw, raw_size, transitions, processing, next_attempt_at) "
        "VALUES (?, ?, 'envelope-sent', 'json-sim', ?, ?, ?, ?, '[]', ?, ?)"
    )
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_EVENTS.format(body=body, version=version))
        big_raw = b"" if version == 3 else BIG
        conn.execute(insert, ("old", "e0", THEN, THEN, big_raw, len(BIG), "pending", THEN))
        if version == 3:  # a large body, written into ``body`` as release 3 did
            conn.execute("UPDATE connect_events SET body = ? WHERE key = 'old'", (BIG,))
        conn.execute(insert, ("done", "x", THEN, THEN, SMALL, len(SMALL), "dead", THEN))
        conn.execute(insert, ("purged", "x", THEN, THEN, SMALL, len(SMALL), "dead", THEN))
        conn.execute("DELETE FROM connect_events WHERE key = 'purged'")
        envelope = "INSERT INTO connect_envelopes VALUES (?, 'acct-1', 'sent', ?, ?)"
        conn.execute(envelope, ("e0", THEN, OLD_STATE % ("e0", THEN, f'"{THEN}"')))
        conn.execute(envelope, ("no-time", None, OLD_STATE % ("no-time", THEN, "null")))
    conn.close()


@pytest.mark.parametrize("version", [2, 3])
def test_an_older_file_is_upgraded_in_place_and_keeps_its_rows(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "connect.sqlite3"
    make_old_file(path, version)
    store = SQLiteStore(path)
    snapshot = store.load("e0")
    assert snapshot is not None and snapshot.version == 1
    assert (snapshot.state.subject, snapshot.state.event_count) == ("Old", 1)
    old = store.get_event("old")
    assert old is not None and (old.raw, old.sequence, old.revision) == (BIG, 1, 0)
    assert [e.key for e in store.list_events(processing=ProcessingState.DEAD)] == ["done"]
    assert [s.envelope_id for s in store.list_envelopes()] == ["e0", "no-time"]
    at = BASE_TIME.replace(year=2024) + timedelta(hours=1)
    outcome = rec(store, notification("e0", "delivered", at=at), BIG[::-1], "new")
    assert outcome.inserted and outcome.state.event_count == 2
    new = store.get_event("new")
    assert new is not None and new.raw == BIG[::-1]
    assert new.sequence > 3  # after the purged event's: the sequence only grows
    assert [e.key for e in store.queue().claim("w", lease_for=LEASE, limit=5)] == ["old"]
    store.write_marker("reconcile", "then")
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_module.SCHEMA_VERSION
        columns = [row[1] for row in conn.execute("PRAGMA table_info(connect_events)")]
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert columns[-2:] == ["revision", "body"]  # BLOB I/O needs body last
    assert "connect_events_due" in indexes and "connect_envelopes_listed" in indexes
    assert "connect_events_old" not in indexes and "connect_envelopes_updated" not in indexes
    again = SQLiteStore(path)  # opening a current file again changes nothing
    assert again.read_marker("reconcile") == "then"
    assert [e.key for e in again.list_events()] == ["old", "done", "new"]
    again.close()


@needs_blob_io
def test_an_upgraded_file_writes_large_bodies_through_blob_io(tmp_path: Path) -> None:
    path = tmp_path / "connect.sqlite3"
    make_old_file(path, 3)
    store = SQLiteStore(path)
    inserts = _inserts(store)
    assert rec(store, notification("e1", "sent"), BIG, "k1").inserted
    assert ["zeroblob(" in sql for sql in inserts] == [True]
    assert _raw(store, "k1") == BIG
    store.close()
