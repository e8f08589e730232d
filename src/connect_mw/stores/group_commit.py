"""Group commit: concurrent ``commit`` calls share one transaction and one fsync.

:class:`GroupCommit` queues :meth:`Store.commit` calls: calls that arrive while a
transaction is being written wait, and the next transaction writes all of them and commits
once, so concurrent requests share one commit (one fsync). Each call still returns only
after the commit that holds its own write. Calling threads take turns leading: the first to
find no leader writes everything queued itself, with no hand-off to another thread. From
async code the core runs each ``commit`` in a worker thread (:meth:`Store.offload`), so
concurrent requests meet here as concurrent threads. The store supplies the ``write``
function that writes one batch (``SQLiteStore._write_batch``, ``PostgresStore._write_batch``).

With a ``timeout``, no call waits for its turn longer than that: each gets a deadline when
submitted; a call still queued at its deadline leaves the queue with :class:`CommitTimeout`,
and the store's ``write`` bounds its own waits (a pooled connection) by the earliest
deadline of its batch (:func:`remaining`). So a call queued behind a batch that waited its
whole timeout for a connection fails with that batch, not after a second wait of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .api import Commit, EnvelopeState, StoredEvent


@dataclass(eq=False, slots=True)
class Pending:
    """One ``commit`` call in the group-commit queue: its arguments, then its result."""

    event: StoredEvent
    state: EnvelopeState | None
    version: int
    outcome: Commit | None = None
    error: BaseException | None = None
    done: bool = False
    #: ``time.monotonic()`` after which the call gives up (set by a group with a timeout).
    deadline: float | None = None

    def result(self) -> Commit:
        """What the commit did, or raise the error it failed with."""
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


class CommitTimeout(TimeoutError):
    """A ``commit`` call waited its whole timeout in the queue (the store answers 503)."""


def remaining(batch: Sequence[Pending]) -> float | None:
    """Seconds left until the earliest deadline in ``batch`` (never negative; ``None``: none)."""
    deadlines = [item.deadline for item in batch if item.deadline is not None]
    return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None


class GroupCommit:
    """Queue of ``commit`` calls written by ``write`` in batches, one transaction each.

    ``write(batch)`` must write every item of ``batch`` in one transaction, setting each
    item's ``outcome`` or ``error`` (one failing item must fail alone), and return only once
    the transaction is committed; if it raises, nothing of the batch is committed. With a
    ``timeout`` (seconds), a call waits at most that long in the queue, and ``write`` must
    bound its own waits by :func:`remaining` of its batch.
    """

    def __init__(
        self, write: Callable[[list[Pending]], None], *, timeout: float | None = None
    ) -> None:
        self._write = write
        self._timeout = timeout
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[Pending] = []
        self._leading = False  # a caller thread is writing a batch

    def submit(self, item: Pending) -> Commit:
        """Queue ``item``; the first thread to find no leader writes everything queued.

        Raises :class:`CommitTimeout` if the group's timeout passes while ``item`` is still
        queued (a call already in a batch being written waits for that batch's result).
        """
        if self._timeout is not None:
            item.deadline = time.monotonic() + self._timeout
        with self._cond:
            self._pending.append(item)
            while self._leading and not item.done:
                self._wait_for_turn(item)
            if item.done:
                return item.result()
            self._leading = True
            batch, self._pending = self._pending, []  # holds item: nobody took it
        try:
            self.write(batch)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return item.result()

    def _wait_for_turn(self, item: Pending) -> None:
        """Wait (holding the condition) until woken, or leave the queue at the deadline."""
        if item.deadline is None:
            self._cond.wait()
            return
        left = item.deadline - time.monotonic()
        if left > 0:
            self._cond.wait(left)
        elif item in self._pending:  # not taken into a batch: give up
            self._pending.remove(item)
            raise CommitTimeout(f"no turn to commit within {self._timeout} s")
        else:  # in the batch being written: its result is coming
            self._cond.wait()

    def write(self, batch: list[Pending]) -> None:
        """Write ``batch`` in one transaction, then wake the threads waiting on it."""
        try:
            self._write(batch)
        except BaseException as exc:  # nothing of the batch is committed
            for item in batch:
                item.outcome, item.error = None, exc
        with self._cond:
            for item in batch:
                item.done = True
            self._cond.notify_all()
