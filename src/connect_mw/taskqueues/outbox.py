"""``Outbox``: task messages published from a background thread, off the request path.

The receiver tells its queue about each new commit (:meth:`Queue.notify`) from the request
path, on the event loop under ASGI. Publishing to a broker there would make every webhook
answer wait on the broker, and a broker outage would stall it. So notify only puts the key
here and one thread per process publishes it. Nothing is lost when that fails or the process
dies first: the event is committed and pending in the store, and the sweeper enqueues it
(:mod:`connect_mw.taskqueues.base`).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger("connect_mw")

#: How long the outbox skips publishing after a failure (the broker is likely down).
PAUSE_AFTER_FAILURE = 5.0
#: Keys waiting to be published at most; more are left to the sweeper.
CAPACITY = 10_000
#: How long the process waits at exit for the keys still waiting.
EXIT_TIMEOUT = 5.0


class Outbox:
    """Publishes keys with ``publish`` in a daemon thread, started on first use per process.

    After a failed publish it skips publishing for ``pause`` seconds (the keys it skips are
    pending in the store; the sweeper enqueues them), so a broker outage costs one failed
    connection per ``pause``, not one per event.
    """

    def __init__(
        self,
        publish: Callable[[str], None],
        *,
        capacity: int = CAPACITY,
        pause: float = PAUSE_AFTER_FAILURE,
        name: str = "connect-mw-outbox",
    ) -> None:
        self._publish = publish
        self._capacity = capacity
        self._pause = pause
        self._name = name
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._keys: queue.Queue[str | None] = queue.Queue(capacity)
        self._paused_until = 0.0
        self._skipped = 0
        self.published = 0

    def put(self, key: str) -> None:
        """Publish ``key`` soon; never blocks, never raises."""
        self._ensure_started()
        try:
            self._keys.put_nowait(key)
        except queue.Full:
            log.warning("task outbox full: key=%s left pending for the sweeper", key)

    def flush(self, timeout: float) -> bool:
        """Wait until every key put so far is published (or skipped); ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._keys.all_tasks_done:
            while self._keys.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._keys.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = EXIT_TIMEOUT) -> None:
        """Publish what is waiting (up to ``timeout`` seconds), then stop the thread."""
        if self._pid != os.getpid():
            return
        self.flush(timeout)
        self._keys.put(None)

    def _ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits the parent's queue and locks but not its thread.
            self._keys = queue.Queue(self._capacity)
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            thread.start()
            self._pid = os.getpid()
            atexit.register(self.close)

    def _run(self) -> None:
        keys = self._keys
        while True:
            key = keys.get()
            try:
                if key is None:
                    return
                self._send(key)
            finally:
                keys.task_done()

    def _send(self, key: str) -> None:
        if time.monotonic() < self._paused_until:
            self._skipped += 1
            return
        if self._skipped:
            log.warning("task outbox: %d keys were left to the sweeper", self._skipped)
            self._skipped = 0
        try:
            self._publish(key)
        except Exception as exc:
            self._paused_until = time.monotonic() + self._pause
            log.warning(
                "could not enqueue key=%s (%s: %s); it stays pending in the store and the "
                "sweeper will enqueue it; not publishing for %.0f s",
                key,
                type(exc).__name__,
                exc,
                self._pause,
            )
        else:
            self.published += 1
