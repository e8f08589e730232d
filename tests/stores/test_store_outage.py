"""Store outages: the receiver answers 503 within the store's timeout, never a 2xx without a
committed record, and the sender's retries after recovery are stored once. A stored state
that does not decode is answered the same way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from connect_mw import Receiver, SQLiteStore
from connect_mw.stores.api import dump_state
from support.deliveries import KEY, signed_request, sim_body
from support.stored_state import overwrite_sqlite


def test_sqlite_locked_by_another_process_is_503_then_recovers(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    store = SQLiteStore(db, busy_timeout=0.2)
    receiver = Receiver(hmac_keys=KEY, store=store)
    assert receiver.handle(signed_request(sim_body("envelope-sent"))).status == 200
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        request = signed_request(sim_body("envelope-completed"))
        assert receiver.handle(request).status == 503
        assert receiver.handle(request).status == 503
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    retried = signed_request(sim_body("envelope-completed", retry_count=2))
    assert receiver.handle(retried).status == 200
    assert receiver.handle(retried).status == 200
    assert [e.event for e in store.list_events()] == ["envelope-sent", "envelope-completed"]


def test_sqlite_file_in_a_missing_directory_is_503(tmp_path: Path) -> None:
    receiver = Receiver(hmac_keys=KEY, store=SQLiteStore(tmp_path / "gone" / "events.sqlite3"))
    assert receiver.handle(signed_request(sim_body())).status == 503


def test_a_stored_state_that_does_not_decode_is_503_and_logged_until_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "events.sqlite3")
    receiver = Receiver(hmac_keys=KEY, store=store)
    assert receiver.handle(signed_request(sim_body("envelope-sent"))).status == 200
    (state,) = store.list_envelopes()
    overwrite_sqlite(store, state.envelope_id, '{"envelope_id": 7}')
    completed = signed_request(sim_body("envelope-completed"))
    assert receiver.handle(completed).status == 503
    assert "store failed to record" in caplog.text and "StoreEncodingError" in caplog.text
    assert [e.event for e in store.list_events()] == ["envelope-sent"]
    overwrite_sqlite(store, state.envelope_id, dump_state(state))  # repaired: the retry lands
    assert receiver.handle(completed).status == 200
    assert [e.event for e in store.list_events()] == ["envelope-sent", "envelope-completed"]
