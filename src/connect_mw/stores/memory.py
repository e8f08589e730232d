"""``MemoryStore``: everything in dicts behind one lock. For tests and single-process demos."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from ..model import EnvelopeState, Notification
from ..state import fold
from .base import (
    Lease,
    ProcessingState,
    RecordOutcome,
    Store,
    StoredEvent,
    utcnow,
)

_UNFINISHED = (ProcessingState.PENDING, ProcessingState.FAILED)
_R = TypeVar("_R")


class MemoryStore(Store):
    """A store that keeps everything in process memory; nothing survives a restart.

    Its methods never block on I/O, so the async twins call them on the event loop instead
    of a worker thread (the thread hop cost a third of the memory store's throughput).
    """

    async def _in_thread(self, func: Callable[[], _R]) -> _R:
        return func()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, StoredEvent] = {}
        self._order: dict[str, tuple[datetime, int]] = {}
        self._envelopes: dict[str, EnvelopeState] = {}
        self._sequence = itertools.count()

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Insert-if-absent and fold under one lock."""
        n = notification
        with self._lock:
            current = self._envelopes.get(n.envelope_id)
            if key in self._events:
                state = current or EnvelopeState(n.envelope_id, n.account_id)
                return RecordOutcome(key=key, inserted=False, state=state)
            result = fold(current, n)
            received = utcnow()
            self._events[key] = StoredEvent(
                key=key,
                envelope_id=n.envelope_id,
                account_id=n.account_id,
                event=n.event,
                status=n.status,
                format=n.format,
                occurred_at=n.occurred_at,
                received_at=received,
                raw_size=len(raw),
                transitions=result.transitions,
                attempts=1 if lease else 0,
                next_attempt_at=received,
                lease=lease,
                raw=bytes(raw),
            )
            self._order[key] = (n.occurred_at or received, next(self._sequence))
            self._envelopes[n.envelope_id] = result.state
            return RecordOutcome(key, True, result.state, result.transitions, result.stale)

    def _claimable(self, event: StoredEvent, now: datetime) -> bool:
        if event.processing not in _UNFINISHED or (event.next_attempt_at or now) > now:
            return False
        order = self._order[event.key]
        for other in self._events.values():
            if other.envelope_id != event.envelope_id or other.processing not in _UNFINISHED:
                continue
            if other.lease is not None and other.lease.until >= now:
                return False  # this event's own live lease included
            if self._order[other.key] < order:
                return False
        return True

    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """See :meth:`Store.claim`."""
        now = now or utcnow()
        with self._lock:
            due = [e for e in self._events.values() if self._claimable(e, now)]
            due.sort(key=lambda e: (e.next_attempt_at or now, self._order[e.key]))
            claimed = []
            for event in due[:limit]:
                updated = dataclasses.replace(
                    event, lease=Lease(worker, now + lease_for), attempts=event.attempts + 1
                )
                self._events[event.key] = updated
                claimed.append(updated)
            return claimed

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Store.finish`."""
        with self._lock:
            event = self._events.get(key)
            if event is None or event.lease is None or event.lease.worker != worker:
                return False
            release = state is ProcessingState.PENDING
            self._events[key] = dataclasses.replace(
                event,
                processing=state,
                error=error,
                lease=None,
                next_attempt_at=retry_at if retry_at is not None and not release else utcnow(),
                attempts=event.attempts - 1 if release else event.attempts,
            )
            return True

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Store.requeue`."""
        now = now or utcnow()
        with self._lock:
            event = self._events.get(key)
            if event is None or (event.lease is not None and event.lease.until >= now):
                return False
            self._events[key] = dataclasses.replace(
                event,
                processing=ProcessingState.PENDING,
                attempts=0,
                next_attempt_at=now,
                lease=None,
            )
            return True

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

    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Store.events`."""
        with self._lock:
            found = [
                e
                for e in self._events.values()
                if (envelope_id is None or e.envelope_id == envelope_id)
                and (processing is None or e.processing is processing)
            ]
            found.sort(key=lambda e: self._order[e.key])
        return [dataclasses.replace(e, raw=None) for e in found[:limit]]

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        with self._lock:
            return self._events.get(key)

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`."""
        with self._lock:
            doomed = [
                k
                for k, e in self._events.items()
                if e.received_at < before and e.processing.is_final
            ]
            for key in doomed:
                del self._events[key]
                del self._order[key]
        return len(doomed)
