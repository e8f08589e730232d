"""The work queue: who processes which stored event, when, and how it ended.

A :class:`Queue` hands pending events to workers under a lease, in DocuSign order within an
envelope and one event per envelope at a time, and records how each attempt ended. Its
rules, which every implementation follows:

An event is **claimable** at ``now`` when all hold:

1. its state is ``pending`` or ``failed`` and ``next_attempt_at <= now``;
2. it holds no live lease (none, or ``lease.until < now``: its worker died);
3. no other unfinished (``pending``/``failed``) event of the same envelope comes before it
   in DocuSign order (:attr:`~connect_mw.stores.api.StoredEvent.position`); ``processed``
   and ``dead`` events never block;
4. no other event of the same envelope holds a live lease.

Claiming sets the lease to ``now + lease_for`` and increments ``attempts``; concurrent
claimers never get the same event, nor two events of one envelope. Which envelopes'
events are claimed first is the implementation's choice.

Implementations: :class:`~connect_mw.queues.store_queue.StoreQueue` (the rules in Python over
any store's compare-and-set, the default), :class:`~connect_mw.queues.sql.SQLQueue` (one SQL
text for SQLite and PostgreSQL) and the Redis store's Lua queue.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread

from ..stores.api import ProcessingState, StoredEvent

if TYPE_CHECKING:
    from ..processing import Processor

_R = TypeVar("_R")


class Queue(abc.ABC):
    """Claims, leases, finishes and requeues stored events. Blocking, thread-safe methods."""

    #: Whether the receiving process runs a worker on this queue unless told otherwise (the
    #: adapters' ``run_worker=None``, :meth:`~connect_mw.Receiver.wants_worker`). ``False``
    #: when other processes run its events: a task queue's
    #: :class:`~connect_mw.taskqueues.BrokerQueue`.
    in_process_workers: bool = True

    def __init__(self) -> None:
        #: Set by :meth:`notify`; in-process workers wait on it between polls.
        self.wakeup = threading.Event()

    @abc.abstractmethod
    def claim(
        self,
        worker: str,
        *,
        lease_for: timedelta,
        limit: int = 1,
        now: datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent]:
        """Claim up to ``limit`` claimable events for ``worker`` (see the module rules).

        With ``key``, only that event, and only if it is claimable (inline processing, a
        task queue's task). Under contention a claim by key may return nothing even for an
        event that is claimable: when, at that moment, another claimer or a commit holds
        its envelope (the SQL queue skips a locked envelope rather than wait; the store
        queue gives back a claim that lost a compare-and-set race). A caller that claims
        by key must therefore not conclude that the event is done or someone else's:
        something must ask again (a worker's next poll; a task re-checks its envelope).
        The events are returned as claimed, ``raw`` left ``None``.
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
        when ``None``); ``pending`` releases the claim untried (graceful shutdown): due at
        once, and the claim's ``attempts`` increment undone. ``error`` replaces the stored
        error. The claim is held while ``lease.worker == worker``, even past ``lease.until``,
        until another worker claims the event.
        """

    @abc.abstractmethod
    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """Make ``key`` pending again, due now, ``attempts`` reset (replay, dead letters).

        ``False`` when the key is unknown, the event is under a live lease, or it is a
        tombstone (retention dropped its body: nothing is left to process).
        """

    def notify(self, key: str) -> None:
        """Say that ``key`` was just recorded: wakes this process's waiting workers.

        Called on the request path, after the commit and before the answer, so it must
        never block nor raise for a service being down: an implementation that talks to
        another system hands the key to a thread (the task queues' outbox) and lets the
        store, where the event is already pending, cover a notice that is lost.
        """
        self.wakeup.set()

    def bind(self, processor: Processor) -> None:
        """Called once by the receiver with the processor that runs this queue's events.

        Nothing by default; a queue whose events run elsewhere keeps it (a task queue's
        :class:`~connect_mw.taskqueues.BrokerQueue` hands it to its backend's tasks).
        """

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Run one blocking call of this queue from async code (a worker thread by default)."""
        return await anyio.to_thread.run_sync(call)
