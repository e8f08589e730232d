"""Workers: claim pending events from the store and run their callbacks (deferred mode).

A :class:`Worker` runs in a thread (``run``), on an event loop (``arun``), or as its own
process (``connect-mw worker``). Several may share one store: claims with leases make each
event go to one worker at a time, one event per envelope at a time, in DocuSign's order. A
worker that dies leaves claims that expire after ``lease_for`` and are claimed again, so
callbacks run **at least once**; ``Delivery.key`` and ``Delivery.attempt`` let them make
their side effects idempotent (see ``docs/guarantees.md``).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from .stores.base import ProcessingState, StoredEvent

if TYPE_CHECKING:
    from .receiver import Receiver

log = logging.getLogger("connect_mw")


def worker_name() -> str:
    """A name unique to this process and call: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Processes a receiver's pending events: its store, callbacks and retry policy.

    ``concurrency`` events (of different envelopes) are claimed and run at once;
    ``poll_interval`` is how long an idle worker waits before looking again (a
    :meth:`wake` cuts the wait short).
    """

    def __init__(
        self,
        receiver: Receiver,
        *,
        name: str | None = None,
        concurrency: int = 4,
        poll_interval: float = 1.0,
    ) -> None:
        if concurrency < 1 or poll_interval <= 0:
            raise ValueError("concurrency must be >= 1 and poll_interval > 0")
        self.receiver = receiver
        self.name = name or worker_name()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self._wakeup = threading.Event()

    def wake(self) -> None:
        """Look for work now instead of at the end of the poll interval (thread-safe)."""
        self._wakeup.set()

    def _claim(self, now: datetime | None = None) -> list[StoredEvent]:
        r = self.receiver
        return r.store.claim(self.name, lease_for=r.lease_for, limit=self.concurrency, now=now)

    def _process(self, event: StoredEvent) -> ProcessingState:
        return self.receiver.processor.process(event, self.name)

    def run_once(self, now: datetime | None = None) -> int:
        """Claim and process one batch; return how many events it held."""
        events = self._claim(now)
        if len(events) == 1:
            self._process(events[0])
        elif events:
            with ThreadPoolExecutor(len(events), thread_name_prefix="connect-mw") as pool:
                list(pool.map(self._process, events))
        return len(events)

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set; the batch in flight is finished first."""
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("worker %s could not claim events; retrying", self.name)
                busy = 0
            if not busy:
                self._wakeup.wait(self.poll_interval)
                self._wakeup.clear()
        log.info("worker %s stopped", self.name)

    async def arun_once(self) -> int:
        """Async :meth:`run_once`: the batch's events run as concurrent tasks."""
        r = self.receiver
        events = await r.store.aclaim(self.name, lease_for=r.lease_for, limit=self.concurrency)
        async with anyio.create_task_group() as group:
            for event in events:
                group.start_soon(r.processor.aprocess, event, self.name)
        return len(events)

    async def arun(self, stop: anyio.Event) -> None:
        """Process batches on the event loop until ``stop`` is set."""
        log.info("worker %s started on the event loop", self.name)
        while not stop.is_set():
            try:
                busy = await self.arun_once()
            except Exception:
                log.exception("worker %s could not claim events; retrying", self.name)
                busy = 0
            if not busy and not stop.is_set():
                await anyio.to_thread.run_sync(
                    self._wakeup.wait, self.poll_interval, abandon_on_cancel=True
                )
                self._wakeup.clear()
        log.info("worker %s stopped", self.name)


class WorkerThread:
    """Runs a :class:`Worker` in a daemon thread, started once per process, stopped at exit."""

    def __init__(self, worker: Worker, shutdown_timeout: float = 30.0) -> None:
        self.worker = worker
        self.shutdown_timeout = shutdown_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        worker.receiver.listeners.append(worker.wake)

    def ensure_started(self) -> None:
        """Start the thread unless it already runs in this process."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.worker.run, args=(self._stop,), name="connect-mw-worker", daemon=True
            )
            self._thread.start()
            self._pid = os.getpid()
            atexit.register(self.stop)

    def stop(self) -> None:
        """Stop claiming, let the batch in flight finish (bounded), and return."""
        self._stop.set()
        self.worker.wake()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(self.shutdown_timeout)
