"""Group commit: concurrent ``record`` calls share one transaction and one commit.

:class:`GroupCommit` queues ``record`` calls: calls that arrive while a transaction is being
written queue up, and the next transaction records all of them and commits once, so
concurrent requests share one commit (one fsync). Each call still returns only after the
commit that holds its record. Threads take turns leading (the first caller writes its batch
itself, no hand-off); on asyncio the call is queued for a writer thread and a future
awaited, instead of holding a worker thread per call. The store supplies the ``write``
function that records one batch (``SQLiteStore._write_batch``, ``PostgresStore._write_batch``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import anyio.to_thread

from ..model import Notification
from .base import Lease, RecordOutcome

#: A writer (or checkpointer) thread with nothing to do for this long exits (work restarts one).
IDLE_EXIT = 2.0


@dataclass(eq=False, slots=True)
class Pending:
    """One ``record`` call in the group-commit queue: its arguments, then its result."""

    notification: Notification
    raw: bytes
    key: str
    lease: Lease | None
    future: asyncio.Future[RecordOutcome] | None = None
    outcome: RecordOutcome | None = None
    error: BaseException | None = None
    done: bool = False

    def result(self) -> RecordOutcome:
        """The outcome, or raise the error this record failed with."""
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


def _settle_futures(items: list[Pending]) -> None:
    """On the event loop: hand each async caller its outcome (or error)."""
    for item in items:
        future = item.future
        if future is None or future.done():
            continue  # the caller was cancelled; its record stands, like a lost answer
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.result())


class GroupCommit:
    """Queue of ``record`` calls written by ``write`` in batches, one transaction each.

    ``write(batch)`` must record every item of ``batch`` in one transaction, setting each
    item's ``outcome`` or ``error`` (one failing item must fail alone), and return only once
    the transaction is committed; if it raises, nothing of the batch is committed.
    """

    def __init__(self, write: Callable[[list[Pending]], None], *, name: str) -> None:
        self._write = write
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[Pending] = []
        self._leading = False  # a caller thread is writing batches
        self.writer: threading.Thread | None = None  # the asyncio callers' writer
        self._closing = False

    def record(self, item: Pending) -> RecordOutcome:
        """Queue ``item``; the first thread to find no leader writes everything queued."""
        with self._cond:
            self._pending.append(item)
            while self._leading and not item.done:
                self._cond.wait()
            lead = not item.done
            self._leading = self._leading or lead
        if lead:
            self._lead(item)
        return item.result()

    def _lead(self, item: Pending) -> None:
        """Commit what is queued until ``item`` is committed, then let another thread lead."""
        try:
            while True:
                with self._cond:
                    if item.done:
                        return
                    batch, self._pending = self._pending, []
                    if not batch:  # the writer thread took it: wait for that commit
                        self._cond.wait()
                        continue
                self.commit(batch)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()

    async def arecord(self, item: Pending) -> RecordOutcome:
        """Queue ``item`` for the writer thread and await its commit.

        On asyncio the caller awaits a future, occupying no thread; on any other event loop
        (trio) :meth:`record` runs in a worker thread.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio
            return await anyio.to_thread.run_sync(self.record, item)
        future: asyncio.Future[RecordOutcome] = loop.create_future()
        item.future = future
        with self._cond:
            self._pending.append(item)
            if self.writer is None:
                self.writer = threading.Thread(target=self._write_loop, name=self._name)
                self.writer.daemon = True
                self.writer.start()
            self._cond.notify_all()
        return await future

    def _write_loop(self) -> None:
        """The asyncio callers' writer: commit whatever is queued, batch after batch."""
        while True:
            with self._cond:
                idle_until = time.monotonic() + IDLE_EXIT
                while not self._pending:
                    remaining = idle_until - time.monotonic()
                    if remaining <= 0 or self._closing:
                        self.writer = None
                        return
                    self._cond.wait(remaining)
                batch, self._pending = self._pending, []
            self.commit(batch)

    def commit(self, batch: list[Pending]) -> None:
        """Record ``batch`` in one transaction, then wake its callers."""
        try:
            self._write(batch)
        except BaseException as exc:  # nothing of the batch is committed
            for item in batch:
                item.outcome, item.error = None, exc
        waiting: dict[asyncio.AbstractEventLoop, list[Pending]] = {}
        with self._cond:
            for item in batch:
                item.done = True
                if item.future is not None:
                    waiting.setdefault(item.future.get_loop(), []).append(item)
            self._cond.notify_all()
        for loop, items in waiting.items():
            with suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle_futures, items)

    def close(self, timeout: float) -> None:
        """Let the writer thread finish what is queued (waiting up to ``timeout`` seconds)."""
        with self._cond:
            self._closing = True
            writer = self.writer
            self._cond.notify_all()
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout)
        with self._cond:
            self._closing = False  # a later call starts a writer again
