"""SQLiteStore and large bodies: BLOB I/O without a bound copy, checkpoints off the commit."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw.stores import SQLiteStore
from connect_mw.stores import sqlite as sqlite_module
from connect_mw.stores.group_commit import Pending
from connect_mw.stores.sqlite_checkpoint import Checkpointer
from connect_mw.testing.builders import notification

BIG = os.urandom(sqlite_module.BLOB_IO_MIN + 12345)  # not a multiple of the page size
SMALL = b'{"event":"envelope-sent"}'
needs_blob_io = pytest.mark.skipif(not sqlite_module.BLOB_IO, reason="Python >= 3.11")


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
    assert store.record(notification("e1", "sent"), BIG, "k1").inserted
    assert store.record(notification("e2", "sent"), SMALL, "k2").inserted
    assert ["zeroblob(" in sql for sql in inserts] == [True, False]  # small ones are bound
    event = store.get_event("k1")
    assert event is not None and event.raw == BIG and event.raw_size == len(BIG)
    claimed = store.claim("w", lease_for=timedelta(minutes=1), limit=2)
    assert {e.key: e.raw for e in claimed} == {"k1": BIG, "k2": SMALL}
    store.close()


def test_without_blob_io_the_body_is_bound_as_on_python_3_10(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    store._blob_io = False  # what BLOB_IO is on Python 3.10
    inserts = _inserts(store)
    assert store.record(notification("e1", "sent"), BIG, "k1").inserted
    assert not any("zeroblob(" in sql for sql in inserts)
    event = store.get_event("k1")
    assert event is not None and event.raw == BIG
    store.close()


def test_a_large_duplicate_keeps_the_first_body(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    assert store.record(notification("e1", "sent"), BIG, "k1").inserted
    other = bytes(reversed(BIG))
    assert not store.record(notification("e1", "sent"), other, "k1").inserted
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
        Pending(notification("e1", "sent"), BIG, "k1", None),
        Pending(notification("e2", "sent"), bad_body, "k2", None),
        Pending(notification("e3", "sent"), SMALL, "k3", None),
    ]
    store._group.commit(batch)
    with pytest.raises(sqlite3.OperationalError):
        batch[1].result()
    assert batch[0].result().inserted and batch[2].result().inserted
    assert store.get_event("k2") is None and store.get_envelope("e2") is None
    first = store.get_event("k1")
    assert first is not None and first.raw == BIG
    store.close()


def test_async_records_of_large_bodies_round_trip(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    bodies = [os.urandom(len(BIG) + i) for i in range(4)]

    async def deliver() -> list[bool]:
        calls = [
            store.arecord(notification(f"e{i}", "sent"), body, f"k{i}")
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
    assert store.record(notification("e1", "sent"), BIG, "k1").inserted
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
        store.record(notification(f"e{i}", "sent"), SMALL, f"k{i}")
    assert checkpointer._thread is None and checkpointer.runs == 0
    store.close()


def _grow_wal(store: SQLiteStore, path: Path, records: int) -> int:
    """Record ``records`` large bodies; the largest the WAL file got."""
    largest = 0
    for i in range(records):
        store.record(notification(f"e{i}", "sent"), os.urandom(len(BIG)), f"k{i}")
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
        assert len(store.events(limit=None)) == records
        store.close()


def test_an_in_memory_database_has_no_checkpointer() -> None:
    store = SQLiteStore(":memory:")
    assert store.record(notification("e1", "sent"), BIG, "k1").inserted
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
    store.record(notification("e1", "sent"), SMALL, "k1")
    _wait_for(lambda: bool(failures) and not checkpointer._wanted)
    store.record(notification("e2", "sent"), SMALL, "k2")
    _wait_for(lambda: checkpointer.runs == 1)
    store.close()


def test_a_schema_2_file_gains_the_body_column_and_keeps_its_bodies(tmp_path: Path) -> None:
    path = tmp_path / "connect.sqlite3"
    old_schema = sqlite_module._SCHEMA.replace(",\n    body             BLOB", "")
    assert "body" not in old_schema
    then = "2024-01-01T00:00:00.000000Z"
    with sqlite3.connect(path) as conn:
        conn.executescript(old_schema + "PRAGMA user_version=2;")
        conn.execute(
            "INSERT INTO connect_events (key, envelope_id, event, format, received_at, order_at, "
            "raw, raw_size, transitions, next_attempt_at) "
            "VALUES ('old', 'e0', 'envelope-sent', 'json-sim', ?, ?, ?, ?, '[]', ?)",
            (then, then, BIG, len(BIG), then),
        )
    conn.close()
    store = SQLiteStore(path)
    assert store.record(notification("e1", "sent"), BIG[::-1], "new").inserted
    claimed = store.claim("w", lease_for=timedelta(minutes=1), limit=2)
    assert {e.key: e.raw for e in claimed} == {"old": BIG, "new": BIG[::-1]}
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_module.SCHEMA_VERSION
        columns = [row[1] for row in conn.execute("PRAGMA table_info(connect_events)")]
    conn.close()
    assert columns[-1] == "body"
    SQLiteStore(path).close()  # opening a current file again changes nothing
