"""A complete custom store: every event and envelope in one JSON file, rewritten atomically.

Run its contract tests: ./scripts/test tests/stores/test_custom_store_example.py

Six methods, everything imported from ``connect_mw.stores.api``: the core decides
duplicates, folds state and runs the work queue on top of them. It is deliberately simple —
the whole file is read and rewritten on every write, under a thread lock and an exclusive
``flock`` so several processes can share it — and passes the same ``StoreContract`` suite as
the built-in stores. ``docs/custom-store.md`` walks through it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connect_mw.stores.api import (
    Commit,
    EnvelopeQuery,
    EnvelopeState,
    EventQuery,
    Progress,
    Snapshot,
    Store,
    StoredEvent,
    dump_state,
    dump_time,
    event_from_dict,
    event_to_dict,
    load_state,
    load_states,
    tombstone,
)


class JsonFileStore(Store):
    """A store in one JSON file.

    ``{"events": {key: event}, "envelopes": {id: {"state": text, "version": n}}, "seq": n}``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @contextmanager
    def _data(self, write: bool = False) -> Iterator[dict[str, Any]]:
        """The file's content, locked; written back atomically (fsynced) when ``write``."""
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            data = json.loads(self.path.read_text()) if self.path.exists() else {}
            data.setdefault("events", {})
            data.setdefault("envelopes", {})
            data.setdefault("seq", 0)
            yield data
            if write:
                temporary = self.path.with_suffix(".tmp")
                with open(temporary, "w") as handle:
                    json.dump(data, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.path)  # atomic: readers see old or new, never half

    def load(self, envelope_id: str) -> Snapshot | None:
        """The envelope's state and version."""
        with self._data() as data:
            row = data["envelopes"].get(envelope_id)
        return None if row is None else Snapshot(load_state(row["state"]), row["version"])

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        """Both checks and both writes while the file is locked: atomic.

        ``state`` is ``None`` for an event about no envelope: the event alone is stored.
        """
        with self._data(write=True) as data:
            if event.key in data["events"]:
                return Commit.DUPLICATE
            row = data["envelopes"].get(event.envelope_id)
            if state is not None and (0 if row is None else row["version"]) != version:
                return Commit.CONFLICT
            data["seq"] += 1
            stored = event_to_dict(event)
            stored["sequence"] = data["seq"]
            data["events"][event.key] = stored
            if state is not None:
                data["envelopes"][event.envelope_id] = {
                    "state": dump_state(state),
                    "version": version + 1,
                }
        return Commit.INSERTED

    def get_event(self, key: str) -> StoredEvent | None:
        """One event with its body."""
        with self._data() as data:
            row = data["events"].get(key)
        return None if row is None else event_from_dict(row)

    def events(self, query: EventQuery) -> list[StoredEvent]:
        """Selected events without bodies, in DocuSign order (``query.select`` does both)."""
        with self._data() as data:
            rows = list(data["events"].values())
        return query.select([event_from_dict(row, with_raw=False) for row in rows])

    def envelopes(self, query: EnvelopeQuery) -> list[EnvelopeState]:
        """Selected envelope states, most recently updated first (a damaged one left out)."""
        with self._data() as data:
            rows = [(envelope_id, row["state"]) for envelope_id, row in data["envelopes"].items()]
        return query.select(load_states(rows))

    def update_event(self, key: str, revision: int, progress: Progress | None) -> bool:
        """Compare-and-set the processing fields, or make the event a tombstone."""
        with self._data(write=True) as data:
            row = data["events"].get(key)
            if row is None or row["revision"] != revision:
                return False
            if progress is None:  # retention: drop the body, keep the key (a tombstone)
                data["events"][key] = event_to_dict(tombstone(event_from_dict(row)))
                return True
            lease = progress.lease
            row.update(
                processing=progress.processing.value,
                attempts=progress.attempts,
                next_attempt_at=dump_time(progress.next_attempt_at),
                lease_worker=None if lease is None else lease.worker,
                lease_until=None if lease is None else dump_time(lease.until),
                error=progress.error,
                revision=progress.revision,
            )
        return True
