"""Workers: claim pending events from a queue and run their callbacks (deferred mode).

A :class:`Worker` is given a :class:`~connect_mw.processing.Processor` (the store, the
callbacks, the retry policy) and claims from the processor's queue. It runs in a thread
(:meth:`Worker.run`), on an event loop (:meth:`Worker.arun`), or as its own process
(``connect-mw worker``): the same loop, written once (:mod:`connect_mw.effects`). Several
workers may share one store: claims with leases make each event go to one worker at a time,
one event per envelope at a time, in DocuSign's order. A worker that dies leaves claims that
expire after ``lease_for`` and are claimed again, so callbacks run **at least once**;
``Delivery.key`` and ``Delivery.attempt`` let them make their side effects idempotent (see
``docs/guarantees.md``).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import socket
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import partial
from typing import Protocol

from .effects import Blocking, Gather, Steps, Wait, adrive, drive
from .errors import ConfigurationError
from .processing import Processor
from .retention import RetentionSchedule
from .routing import Router
from .stores.api import StoredEvent

log = logging.getLogger("connect_mw")


class Stop(Protocol):
    """What tells a worker loop to stop: a ``threading.Event`` or an ``anyio.Event``."""

    def is_set(self) -> bool:
        """Whether the loop should stop."""
        ...  # pragma: no cover (a protocol)


def worker_name() -> str:
    """A name unique to this process and call: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def check_callbacks(
    router: Router, what: str, *, drain: bool, register: str = "register callbacks"
) -> None:
    """Refuse a worker process that would only mark events processed, unless ``drain``.

    A worker whose ``router`` has no callbacks claims every pending event and marks it
    processed without running anything, so events meant for another process are lost to
    it; ``drain`` says that is the intent. ``what`` names the receiver in the message,
    ``register`` says how to give it callbacks.
    Both refusals raise :class:`~connect_mw.errors.ConfigurationError` (one line).
    """
    if router.empty and not drain:
        raise ConfigurationError(
            f"{what} has no callbacks: a worker would mark every pending event processed "
            f"without running anything; {register}, or give --drain to do exactly that"
        )
    if drain and not router.empty:
        raise ConfigurationError(
            f"--drain marks pending events processed without callbacks, but {what} has "
            "callbacks: leave --drain out to run them"
        )


class Worker:
    """Processes pending events with ``processor``, claiming from its queue.

    ``concurrency`` events (of different envelopes) are claimed and run at once;
    ``poll_interval`` is how long an idle worker waits before looking again (a
    :meth:`wake`, or a new event recorded in this process, cuts the wait short).
    ``around_batch`` is entered around each batch, in the thread or task that claims it
    (the Django integration closes stale database connections there, as Django does
    around a request). ``purge_every`` seconds (``0``: never) the loop also purges the
    store's expired events (:mod:`connect_mw.retention`).

    While the receiver has no callbacks at all, :meth:`loop` claims nothing (one WARNING
    says so) and the events stay pending until callbacks are registered: claiming them
    would only mark them processed, and callbacks added later would never see them.
    ``drain=True`` claims them anyway, to mark them processed on purpose (``connect-mw
    worker --drain``).
    """

    def __init__(
        self,
        processor: Processor,
        *,
        name: str | None = None,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        around_batch: Callable[[], AbstractContextManager[object]] = nullcontext,
        purge_every: float = 0,
        drain: bool = False,
    ) -> None:
        if concurrency < 1 or not 0 < poll_interval < math.inf:  # NaN passes "<= 0"
            raise ValueError("concurrency must be >= 1 and poll_interval > 0 and finite")
        self.processor = processor
        self.queue = processor.queue
        self.name = name or worker_name()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.around_batch = around_batch
        self.retention = RetentionSchedule(processor.store, purge_every)
        self.drain = drain
        self._told_idle = False

    def wake(self) -> None:
        """Look for work now instead of at the end of the poll interval (thread-safe)."""
        self.queue.wakeup.set()

    def batch(self, now: datetime | None = None) -> Steps[int]:
        """Claim one batch and process its events side by side; how many it held."""
        claim = partial(
            self.queue.claim,
            self.name,
            lease_for=self.processor.lease_for,
            limit=self.concurrency,
            now=now,
        )
        with self.around_batch():
            events: list[StoredEvent] = yield Blocking(claim, self.queue.offload)
            yield Gather([self.processor.steps(event, self.name) for event in events])
        return len(events)

    def loop(self, stop: Stop) -> Steps[None]:
        """Process batches until ``stop`` is set; the batch in flight is finished first."""
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        while not stop.is_set():
            yield from self.retention.steps()
            busy = 0
            if not self._without_callbacks():
                try:
                    busy = yield from self.batch()
                except Exception:
                    log.exception("worker %s could not claim events; retrying", self.name)
            if not busy and not stop.is_set():
                yield Wait(self.queue.wakeup, self.poll_interval)
        log.info("worker %s stopped", self.name)

    def _without_callbacks(self) -> bool:
        """Whether the loop must not claim: no callbacks and not ``drain`` (told once)."""
        if self.drain or not self.processor.router.empty:
            return False
        if not self._told_idle:
            self._told_idle = True
            log.warning(
                "worker %s claims nothing: the receiver has no callbacks, so events stay "
                "pending until callbacks are registered (drain=True marks them processed)",
                self.name,
            )
        return True

    def run_once(self, now: datetime | None = None) -> int:
        """Claim and process one batch in this thread; return how many events it held."""
        return drive(self.batch(now))

    async def arun_once(self, now: datetime | None = None) -> int:
        """Claim and process one batch on the event loop."""
        return await adrive(self.batch(now))

    def run(self, stop: Stop) -> None:
        """Run :meth:`loop` in this thread."""
        drive(self.loop(stop))

    async def arun(self, stop: Stop) -> None:
        """Run :meth:`loop` on the event loop."""
        await adrive(self.loop(stop))


class WorkerThread:
    """Runs a :class:`Worker` in a daemon thread, started once per process, stopped at exit."""

    def __init__(self, worker: Worker, shutdown_timeout: float = 30.0) -> None:
        self.worker = worker
        self.shutdown_timeout = shutdown_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

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
