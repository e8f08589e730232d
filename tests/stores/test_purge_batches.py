"""The SQL stores purge in short batches, and every batch leaves tombstones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw.stores import ProcessingState, SQLiteStore, Store, sql_store
from connect_mw.stores.api import Progress, utcnow
from connect_mw.testing.store_contract import state_of, stored_event
from support.services import POSTGRES_DSN, postgres_namespace, require_module


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        with SQLiteStore(tmp_path / "events.sqlite3") as opened:
            yield opened
        return
    require_module("psycopg")
    from connect_mw.stores.postgres import PostgresStore

    with postgres_namespace() as schema, PostgresStore(POSTGRES_DSN, schema=schema) as opened:
        yield opened


def test_purge_runs_batch_after_batch(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_store, "PURGE_BATCH", 2)  # both stores purge through SQLStore
    for i in range(5):
        store.commit(stored_event(f"k{i}", f"e{i}"), state_of(f"e{i}"), 0)
        event = store.get_event(f"k{i}")
        assert event is not None
        done = Progress(ProcessingState.PROCESSED, 1, utcnow(), None, None, event.revision + 1)
        assert store.update_event(f"k{i}", event.revision, done)
    store.commit(stored_event("pending", "e9"), state_of("e9"), 0)
    assert store.purge(utcnow() + timedelta(minutes=1)) == 5
    states = {event.key: event.processing for event in store.list_events()}
    assert states == {**{f"k{i}": ProcessingState.PURGED for i in range(5)}, "pending": "pending"}
