"""Retention on a schedule: purge final events' raw bodies, keep their keys (tombstones).

A :class:`RetentionSchedule` runs :meth:`~connect_mw.stores.api.Store.purge_expired` every
``every`` seconds from a worker's loop (``connect-mw worker``, the worker ``serve`` runs, a
``Receiver.processing()`` worker). Written once as effects (:mod:`connect_mw.effects`), so
the same step runs in a thread or on an event loop. A :class:`RetentionThread` runs it where
no worker runs (``serve`` without one). A failed purge is logged and tried again at the next
turn: retention never stops a worker. ``connect-mw purge`` runs one by hand (or from cron,
when callbacks run on a task queue instead of a worker).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from .effects import Blocking, Steps, drive
from .errors import ConfigurationError
from .stores.api import Store

log = logging.getLogger("connect_mw")

#: How often a worker purges by default: hourly (the purge itself is one bulk statement).
DEFAULT_PURGE_EVERY = 3600.0
#: The longest interval between purges: a year (longer ones overflow a thread's wait).
MAX_PURGE_EVERY = 365 * 24 * 3600.0
#: The longest retention: a century (``now - retention`` must stay a date).
MAX_RETENTION = timedelta(days=36_500)


def checked_purge_every(every: float) -> float:
    """``every`` if it is a finite number of seconds from 0 (off) to a year.

    ``ConfigurationError`` otherwise: an infinite interval would kill the retention thread
    at its first wait, and NaN would turn retention off without a word.
    """
    if isinstance(every, bool) or not isinstance(every, (int, float)):
        raise ConfigurationError(f"purge_every must be a number of seconds, got {every!r}")
    if not (math.isfinite(every) and 0 <= every <= MAX_PURGE_EVERY):
        raise ConfigurationError(
            f"purge_every must be from 0 (off) to {MAX_PURGE_EVERY:g} seconds, got {every!r}"
        )
    return float(every)


def checked_retention(retention: timedelta) -> timedelta:
    """``retention`` if it is a ``timedelta`` from 0 to :data:`MAX_RETENTION`."""
    if not isinstance(retention, timedelta):
        raise ConfigurationError(f"retention must be a timedelta, got {retention!r}")
    if not timedelta(0) <= retention <= MAX_RETENTION:
        raise ConfigurationError(
            f"retention must be from 0 to {MAX_RETENTION.days} days, got {retention}"
        )
    return retention


class RetentionSchedule:
    """Purges ``store``'s expired final events every ``every`` seconds (``0``: never).

    The first purge runs at the first check (a worker's start); ``clock`` is monotonic
    seconds (injectable for tests). ``every`` must be finite, from 0 to a year
    (``ConfigurationError``).
    """

    def __init__(
        self, store: Store, every: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.every = checked_purge_every(every)
        self.clock = clock
        self._next: float | None = None

    @property
    def enabled(self) -> bool:
        """Whether this schedule ever purges."""
        return self.every > 0

    def due(self) -> bool:
        """Whether a purge is due now."""
        return self.enabled and (self._next is None or self.clock() >= self._next)

    def steps(self) -> Steps[int | None]:
        """Purge once if due: how many events became tombstones (``None``: not due, failed)."""
        if not self.due():
            return None
        self._next = self.clock() + self.every
        try:
            purged: int = yield Blocking(self.store.purge_expired, self.store.offload)
        except Exception:
            log.exception("retention: purge failed; trying again in %.0f s", self.every)
            return None
        if purged:
            log.info(
                "retention: purged the bodies of %d event(s) older than %s (keys kept)",
                purged,
                self.store.retention,
            )
        return purged


class RetentionThread:
    """Runs a :class:`RetentionSchedule` in a daemon thread, for a process with no worker.

    One purge at :meth:`start`, then one every ``every`` seconds until :meth:`stop`.
    """

    def __init__(self, store: Store, every: float) -> None:
        self.schedule = RetentionSchedule(store, every)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start purging; ``False`` (and no thread) when the schedule is off."""
        if not self.schedule.enabled:
            return False
        self._thread = threading.Thread(target=self._run, name="connect-mw-retention", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        while True:
            drive(self.schedule.steps())
            if self._stop.wait(self.schedule.every):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the purge in flight, if any (waiting at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
