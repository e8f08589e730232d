"""Processing on a task queue: the part every backend (Celery, Dramatiq, RQ) shares.

The store stays the queue of record; the broker only carries doorbells. After a commit the
receiver's queue (:class:`BrokerQueue`) publishes a task message holding the event's key,
never its body. The task (:meth:`TaskQueueProcessing.run`) claims that one event through the
store's own queue (``claim(key=...)``), which still decides per-envelope order and leases,
runs its callbacks through the receiver's :class:`~connect_mw.processing.Processor` (retry
policy, dead letters, metrics) and settles it; then it enqueues the next event of the same
envelope, at the time it is due. A refused claim drops the message — the event is done, held
by a live worker, or waits for an earlier event whose task enqueues it when it finishes —
after checking that the envelope's next runnable event is enqueued (a claim can also lose a
momentary race for its envelope).

What a message cannot do, the **sweeper** does: every ``sweep_every`` seconds it enqueues
the first due event of each envelope that has been due for ``sweep_after`` seconds with no
live lease — an event whose message was never published (broker down at commit time), was
lost, or whose worker died (its lease expired). So nothing committed is ever lost to the
broker, and the broker holds no personal data.
"""

from __future__ import annotations

import abc
import enum
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from ..errors import ConfigurationError
from ..processing import Processor
from ..queues.api import Queue
from ..stores.api import (
    UNFINISHED,
    EventQuery,
    ProcessingState,
    Store,
    StoredEvent,
    dump_time,
    load_time,
    utcnow,
)
from ..worker import worker_name
from .outbox import Outbox

if TYPE_CHECKING:
    from ..receiver import Receiver

log = logging.getLogger("connect_mw")
_R = TypeVar("_R")

#: Events read per page by the sweeper.
PAGE = 500
#: A retry further away than this is left to the sweeper rather than held by the broker.
MAX_DELAY = timedelta(hours=1)


class Outcome(str, enum.Enum):
    """What one task run did with its key."""

    PROCESSED = "processed"  # callbacks ran and succeeded
    FAILED = "failed"  # callbacks failed; a retry is scheduled
    DEAD = "dead"  # attempts exhausted
    SKIPPED = "skipped"  # not claimable: done, held by a live worker, or waits its turn
    UNSAVED = "unsaved"  # ran, but the outcome could not be recorded; asked again later


