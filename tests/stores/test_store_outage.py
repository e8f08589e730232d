"""Store outages: the receiver answers 503 within the store's timeout, never a 2xx without a
committed record, and the sender's retries after recovery are stored once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from connect_mw import Receiver, SQLiteStore
from support.deliveries import KEY, signed_request, sim_body


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
