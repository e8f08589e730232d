"""Group commit: concurrent ``commit`` calls share one transaction and one fsync.

:class:`GroupCommit` queues :meth:`Store.commit` calls: calls that arrive while a
transaction is being written wait, and the next transaction writes all of them and commits
once, so concurrent requests share one commit (one fsync). Each call still returns only
after the commit that holds its own write. Calling threads take turns leading: the first to
find no leader writes everything queued itself, with no hand-off to another thread. From
async code the core runs each ``commit`` in a worker thread (:meth:`Store.offload`), so
concurrent requests meet here as concurrent threads. The store supplies the ``write``
function that writes one batch (``SQLiteStore._write_batch``, ``PostgresStore._write_batch``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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

    def result(self) -> Commit:
        """What the commit did, or raise the error it failed with."""
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


class GroupCommit:
    """Queue of ``commit`` calls written by ``write`` in batches, one transaction each.

    ``write(batch)`` must write every item of ``batch`` in one transaction, setting each
    item's ``outcome`` or ``error`` (one failing item must fail alone), and return only once
    the transaction is committed; if it raises, nothing of the batch is committed.
    """

    def __init__(self, write: Callable[[list[Pending]], None]) -> None:
        self._write = write
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[Pending] = []
        self._leading = False  # a caller thread is writing a batch

    def submit(self, item: Pending) -> Commit:
        """Queue ``item``; the first thread to find no leader writes everything queued."""
        with self._cond:
            self._pending.append(item)
            while self._leading and not item.done:
                self._cond.wait()
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
