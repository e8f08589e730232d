"""``EncryptedStore``: encryption at rest for any store, by sealing before it stores.

It wraps another store and hands it only sealed personal data: the raw body (which holds
every name, email, IP, tab value and document) is sealed whole; in the folded envelope
state the subject, the void and decline reasons and the recipients' names and emails are
replaced by sealed text; and an event's ``error`` (a callback's failure text, which may
quote anything) is sealed whenever it is written. Ids, statuses, times and sizes stay
clear, so ordering, claims, keyset pages and queries work unchanged; ``raw_size`` is the
plain body's size. Reads open what they return. Works with every backend (the contract
suite runs against it) and rotates keys through the
:class:`~connect_mw.encryption.Encryptor`'s key ids: values sealed with an older key still
open, new ones are sealed with the primary key.

Its work queue is the wrapped store's own (a single SQL statement, a Lua script …) behind a
thin :class:`SealingQueue` that seals the error a worker reports and opens what it claims.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from ..encryption import Encryptor
from ..queues.api import Queue
from .api import (
    Backlog,
    Commit,
    EnvelopeQuery,
    EnvelopeState,
    EventQuery,
    ProcessingState,
    Progress,
    Snapshot,
    Store,
    StoredEvent,
)

_R = TypeVar("_R")


class EncryptedStore(Store):
    """Seals personal data with ``encryptor`` before ``inner`` stores it."""

    def __init__(self, inner: Store, encryptor: Encryptor) -> None:
        self.inner = inner
        self.encryptor = encryptor
        self.retention = inner.retention

    # Sealing ------------------------------------------------------------------------

    def seal_text(self, text: str | None) -> str | None:
        """``text`` sealed (``None`` stays ``None``)."""
        return None if text is None else self.encryptor.seal_str(text)

    def open_text(self, text: str | None) -> str | None:
        """The inverse of :meth:`seal_text`; text stored before encryption passes through."""
        return None if text is None else self.encryptor.open_str(text)

    def _map_state(
        self, state: EnvelopeState, change: Callable[[str | None], str | None]
    ) -> EnvelopeState:
        recipients = tuple(
            msgspec.structs.replace(r, email=change(r.email), name=change(r.name))
            for r in state.recipients
        )
        return msgspec.structs.replace(
            state,
            subject=change(state.subject),
            void_reason=change(state.void_reason),
            decline_reason=change(state.decline_reason),
            recipients=recipients,
        )

    def seal_state(self, state: EnvelopeState) -> EnvelopeState:
        """A folded state with its personal fields sealed."""
        return self._map_state(state, self.seal_text)

    def open_state(self, state: EnvelopeState) -> EnvelopeState:
        """A stored state with its sealed fields opened."""
        return self._map_state(state, self.open_text)

    def seal_event(self, event: StoredEvent) -> StoredEvent:
        """An event with its body and error sealed; ``raw_size`` stays the plain size."""
        raw = None if event.raw is None else self.encryptor.seal(event.raw)
        return dataclasses.replace(event, raw=raw, error=self.seal_text(event.error))

    def open_event(self, event: StoredEvent) -> StoredEvent:
        """A stored event with its body (when read) and error opened."""
        raw = None if not event.raw else self.encryptor.open(event.raw)
        return dataclasses.replace(event, raw=raw, error=self.open_text(event.error))

    # The six primitives -----------------------------------------------------------

    def load(self, envelope_id: str) -> Snapshot | None:
        """See :meth:`Store.load`; the state comes back opened."""
        snapshot = self.inner.load(envelope_id)
        if snapshot is None:
            return None
        return Snapshot(self.open_state(snapshot.state), snapshot.version)

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        """See :meth:`Store.commit`: the inner store commits the sealed event and state."""
        sealed = None if state is None else self.seal_state(state)
        return self.inner.commit(self.seal_event(event), sealed, version)

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`; body and error come back opened."""
        event = self.inner.get_event(key)
        return None if event is None else self.open_event(event)

    def events(self, query: EventQuery) -> list[StoredEvent]:
        """See :meth:`Store.events`: the inner store's answer, errors opened."""
        return [self.open_event(e) for e in self.inner.events(query)]

    def envelopes(self, query: EnvelopeQuery) -> list[EnvelopeState]:
        """See :meth:`Store.envelopes`: the inner store's answer, states opened."""
        return [self.open_state(s) for s in self.inner.envelopes(query)]

    def update_event(self, key: str, revision: int, progress: Progress | None) -> bool:
        """See :meth:`Store.update_event`; the error is sealed before it is written."""
        if progress is not None:
            progress = dataclasses.replace(progress, error=self.seal_text(progress.error))
        return self.inner.update_event(key, revision, progress)

    # Delegated ------------------------------------------------------------------------

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge` (the inner store's, with its bulk statement if it has one)."""
        return self.inner.purge(before)

    def envelope_counts(self) -> dict[str | None, int]:
        """The wrapped store's counts: statuses are stored in the clear."""
        return self.inner.envelope_counts()

    def backlog(self) -> Backlog:
        """The wrapped store's backlog: processing states and times are stored in the clear."""
        return self.inner.backlog()

    def queue(self) -> Queue:
        """The inner store's queue, sealing the errors it writes (see :class:`SealingQueue`)."""
        return SealingQueue(self.inner.queue(), self)

    def read_marker(self, name: str) -> str | None:
        """See :meth:`Store.read_marker` (markers are not personal data: kept clear)."""
        return self.inner.read_marker(name)

    def write_marker(self, name: str, value: str) -> None:
        """See :meth:`Store.write_marker`."""
        self.inner.write_marker(name, value)

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Blocking calls run the way the inner store's do."""
        return await self.inner.offload(call)

    def probe(self, timeout: float) -> None:
        """The wrapped store's :meth:`~connect_mw.stores.api.Store.probe`."""
        self.inner.probe(timeout)

    def close(self) -> None:
        """Close the inner store."""
        self.inner.close()


class SealingQueue(Queue):
    """A wrapped store's queue behind :class:`EncryptedStore`.

    The inner queue writes the event's ``error`` itself (in one statement, for the SQL and
    Redis queues), so :meth:`finish` seals the error before handing it over; claimed events
    come back with their error opened. The claim rules are the inner queue's.
    """

    def __init__(self, inner: Queue, store: EncryptedStore) -> None:
        super().__init__()
        self.inner = inner
        self.store = store
        self.wakeup = inner.wakeup  # one event: a wake-up of either reaches the workers

    def claim(
        self,
        worker: str,
        *,
        lease_for: timedelta,
        limit: int = 1,
        now: datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Queue.claim`; errors of earlier attempts come back opened."""
        claimed = self.inner.claim(worker, lease_for=lease_for, limit=limit, now=now, key=key)
        return [self.store.open_event(e) for e in claimed]

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Queue.finish`; ``error`` is sealed before the inner queue writes it."""
        sealed = self.store.seal_text(error)
        return self.inner.finish(key, worker, state, error=sealed, retry_at=retry_at)

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Queue.requeue` (the stored error is kept as it is: sealed)."""
        return self.inner.requeue(key, now=now)

    def notify(self, key: str) -> None:
        """See :meth:`Queue.notify`: the inner queue's (it may wake other processes too)."""
        self.inner.notify(key)

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Blocking calls run the way the inner queue's do."""
        return await self.inner.offload(call)
