"""The ``Store`` base class: the contract every storage backend fulfils.

A store does two things for the receiver, atomically: remember which deliveries it has
seen (by idempotency key) and fold each new one into its envelope's state. It also answers
the queries apps make. Business rules live in :mod:`connect_mw.state`; a store only calls
``fold`` inside its own transaction.

Subclass ``Store`` and implement its seven abstract methods to add a backend; run
:class:`connect_mw.testing.StoreContract` against it to check it behaves.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TypeVar

import anyio.to_thread

from ..model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat, Transition

_R = TypeVar("_R")
_S = TypeVar("_S", bound="Store")

#: How long deduplication records are kept by default: DocuSign retries about once a day,
#: at most ten times, so thirty days covers every retry with room to spare.
DEFAULT_RETENTION = timedelta(days=30)


class ProcessingState(str, enum.Enum):
    """Where a stored event is in callback processing."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One recorded delivery, as a store returns it.

    ``raw`` is the body exactly as received; listings leave it ``None`` to keep them light,
    :meth:`Store.get_event` fills it.
    """

    key: str
    envelope_id: str
    account_id: str | None
    event: str
    status: EnvelopeStatus | None
    format: PayloadFormat
    occurred_at: datetime | None
    received_at: datetime
    raw_size: int
    transitions: tuple[Transition, ...]
    processing: ProcessingState = ProcessingState.PENDING
    error: str | None = None
    attempts: int = 0
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What :meth:`Store.record` did.

    ``inserted`` is ``False`` for a duplicate, in which case ``transitions`` is empty and
    ``state`` is the envelope's current state. ``stale`` says the notification was older
    than the state it was folded into, so it changed no status.
    """

    key: str
    inserted: bool
    state: EnvelopeState
    transitions: tuple[Transition, ...] = ()
    stale: bool = False


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (stores stamp ``received_at`` with it)."""
    return datetime.now(timezone.utc)


class Store(abc.ABC):
    """Base class of every store. Thread-safe implementations are expected.

    Every abstract method may raise any exception when the backend is unreachable; the
    receiver answers 503 then, so DocuSign retries later. Async twins (``arecord`` …) run
    the sync method in a worker thread unless a backend overrides them natively.
    """

    retention: timedelta = DEFAULT_RETENTION

    @abc.abstractmethod
    def record(self, notification: Notification, raw: bytes, key: str) -> RecordOutcome:
        """Store the delivery under ``key`` unless that key exists; fold it; commit.

        Must be atomic: of concurrent calls with one key exactly one returns
        ``inserted=True``, enforced by the database (unique key, conditional insert),
        never by a read-then-write in Python. The event row and the folded
        :class:`EnvelopeState` (via :func:`connect_mw.state.fold`) are committed together,
        durably, before this returns: the receiver acknowledges right after.
        """

    @abc.abstractmethod
    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """The folded state of one envelope, or ``None`` when nothing was recorded for it."""

    @abc.abstractmethod
    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """Envelopes, most recently updated first, optionally only those in ``status``."""

    @abc.abstractmethod
    def events(self, envelope_id: str) -> list[StoredEvent]:
        """One envelope's stored events in DocuSign's time order (``raw`` left ``None``)."""

    @abc.abstractmethod
    def get_event(self, key: str) -> StoredEvent | None:
        """One stored event with its raw body, or ``None``."""

    @abc.abstractmethod
    def set_processing(self, key: str, state: ProcessingState, error: str | None = None) -> None:
        """Record the outcome of processing ``key``; increments ``attempts``."""

    @abc.abstractmethod
    def purge(self, before: datetime) -> int:
        """Delete events received before ``before``; return how many were deleted.

        Envelope states are kept. Pending events are kept whatever their age: they have not
        been processed yet.
        """

    # Shared behaviour --------------------------------------------------------------

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete events older than :attr:`retention`."""
        return self.purge((now or utcnow()) - self.retention)

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Async twins --------------------------------------------------------------------

    async def _in_thread(self, func: Callable[[], _R]) -> _R:
        return await anyio.to_thread.run_sync(func)

    async def arecord(self, notification: Notification, raw: bytes, key: str) -> RecordOutcome:
        """Async :meth:`record`."""
        return await self._in_thread(lambda: self.record(notification, raw, key))

    async def aget_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """Async :meth:`get_envelope`."""
        return await self._in_thread(lambda: self.get_envelope(envelope_id))

    async def alist_envelopes(
        self, *, status: str | None = None, limit: int = 100
    ) -> list[EnvelopeState]:
        """Async :meth:`list_envelopes`."""
        return await self._in_thread(lambda: self.list_envelopes(status=status, limit=limit))

    async def aevents(self, envelope_id: str) -> list[StoredEvent]:
        """Async :meth:`events`."""
        return await self._in_thread(lambda: self.events(envelope_id))

    async def aget_event(self, key: str) -> StoredEvent | None:
        """Async :meth:`get_event`."""
        return await self._in_thread(lambda: self.get_event(key))

    async def aset_processing(
        self, key: str, state: ProcessingState, error: str | None = None
    ) -> None:
        """Async :meth:`set_processing`."""
        await self._in_thread(lambda: self.set_processing(key, state, error))
