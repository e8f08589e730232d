"""A complete custom store: every event and envelope in one JSON file, rewritten atomically.

Run its contract tests: ./scripts/test tests/test_custom_store_example.py

It is deliberately simple (the whole file is read and rewritten on every write, under a
thread lock and an exclusive ``flock`` so several processes can share it) and passes the same
``StoreContract`` suite as the built-in stores. ``docs/custom-store.md`` walks through it.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connect_mw.model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat
from connect_mw.state import fold
from connect_mw.stores import ProcessingState, Store, StoredEvent
from connect_mw.stores.base import Lease, RecordOutcome, utcnow
from connect_mw.stores.codec import (
    dump_state,
    dump_time,
    dump_transitions,
    load_state,
    load_time,
    load_transitions,
)

UNFINISHED = ("pending", "failed")


class JsonFileStore(Store):
    """A store in one JSON file: ``{"events": {key: row}, "envelopes": {id: state}, "seq": n}``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @contextmanager
    def _data(self, write: bool = True) -> Iterator[dict[str, Any]]:
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

    # Writing ------------------------------------------------------------------------

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Insert-if-absent and fold, atomic because the file is locked the whole time."""
        n = notification
        with self._data() as data:
            text = data["envelopes"].get(n.envelope_id)
            current = load_state(text) if text else None
            if key in data["events"]:
                state = current or EnvelopeState(n.envelope_id, n.account_id)
                return RecordOutcome(key=key, inserted=False, state=state)
            result = fold(current, n)
            now = dump_time(utcnow())
            data["seq"] += 1
            data["events"][key] = {
                "seq": data["seq"],
                "envelope_id": n.envelope_id,
                "account_id": n.account_id,
                "event": n.event,
                "status": n.status.value if n.status else None,
                "format": n.format.value,
                "occurred_at": dump_time(n.occurred_at),
                "received_at": now,
                "order_at": dump_time(n.occurred_at) or now,
                "raw": base64.b64encode(raw).decode(),
                "raw_size": len(raw),
                "transitions": dump_transitions(result.transitions),
                "processing": "pending",
                "error": None,
                "attempts": 1 if lease else 0,
                "next_attempt_at": now,
                "lease_worker": lease.worker if lease else None,
                "lease_until": dump_time(lease.until) if lease else None,
            }
            data["envelopes"][n.envelope_id] = dump_state(result.state)
        return RecordOutcome(key, True, result.state, result.transitions, result.stale)

    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """Lease the claimable events (see ``Store.claim``)."""
        moment = dump_time(now or utcnow())
        with self._data() as data:
            rows = data["events"]
            due = [k for k, row in rows.items() if _claimable(rows, row, moment)]
            due.sort(
                key=lambda k: (rows[k]["next_attempt_at"], rows[k]["order_at"], rows[k]["seq"])
            )
            for key in due[:limit]:
                rows[key].update(
                    lease_worker=worker,
                    attempts=rows[key]["attempts"] + 1,
                    lease_until=dump_time((now or utcnow()) + lease_for),
                )
            return [_event(key, rows[key], with_raw=True) for key in due[:limit]]

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """End ``worker``'s claim (see ``Store.finish``)."""
        release = state is ProcessingState.PENDING
        with self._data() as data:
            row = data["events"].get(key)
            if row is None or row["lease_worker"] != worker:
                return False
            row.update(
                processing=state.value,
                error=error,
                lease_worker=None,
                lease_until=None,
                attempts=row["attempts"] - (1 if release else 0),
                next_attempt_at=dump_time(retry_at if retry_at and not release else utcnow()),
            )
            return True

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """Pending again, due now (see ``Store.requeue``)."""
        moment = dump_time(now or utcnow())
        with self._data() as data:
            row = data["events"].get(key)
            if row is None or (row["lease_until"] is not None and row["lease_until"] >= moment):
                return False
            row.update(
                processing="pending",
                attempts=0,
                next_attempt_at=moment,
                lease_worker=None,
                lease_until=None,
            )
            return True

    def purge(self, before: datetime) -> int:
        """Delete old final events (see ``Store.purge``)."""
        limit = dump_time(before)
        with self._data() as data:
            doomed = [
                k
                for k, row in data["events"].items()
                if row["received_at"] < limit and row["processing"] in ("processed", "dead")
            ]
            for key in doomed:
                del data["events"][key]
            return len(doomed)

    # Reading --------------------------------------------------------------------------

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """See ``Store.get_envelope``."""
        with self._data(write=False) as data:
            text = data["envelopes"].get(envelope_id)
        return load_state(text) if text else None

    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """See ``Store.list_envelopes``."""
        with self._data(write=False) as data:
            states = [load_state(text) for text in data["envelopes"].values()]
        chosen = [s for s in states if status is None or (s.status and s.status.value == status)]
        chosen.sort(key=lambda s: (s.updated_at is not None, s.updated_at), reverse=True)
        return chosen[:limit]

    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """See ``Store.events``."""
        with self._data(write=False) as data:
            rows = data["events"]
        keys = [
            k
            for k, row in rows.items()
            if (envelope_id is None or row["envelope_id"] == envelope_id)
            and (processing is None or row["processing"] == processing.value)
        ]
        keys.sort(key=lambda k: (rows[k]["order_at"], rows[k]["seq"]))
        return [_event(k, rows[k]) for k in keys[:limit]]

    def get_event(self, key: str) -> StoredEvent | None:
        """See ``Store.get_event``."""
        with self._data(write=False) as data:
            row = data["events"].get(key)
        return _event(key, row, with_raw=True) if row else None


def _claimable(rows: dict[str, Any], row: dict[str, Any], now: str) -> bool:
    """The four rules of ``Store.claim``, on the JSON rows."""
    if row["processing"] not in UNFINISHED or row["next_attempt_at"] > now:
        return False
    for other in rows.values():
        if other["envelope_id"] != row["envelope_id"] or other["processing"] not in UNFINISHED:
            continue
        if other["lease_until"] is not None and other["lease_until"] >= now:
            return False  # a live lease in the envelope (this event's own included)
        if (other["order_at"], other["seq"]) < (row["order_at"], row["seq"]):
            return False  # an earlier unfinished event goes first
    return True


def _event(key: str, row: dict[str, Any], with_raw: bool = False) -> StoredEvent:
    lease_until = load_time(row["lease_until"])
    received = load_time(row["received_at"])
    assert received is not None
    return dataclasses.replace(
        StoredEvent(
            key=key,
            envelope_id=row["envelope_id"],
            account_id=row["account_id"],
            event=row["event"],
            status=EnvelopeStatus(row["status"]) if row["status"] else None,
            format=PayloadFormat(row["format"]),
            occurred_at=load_time(row["occurred_at"]),
            received_at=received,
            raw_size=row["raw_size"],
            transitions=load_transitions(row["transitions"]),
            processing=ProcessingState(row["processing"]),
            error=row["error"],
            attempts=row["attempts"],
            next_attempt_at=load_time(row["next_attempt_at"]),
            lease=Lease(row["lease_worker"], lease_until) if lease_until else None,
        ),
        raw=base64.b64decode(row["raw"]) if with_raw else None,
    )
