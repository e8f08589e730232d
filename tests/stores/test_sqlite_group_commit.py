"""SQLiteStore group commit: concurrent records share commits, a failing one fails alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from connect_mw.stores import SQLiteStore
from connect_mw.stores.group_commit import Pending
from connect_mw.testing.builders import notification
from support.group_commit_checks import check_thread_records_each_committed

RAW = b'{"event":"envelope-sent"}'


def _count_commits(store: SQLiteStore) -> list[str]:
    commits: list[str] = []
    store._connection().set_trace_callback(
        lambda sql: commits.append(sql) if sql.startswith("COMMIT") else None
    )
    return commits


def test_concurrent_async_records_share_commits(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    commits = _count_commits(store)

    async def deliver_all() -> list[Any]:
        calls = [store.arecord(notification(f"e{i}", "sent"), RAW, f"k{i}") for i in range(40)]
        return await asyncio.gather(*calls)

    outcomes = asyncio.run(deliver_all())
    assert all(outcome.inserted for outcome in outcomes)
    assert len(store.list_envelopes(limit=100)) == 40
    assert 1 <= len(commits) < 40  # batched: fewer commits than records
    store.close()
    assert store._group.writer is None  # close() let the writer thread finish


def test_concurrent_thread_records_are_each_committed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3", durable=False)
    check_thread_records_each_committed(store)
    store.close()


def test_a_failing_record_fails_alone_in_its_batch(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "connect.sqlite3")
    good = Pending(notification("e1", "sent"), RAW, "k1", None)
    bad = Pending(notification("e2", "sent"), object(), "k2", None)  # type: ignore[arg-type]
    also_good = Pending(notification("e3", "sent"), RAW, "k3", None)
    store._group.commit([good, bad, also_good])
    assert good.result().inserted and also_good.result().inserted
    with pytest.raises(Exception):  # noqa: B017 (whatever sqlite3 raises for the bad value)
        bad.result()
    assert store.get_envelope("e1") is not None and store.get_envelope("e3") is not None
    assert store.get_envelope("e2") is None and store.get_event("k2") is None
    store.close()
