"""Processing on Celery (RabbitMQ or Redis broker): ``CeleryProcessing(app)``.

::

    app = Celery("myapp", broker="amqp://guest:guest@127.0.0.1:5672//")
    processing = CeleryProcessing(app)
    receiver = Receiver(hmac_keys=..., store="postgresql://...", processing=processing)

Run workers with ``celery -A myapp.connect worker``. The task (``connect_mw.process`` by
default) acknowledges its message only after it returns (``acks_late``), i.e. after the
outcome is saved, and a message whose worker process died is delivered again
(``reject_on_worker_lost``). Each worker process that runs tasks also runs the sweeper
(:mod:`connect_mw.taskqueues.base`). See ``docs/task-queues.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery, Task, signals
from celery._state import get_current_app
from celery.concurrency.prefork import TaskPool as PreforkPool

from .base import Sweeper, TaskQueueProcessing

#: The default retry of one publish: a blip of the broker is retried, an outage is not
#: waited out (the sweeper enqueues the event when the broker is back).
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5}


class CeleryProcessing(TaskQueueProcessing):
    """Run a receiver's callbacks in Celery workers of ``app``.

    ``queue`` is the Celery queue the task messages go to (the app's default queue when
    ``None``); ``task_name`` the name the task is registered under (one per receiver);
    ``task_options`` more options for ``app.task`` (``time_limit``, ``rate_limit`` …);
    ``publish_retry`` the retry policy of one publish. Sweeper options: see
    :class:`~connect_mw.taskqueues.base.TaskQueueProcessing`.
    """

    kind = "celery"

    def __init__(
        self,
        app: Celery,
        *,
        queue: str | None = None,
        task_name: str = "connect_mw.process",
        task_options: dict[str, Any] | None = None,
        publish_retry: dict[str, float] | None = None,
        sweep_every: float | None = 30.0,
        sweep_after: float = 60.0,
        retry_delay: float = 10.0,
    ) -> None:
        super().__init__(
            name=task_name,
            sweep_every=sweep_every,
            sweep_after=sweep_after,
            retry_delay=retry_delay,
        )
        self.app = app
        self.queue_name = queue
        self.task_name = task_name
        self.publish_retry = PUBLISH_RETRY if publish_retry is None else publish_retry
        # The extra options make mypy pick no overload: the decorator's type is stated.
        register: Callable[[Callable[[str], str]], Task[[str], str]] = app.task(
            name=task_name,
            acks_late=True,
            reject_on_worker_lost=True,
            ignore_result=True,
            max_retries=0,
            shared=False,
            **(task_options or {}),
        )
        self.task = register(self._task)
        self._sweeper: Sweeper | None = None
        signals.worker_ready.connect(self._on_worker_ready, weak=False)
        signals.worker_process_init.connect(self._on_process_init, weak=False)
        signals.worker_process_shutdown.connect(self._on_shutdown, weak=False)
        signals.worker_shutting_down.connect(self._on_shutdown, weak=False)

    def _task(self, key: str) -> str:
        return self.run(key).value

    def publish(self, key: str, delay: float | None = None) -> None:
        """Send the task for ``key`` (after ``delay`` seconds) with ``app.send_task``."""
        self.app.send_task(
            self.task_name,
            args=(key,),
            queue=self.queue_name,
            countdown=delay,
            retry=True,
            retry_policy=self.publish_retry,
        )

    # Worker hooks: the sweeper runs where tasks run (prefork: in each child process, never
    # in the parent, whose state later children would inherit by fork).

    def _on_worker_ready(self, sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is self.app and not isinstance(
            getattr(sender, "pool", None), PreforkPool
        ):
            self._start_sweeper()

    def _on_process_init(self, **_: Any) -> None:
        if get_current_app() is self.app:
            self._start_sweeper()

    def _start_sweeper(self) -> None:
        if self._sweeper is None and self._processor is not None:
            self._sweeper = self.sweeper()
            self._sweeper.start()

    def _on_shutdown(self, **_: Any) -> None:
        # Sent from a signal handler: only ask the sweeper to stop; never wait for it there.
        if self._sweeper is not None:
            self._sweeper.stop(timeout=0)
            self._sweeper = None
