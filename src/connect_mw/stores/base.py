"""The ``Store`` base class: the contract every storage backend fulfils.

A store does two things for the receiver, atomically: remember which deliveries it has
seen (by idempotency key) and fold each new one into its envelope's state. It also answers
the queries apps make. Business rules live in :mod:`connect_mw.state`; a store only calls
``fold`` inside its own transaction.

Subclass ``Store`` and implement its abstract methods to add a backend; run
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
    """Where a stored event is in callback processing.

    ``pending`` waits for its first attempt, ``failed`` for a retry at ``next_attempt_at``;
    ``processed`` and ``dead`` are final (``dead``: attempts exhausted, see ``error``).
    """

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"

    @property
    def is_final(self) -> bool:
        """Whether processing of the event is over (processed or dead)."""
        return self in (ProcessingState.PROCESSED, ProcessingState.DEAD)

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on an event: ``worker`` may process it until ``until``; then anyone may."""

    worker: str
    until: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One recorded delivery, as a store returns it.

    ``raw`` is the body exactly as received; listings leave it ``None`` to keep them light,
    :meth:`Store.get_event` and :meth:`Store.claim` fill it. ``attempts`` counts claims.
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
    next_attempt_at: datetime | None = None
    lease: Lease | None = None
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
    the sync method through ``_in_thread`` — a worker thread by default; a backend may
    override that hook (``MemoryStore`` runs inline, ``DjangoStore`` uses Django's
    ``sync_to_async``) or the twins themselves (``SQLiteStore.arecord`` awaits its writer).
    """

    retention: timedelta = DEFAULT_RETENTION

    @abc.abstractmethod
    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Store the delivery under ``key`` unless that key exists; fold it; commit.

        Must be atomic: of concurrent calls with one key exactly one returns
        ``inserted=True``, enforced by the database (unique key, conditional insert),
        never by a read-then-write in Python. A duplicate returns ``inserted=False`` with the
        current state of the notification's envelope (an empty one if it has none: a custom
        ``key_func`` may map two envelopes to one key). The event row (state ``pending``, due
        now) and the folded :class:`EnvelopeState` (via :func:`connect_mw.state.fold`) are
        committed together, durably, before this returns: the receiver acknowledges right
        after.
        With ``lease`` the new event is inserted already claimed (``attempts`` 1): inline
        processing uses this so no worker takes it at the same time.
        """

    @abc.abstractmethod
    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """Atomically claim up to ``limit`` events for ``worker``; return them with ``raw``.

        An event is claimable when all hold:

        1. its state is ``pending`` or ``failed`` and ``next_attempt_at <= now``;
        2. it holds no live lease (none, or ``lease.until < now``: its worker died);
        3. no other unfinished (``pending``/``failed``) event of the same envelope comes
           before it in DocuSign order — ``occurred_at`` (``received_at`` when unknown),
           then recording order; ``processed`` and ``dead`` events never block;
        4. no other event of the same envelope holds a live lease.

        So one envelope's events run one at a time, in order; envelopes run in parallel.
        Claiming sets the lease to ``now + lease_for`` and increments ``attempts``. The most
        overdue events are claimed first. Concurrent claimers never get the same event.
        """

    @abc.abstractmethod
    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """End ``worker``'s claim on ``key`` with ``state``; ``False`` if it no longer holds it.

        ``processed`` and ``dead`` are final; ``failed`` is retried at ``retry_at`` (at once
        when ``retry_at`` is ``None``);
        ``pending`` releases the claim untried (graceful shutdown): due at once, and the
        claim's ``attempts`` increment is undone. ``error`` replaces the stored error.
        The claim is held while ``lease.worker == worker``, even past ``lease.until``, until
        another worker claims the event.
        """

    @abc.abstractmethod
    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """Make ``key`` pending again, due now, with ``attempts`` reset (replay, dead letters).

        ``False`` when the key is unknown or the event is under a live lease.
        """

    @abc.abstractmethod
    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """The folded state of one envelope, or ``None`` when nothing was recorded for it."""

    @abc.abstractmethod
    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """Envelopes, most recently updated first, optionally only those in ``status``."""

    @abc.abstractmethod
    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """Stored events in DocuSign order, ``raw`` left ``None``.

        Optionally only one envelope's and/or only those in one processing state (``dead``
        lists the dead letters).
        """

    @abc.abstractmethod
    def get_event(self, key: str) -> StoredEvent | None:
        """One stored event with its raw body, or ``None``."""

    @abc.abstractmethod
    def purge(self, before: datetime) -> int:
        """Delete final (``processed``/``dead``) events received before ``before``.

        Returns how many were deleted. Envelope states are kept; unfinished events are kept
        whatever their age.
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

    async def arecord(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Async :meth:`record`."""
        return await self._in_thread(lambda: self.record(notification, raw, key, lease=lease))

    async def aget_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """Async :meth:`get_envelope`."""
        return await self._in_thread(lambda: self.get_envelope(envelope_id))

    async def alist_envelopes(
        self, *, status: str | None = None, limit: int = 100
    ) -> list[EnvelopeState]:
        """Async :meth:`list_envelopes`."""
        return await self._in_thread(lambda: self.list_envelopes(status=status, limit=limit))

    async def aevents(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """Async :meth:`events`."""
        return await self._in_thread(
            lambda: self.events(envelope_id, processing=processing, limit=limit)
        )

    async def aget_event(self, key: str) -> StoredEvent | None:
        """Async :meth:`get_event`."""
        return await self._in_thread(lambda: self.get_event(key))

    async def aclaim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """Async :meth:`claim`."""
        return await self._in_thread(
            lambda: self.claim(worker, lease_for=lease_for, limit=limit, now=now)
        )

    async def afinish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Async :meth:`finish`."""
        return await self._in_thread(
            lambda: self.finish(key, worker, state, error=error, retry_at=retry_at)
        )
