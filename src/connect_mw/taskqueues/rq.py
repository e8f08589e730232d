"""Processing on RQ (Redis): ``RQProcessing(queue, receiver="myapp.connect:receiver")``.

::

    processing = RQProcessing(Queue("connect-mw", connection=Redis()),
                              receiver="myapp.connect:receiver")
    receiver = Receiver(hmac_keys=..., store="postgresql://...", processing=processing)

RQ runs functions by import path, so a job is ``connect_mw.taskqueues.rq.process`` with the
receiver's import path and the event's key: the worker imports the receiver from there.
Run workers with ``python -m connect_mw.taskqueues.rq myapp.connect:receiver``: an RQ
``SimpleWorker`` on the receiver's queue with RQ's scheduler (for retries at their time)
and the sweeper. RQ removes a job from its queue when a worker takes it; a worker that dies
leaves the event leased in the store, and the sweeper enqueues it again once the lease has
expired. See ``docs/task-queues.md``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.worker import BaseWorker

from ..errors import ConfigurationError
from .base import TaskQueueProcessing

#: The job function, by the import path RQ stores in each job.
PROCESS = "connect_mw.taskqueues.rq.process"
#: How long a job may wait in its queue before RQ drops it (the sweeper has long since
#: enqueued its event again if it was still pending).
QUEUED_TTL = int(timedelta(days=1).total_seconds())
#: How long RQ keeps a failed job (a store outage during the task) for inspection.
FAILURE_TTL = int(timedelta(days=7).total_seconds())

#: Seconds before a worker that lost Redis is replaced.
RESTART_DELAY = 2.0

log = logging.getLogger("connect_mw")
_resolved: dict[str, RQProcessing] = {}
_resolving = threading.Lock()


class RQProcessing(TaskQueueProcessing):
    """Run a receiver's callbacks in RQ workers of ``queue``.

    ``receiver`` is the import path of the receiver built with this backend
    (``"package.module:attribute"``), which workers import. ``job_timeout`` (seconds, RQ's
    default when ``None``) bounds one job. Sweeper options: see
    :class:`~connect_mw.taskqueues.base.TaskQueueProcessing`.
    """

    kind = "rq"

    def __init__(
        self,
        queue: Queue,
        *,
        receiver: str,
        job_timeout: int | None = None,
        sweep_every: float | None = 30.0,
        sweep_after: float = 60.0,
        retry_delay: float = 10.0,
    ) -> None:
        if ":" not in receiver:
            raise ConfigurationError(f"receiver must read 'module:attribute', not {receiver!r}")
        super().__init__(
            name=f"rq.{queue.name}",
            sweep_every=sweep_every,
            sweep_after=sweep_after,
            retry_delay=retry_delay,
        )
        self.rq_queue = queue
        self.receiver_path = receiver
        self.job_timeout = job_timeout

    def publish(self, key: str, delay: float | None = None) -> None:
        """Enqueue the job for ``key`` (after ``delay`` seconds: RQ's scheduler runs it)."""
        options: dict[str, Any] = {
            "job_timeout": self.job_timeout,
            "ttl": QUEUED_TTL,
            "result_ttl": 0,
            "failure_ttl": FAILURE_TTL,
            "description": f"connect-mw {key}",
        }
        if delay:
            self.rq_queue.enqueue_in(
                timedelta(seconds=delay), PROCESS, self.receiver_path, key, **options
            )
        else:
            self.rq_queue.enqueue(PROCESS, self.receiver_path, key, **options)

    def worker(self, *, name: str | None = None) -> BaseWorker:
        """An RQ ``SimpleWorker`` on this backend's queue (jobs run in its own process)."""
        return SimpleWorker([self.rq_queue], name=name, connection=self.rq_queue.connection)

    def work(self, *, burst: bool = False, name: str | None = None) -> bool:
        """Run :meth:`worker` with RQ's scheduler and the sweeper, until stopped.

        A worker that quits because Redis went away is replaced after ``RESTART_DELAY``
        seconds. ``burst`` stops when the queue is empty. Returns whether any job ran.
        """
        sweeper = self.sweeper()
        sweeper.start()
        try:
            while True:
                try:
                    return self.worker(name=name).work(burst=burst, with_scheduler=True)
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    # An RQ worker quits on a Redis error outside its dequeue loop (a
                    # heartbeat during an outage): start a new one once Redis may be back.
                    log.warning(
                        "the RQ worker lost Redis (%s: %s); starting it again in %.0f s",
                        type(exc).__name__,
                        exc,
                        RESTART_DELAY,
                    )
                    try:
                        time.sleep(RESTART_DELAY)
                    except StopRequested:
                        return False
        finally:
            sweeper.stop()


def resolve(receiver: str) -> RQProcessing:
    """The :class:`RQProcessing` of the receiver at import path ``receiver``, bound to it."""
    with _resolving:
        found = _resolved.get(receiver)
        if found is not None:
            return found
        module_name, _, attribute = receiver.partition(":")
        target = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
        backend = getattr(getattr(target, "queue", None), "backend", None)
        if not isinstance(backend, RQProcessing):
            raise ConfigurationError(f"{receiver} is not a receiver built with RQProcessing")
        backend.bind(target)  # type: ignore[arg-type]  # bound already: checks it is this one
        _resolved[receiver] = backend
        return backend


def process(receiver: str, key: str) -> str:
    """The RQ job: run ``key``'s callbacks with the receiver at import path ``receiver``."""
    return resolve(receiver).run(key).value


def main(argv: list[str] | None = None) -> int:
    """``python -m connect_mw.taskqueues.rq RECEIVER``: an RQ worker with the sweeper."""
    parser = argparse.ArgumentParser(
        prog="python -m connect_mw.taskqueues.rq",
        description="Run an RQ worker (with RQ's scheduler and the connect-mw sweeper) for "
        "a receiver built with RQProcessing.",
    )
    parser.add_argument("receiver", help="the receiver's import path, module:attribute")
    parser.add_argument("--name", help="the RQ worker's name")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    args = parser.parse_args(argv)
    resolve(args.receiver).work(burst=args.burst, name=args.name)
    return 0


if __name__ == "__main__":
    # Run the imported module's main: classes of this ``__main__`` copy are not the ones the
    # receiver's module imported.
    from connect_mw.taskqueues.rq import main as _main

    raise SystemExit(_main())
