"""SQLiteStore group commit: concurrent commits share transactions, a failing one fails alone."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

import pytest

from connect_mw.effects import adrive
from connect_mw.recording import RecordOutcome, record
from connect_mw.stores import SQLiteStore
from connect_mw.stores.api import Commit
from connect_mw.stores.group_commit import Pending
from connect_mw.testing.builders import notification
from connect_mw.testing.store_contract import state_of, stored_event
from support.group_commit_checks import check_thread_records_each_committed

RAW = b'{"event":"envelope-sent"}'


def _count_commits(store: SQLiteStore) -> list[str]:
    commits: list[str] = []
    store._connection().set_trace_callback(
        lambda sql: commits.append(sql) if sql.startswith("COMMIT") else None
    )
    return commits


def pending(key: str, envelope_id: str, version: int = 0, status: str = "sent") -> Pending:
    return Pending(stored_event(key, envelope_id), state_of(envelope_id, status), version)


def test_concurrent_async_records_share_commits(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    commits = _count_commits(store)

    async def deliver_all() -> list[RecordOutcome]:
        calls = [
            adrive(record(store, notification(f"e{i}", "sent"), RAW, f"k{i}")) for i in range(40)
        ]
        return await asyncio.gather(*calls)

    outcomes = asyncio.run(deliver_all())
    assert all(outcome.inserted for outcome in outcomes)
    assert len(store.list_envelopes(limit=100)) == 40
    assert 1 <= len(commits) < 40  # batched: fewer commits than records
    store.close()


def test_concurrent_thread_records_are_each_committed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3", durable=False)
    check_thread_records_each_committed(store)
    store.close()


def test_a_failing_commit_fails_alone_in_its_batch(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    good, also_good = pending("k1", "e1"), pending("k3", "e3")
    unbindable = dataclasses.replace(stored_event("k2", "e2"), account_id=object())  # type: ignore[arg-type]
    bad = Pending(unbindable, state_of("e2"), 0)
    store._group.write([good, bad, also_good])
    assert good.result() is also_good.result() is Commit.INSERTED
    with pytest.raises(Exception):  # noqa: B017 (whatever sqlite3 raises for the bad value)
        bad.result()
    assert store.get_envelope("e1") is not None and store.get_envelope("e3") is not None
    assert store.get_envelope("e2") is None and store.get_event("k2") is None
    store.close()


def test_commits_of_one_envelope_in_one_batch_follow_its_version(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    batch = [
        pending("k1", "e1", 0),
        pending("k2", "e1", 0, "delivered"),  # raced k1 for version 0: a conflict
        pending("k3", "e1", 1, "completed"),  # built on k1's state: inserted
        pending("k1", "e2", 0),  # k1's key again: a duplicate, whatever its envelope
    ]
    store._group.write(batch)
    assert [item.result() for item in batch] == [
        Commit.INSERTED,
        Commit.CONFLICT,
        Commit.INSERTED,
        Commit.DUPLICATE,
    ]
    snapshot = store.load("e1")
    assert snapshot is not None and (snapshot.version, snapshot.state) == (
        2,
        state_of("e1", "completed"),
    )
    assert [e.key for e in store.list_events()] == ["k1", "k3"]
    assert store.load("e2") is None
    store.close()


def test_each_commit_returns_after_its_own_transaction(tmp_path: Path) -> None:
    """A thread arriving while a batch is written waits for the next batch's commit."""
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    write_batch, batches = store._write_batch, list[list[str]]()
    entered, release = threading.Event(), threading.Event()

    def slow(batch: list[Pending]) -> None:
        batches.append([item.event.key for item in batch])
        if len(batches) == 1:
            entered.set()
            release.wait(10)
        write_batch(batch)

    store._group._write = slow
    first = threading.Thread(
        target=store.commit, args=(stored_event("k1", "e1"), state_of("e1"), 0)
    )
    first.start()
    entered.wait(10)
    results: list[Commit] = []
    later = [
        threading.Thread(
            target=lambda i=i: results.append(
                store.commit(stored_event(f"k{i}", f"e{i}"), state_of(f"e{i}"), 0)
            )
        )
        for i in (2, 3)
    ]
    for thread in later:
        thread.start()
    while len(store._group._pending) < 2:
        threading.Event().wait(0.001)
    assert results == []  # queued behind the batch being written
    release.set()
    for thread in [first, *later]:
        thread.join()
    assert [sorted(batch) for batch in batches] == [["k1"], ["k2", "k3"]]  # one commit for two
    assert results == [Commit.INSERTED, Commit.INSERTED]
    store.close()