class BrokerQueue(Queue):
    """A store's queue (``inner``) whose :meth:`notify` enqueues a task message.

    Claims, finishes and requeues are the store queue's; nothing wakes in-process workers,
    and the adapters start none by default (:attr:`in_process_workers`): the task queue's
    workers run the events.
    """

    in_process_workers = False

    def __init__(self, inner: Queue, backend: TaskQueueProcessing) -> None:
        super().__init__()
        self.inner = inner
        self.backend = backend
        self._unsaved: set[str] = set()
        self._lock = threading.Lock()

    def claim(
        self,
        worker: str,
        *,
        lease_for: timedelta,
        limit: int = 1,
        now: datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Queue.claim` (the store queue's rules)."""
        return self.inner.claim(worker, lease_for=lease_for, limit=limit, now=now, key=key)

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Queue.finish`; remembers a failure to record it for the task."""
        try:
            return self.inner.finish(key, worker, state, error=error, retry_at=retry_at)
        except Exception:
            with self._lock:
                self._unsaved.add(worker)
            raise

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Queue.requeue`; a requeued event is enqueued at once."""
        done = self.inner.requeue(key, now=now)
        if done:
            self.notify(key)
        return done

    def notify(self, key: str) -> None:
        """Enqueue a task message for ``key`` (from a background thread: never blocks)."""
        self.backend.outbox.put(key)

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Blocking calls run the way the store queue's do."""
        return await self.inner.offload(call)

    def bind(self, processor: Processor) -> None:
        """Give the backend the processor that runs this queue's events (the receiver does)."""
        self.backend.bind_processor(processor)

    def outcome_lost(self, worker: str) -> bool:
        """Whether recording ``worker``'s outcome failed (asked once, then forgotten)."""
        with self._lock:
            if worker in self._unsaved:
                self._unsaved.discard(worker)
                return True
            return False


class TaskQueueProcessing(abc.ABC):
    """A processing backend: ``Receiver(processing=backend)``.

    Calling it with the receiver's store builds the receiver's :class:`BrokerQueue`, which
    the receiver then binds to its processor (``Queue.bind``): the task runs with it. A
    backend serves one receiver. :meth:`bind` does the same by hand and stays available
    (binding the same receiver again changes nothing).

    ``sweep_every`` (seconds, ``None`` for no sweeper thread) and ``sweep_after`` (how long
    an event must have been due before the sweeper enqueues it) tune the sweeper run in the
    task queue's worker processes; ``retry_delay`` is how long a task whose store call
    failed waits before its key is tried again. Subclasses publish (:meth:`publish`) and
    register the task that calls :meth:`run`.
    """

    #: Names this kind of backend in worker names and logs.
    kind = "taskqueue"

    def __init__(
        self,
        *,
        name: str,
        sweep_every: float | None = 30.0,
        sweep_after: float = 60.0,
        retry_delay: float = 10.0,
    ) -> None:
        if sweep_every is not None and sweep_every <= 0:
            raise ConfigurationError("sweep_every must be positive (or None: no sweeper)")
        if sweep_after < 0 or retry_delay < 0:
            raise ConfigurationError("sweep_after and retry_delay must not be negative")
        self.name = name
        self.sweep_every = sweep_every
        self.sweep_after = timedelta(seconds=sweep_after)
        self.retry_delay = retry_delay
        self.outbox = Outbox(self.publish, name=f"connect-mw-{self.kind}-outbox")
        self._queue: BrokerQueue | None = None
        self._processor: Processor | None = None

    # Wiring ----------------------------------------------------------------------------

    def __call__(self, store: Store) -> BrokerQueue:
        """The receiver's work queue: ``store``'s own queue, publishing on notify."""
        if self._queue is not None:
            raise ConfigurationError(
                f"this {type(self).__name__} already serves a receiver; create one per "
                "receiver, each with its own name"
            )
        self._queue = BrokerQueue(store.queue(), self)
        return self._queue

    def bind(self, receiver: Receiver) -> None:
        """Run tasks with ``receiver``'s processor (the receiver built with this backend)."""
        self.bind_processor(receiver.processor)

    def bind_processor(self, processor: Processor) -> None:
        """Run tasks with ``processor``, whose queue must be this backend's."""
        if self._queue is None or processor.queue is not self._queue:
            raise ConfigurationError(
                f"bind the receiver built with processing=<this {type(self).__name__}>"
            )
        self._processor = processor

    @property
    def processor(self) -> Processor:
        """The bound processor; a :class:`ConfigurationError` before :meth:`bind`."""
        if self._processor is None:
            raise ConfigurationError(
                f"{type(self).__name__} {self.name!r} is not bound: build the receiver with "
                "processing=backend"
            )
        return self._processor

    @property
    def queue(self) -> BrokerQueue:
        """The receiver's queue built by this backend."""
        if self._queue is None:
            raise ConfigurationError(f"no receiver was built with this {type(self).__name__}")
        return self._queue

    # The broker side -------------------------------------------------------------------

    @abc.abstractmethod
    def publish(self, key: str, delay: float | None = None) -> None:
        """Send one task message for ``key``, to run after ``delay`` seconds (blocking)."""

    def close(self, timeout: float = 5.0) -> None:
        """Publish the keys still in the outbox (up to ``timeout`` s) and stop its thread."""
        self.outbox.close(timeout)

    # The task --------------------------------------------------------------------------

    def run(self, key: str) -> Outcome:
        """The task body: claim ``key`` if its envelope's order allows, process, settle.

        Then enqueue the envelope's next event. Re-raises a store failure after asking for
        the key again later (the task queue shows the failure; nothing is lost).
        """
        processor = self.processor
        worker = f"{self.kind}:{worker_name()}"
        try:
            events = processor.queue.claim(worker, lease_for=processor.lease_for, key=key)
        except Exception:
            self._later(key, self.retry_delay)
            raise
        if not events:
            self._recheck(key)
            return Outcome.SKIPPED
        event = events[0]
        try:
            state = processor.process(event, worker)
        except Exception:
            # The claim holds until its lease ends; ask again when it has.
            self._later(key, processor.lease_for.total_seconds())
            raise
        if self.queue.outcome_lost(worker):
            self._later(key, processor.lease_for.total_seconds())
            return Outcome.UNSAVED
        self.enqueue_next(event.envelope_id)
        return Outcome(state.value)

    def _recheck(self, key: str) -> None:
        """After a refused claim, make sure the envelope's next event is enqueued.

        A claim by key is refused when the event may not run, but also when, at that very
        moment, another claimer or a commit held its envelope (the SQL queue skips a locked
        envelope; the store queue gives a contested claim back). The event may then be the
        one the envelope waits for, and no other message would come for it.
        """
        try:
            event = self.processor.store.get_event(key)
        except Exception:
            log.warning("could not look up key=%s after a refused claim", key)
            return
        if event is not None and not event.processing.is_final:
            self.enqueue_next(event.envelope_id)

    def enqueue_next(self, envelope_id: str, now: datetime | None = None) -> str | None:
        """Enqueue the envelope's first unfinished event, at its due time; its key or ``None``.

        ``None`` when nothing is unfinished, an event of the envelope is leased (its worker
        enqueues the next one when it finishes), or the first is due too far ahead (the
        sweeper takes it then). Failures are logged: the sweeper covers them.
        """
        now = now or utcnow()
        query = EventQuery(envelope_id=envelope_id, processing=UNFINISHED)
        try:
            unfinished = self.processor.store.events(query)
            if not unfinished or any(e.leased_at(now) for e in unfinished):
                return None
            head = unfinished[0]
            due = head.next_attempt_at or now
            if due - now > MAX_DELAY:
                return None
            delay = (due - now).total_seconds()
            self.publish(head.key, delay if delay > 0 else None)
        except Exception:
            log.warning("could not enqueue the next event of envelope=%s", envelope_id)
            return None
        return head.key

    def _later(self, key: str, delay: float) -> None:
        try:
            self.publish(key, delay)
        except Exception:
            log.warning("could not re-enqueue key=%s; the sweeper will", key)

    # The sweeper -----------------------------------------------------------------------

    @property
    def marker(self) -> str:
        """The store marker that holds when this backend's sweep last ran."""
        return f"connect_mw.taskqueues.{self.name}.swept_at"

    def sweep(self, now: datetime | None = None) -> int:
        """Enqueue each envelope's first event due for ``sweep_after`` and not leased.

        Returns how many keys were published. A publish failure ends the sweep (the broker
        is down: the next sweep tries again).
        """
        now = now or utcnow()
        query = EventQuery(processing=UNFINISHED, due_by=now - self.sweep_after, limit=PAGE)
        seen: set[str] = set()
        sent = 0
        while True:
            page = self.processor.store.events(query)
            for event in page:
                if event.envelope_id in seen:
                    continue
                seen.add(event.envelope_id)
                if not event.leased_at(now):
                    self.publish(event.key)
                    sent += 1
            if len(page) < PAGE:
                break
            query = EventQuery(
                processing=UNFINISHED, due_by=query.due_by, after=page[-1].position, limit=PAGE
            )
        if sent:
            log.info("sweeper enqueued %d overdue events", sent)
        return sent

    def sweep_if_due(self, now: datetime | None = None) -> int:
        """:meth:`sweep`, unless a sweeper of this backend ran within ``sweep_every``.

        The time of the last sweep is a store marker, so of many worker processes about one
        sweeps per interval (two at worst, which only duplicates messages). A store that
        keeps no markers is swept by every sweeper.
        """
        now = now or utcnow()
        store = self.processor.store
        interval = timedelta(seconds=0.9 * (self.sweep_every or 0))
        try:
            last = load_time(store.read_marker(self.marker))
            if last is not None and now - interval < last <= now:
                return 0
            store.write_marker(self.marker, dump_time(now))
        except ConfigurationError:
            pass
        return self.sweep(now)

    def sweeper(self) -> Sweeper:
        """A sweeper thread for this backend (started by the worker hooks)."""
        return Sweeper(self)


class Sweeper:
    """Runs :meth:`TaskQueueProcessing.sweep_if_due` every ``sweep_every`` s in a thread."""

    def __init__(self, backend: TaskQueueProcessing) -> None:
        self.backend = backend
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once; nothing when the backend has no ``sweep_every``)."""
        if self._thread is not None or self.backend.sweep_every is None:
            return
        self._thread = threading.Thread(
            target=self.run, name="connect-mw-sweeper", args=(self._stop,), daemon=True
        )
        self._thread.start()

    def run(self, stop: threading.Event) -> None:
        """Sweep now, then every ``sweep_every`` s until ``stop`` is set.

        Errors are logged and the next round tries again.
        """
        every = self.backend.sweep_every or 30.0
        while True:
            try:
                self.backend.sweep_if_due()
            except Exception as exc:
                log.warning("sweep failed (%s: %s); trying again", type(exc).__name__, exc)
            if stop.wait(every):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for the sweep in progress (up to ``timeout`` s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
