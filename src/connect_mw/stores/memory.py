"""``MemoryStore``: everything in a dict behind a lock. For tests and single-process demos."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from ..model import EnvelopeState, Notification
from ..state import fold
from .base import ProcessingState, RecordOutcome, Store, StoredEvent, utcnow


class MemoryStore(Store):
    """A store that keeps everything in process memory; nothing survives a restart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, StoredEvent] = {}
        self._envelopes: dict[str, EnvelopeState] = {}

    def record(self, notification: Notification, raw: bytes, key: str) -> RecordOutcome:
        """Insert-if-absent and fold under one lock."""
        with self._lock:
            current = self._envelopes.get(notification.envelope_id)
            if key in self._events:
                assert current is not None
                return RecordOutcome(key=key, inserted=False, state=current)
            result = fold(current, notification)
            self._events[key] = StoredEvent(
                key=key,
                envelope_id=notification.envelope_id,
                account_id=notification.account_id,
                event=notification.event,
                status=notification.status,
                format=notification.format,
                occurred_at=notification.occurred_at,
                received_at=utcnow(),
                raw_size=len(raw),
                transitions=result.transitions,
                raw=bytes(raw),
            )
            self._envelopes[notification.envelope_id] = result.state
            return RecordOutcome(key, True, result.state, result.transitions, result.stale)

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """See :meth:`Store.get_envelope`."""
        with self._lock:
            return self._envelopes.get(envelope_id)

    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """See :meth:`Store.list_envelopes`."""
        with self._lock:
            states = [
                s
                for s in self._envelopes.values()
                if status is None or (s.status is not None and s.status.value == status)
            ]
        states.sort(key=lambda s: (s.updated_at is not None, s.updated_at), reverse=True)
        return states[:limit]

    def events(self, envelope_id: str) -> list[StoredEvent]:
        """See :meth:`Store.events`."""
        with self._lock:
            found = [e for e in self._events.values() if e.envelope_id == envelope_id]
        found.sort(key=lambda e: (e.occurred_at is None, e.occurred_at or e.received_at))
        return [dataclasses.replace(e, raw=None) for e in found]

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        with self._lock:
            return self._events.get(key)

    def set_processing(self, key: str, state: ProcessingState, error: str | None = None) -> None:
        """See :meth:`Store.set_processing`."""
        with self._lock:
            event = self._events.get(key)
            if event is None:
                raise KeyError(key)
            self._events[key] = dataclasses.replace(
                event, processing=state, error=error, attempts=event.attempts + 1
            )

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`."""
        with self._lock:
            doomed = [
                k
                for k, e in self._events.items()
                if e.received_at < before and e.processing is not ProcessingState.PENDING
            ]
            for key in doomed:
                del self._events[key]
        return len(doomed)
