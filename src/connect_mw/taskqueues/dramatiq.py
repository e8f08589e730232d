"""Processing on Dramatiq (RabbitMQ or Redis broker): ``DramatiqProcessing(broker)``.

::

    broker = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672")
    processing = DramatiqProcessing(broker)
    receiver = Receiver(hmac_keys=..., store="postgresql://...", processing=processing)

Run workers with ``dramatiq myapp.connect:broker``. Dramatiq acknowledges a message after
its actor returned, i.e. after the outcome is saved; the message of a worker that died
is delivered again. Each worker process runs the sweeper (a broker middleware starts it at
worker boot). See ``docs/task-queues.md``.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from .base import Sweeper, TaskQueueProcessing


class DramatiqProcessing(TaskQueueProcessing):
    """Run a receiver's callbacks in Dramatiq workers of ``broker``.

    ``broker`` defaults to Dramatiq's global broker. ``queue_name`` is the queue the
    messages go to; ``actor_name`` the actor's name (one per receiver); ``actor_options``
    more actor options (``time_limit``, ``priority`` …). Dramatiq's own retries are off
    (``max_retries=0``): the store's retry policy decides, and a task whose store call
    failed asks for its key again itself. Sweeper options: see
    :class:`~connect_mw.taskqueues.base.TaskQueueProcessing`.
    """

    kind = "dramatiq"

    def __init__(
        self,
        broker: dramatiq.Broker | None = None,
        *,
        queue_name: str = "connect_mw",
        actor_name: str = "connect_mw_process",
        actor_options: dict[str, Any] | None = None,
        sweep_every: float | None = 30.0,
        sweep_after: float = 60.0,
        retry_delay: float = 10.0,
    ) -> None:
        super().__init__(
            name=actor_name,
            sweep_every=sweep_every,
            sweep_after=sweep_after,
            retry_delay=retry_delay,
        )
        self.broker = broker if broker is not None else dramatiq.get_broker()
        options: dict[str, Any] = {"max_retries": 0, **(actor_options or {})}
        declare = dramatiq.actor(
            actor_name=actor_name, queue_name=queue_name, broker=self.broker, **options
        )
        self.actor: dramatiq.Actor[[str], None] = declare(self._task)
        self.broker.add_middleware(SweeperMiddleware(self))

    def _task(self, key: str) -> None:
        self.run(key)  # the outcome is logged; Dramatiq discards results without a backend

    def publish(self, key: str, delay: float | None = None) -> None:
        """Send the actor's message for ``key`` (after ``delay`` seconds)."""
        milliseconds = None if delay is None else max(0, round(delay * 1000))
        self.actor.send_with_options(args=(key,), delay=milliseconds)


class SweeperMiddleware(Middleware):
    """Runs a backend's sweeper in each Dramatiq worker process, from boot to shutdown."""

    def __init__(self, backend: DramatiqProcessing) -> None:
        self.backend = backend
        self._sweeper: Sweeper | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Start the sweeper (when the backend is bound to a receiver)."""
        if self._sweeper is None and self.backend._processor is not None:
            self._sweeper = self.backend.sweeper()
            self._sweeper.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Stop the sweeper."""
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
