"""The queue's health as the dashboard shows it: does the store answer, are workers behind.

The store is asked for its :class:`~connect_mw.stores.api.Backlog` (one grouped query in the
built-in stores). Worker lag is the age of the oldest pending event: a worker that keeps up
claims events within seconds, so a growing lag means no worker runs, or too few.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..stores.api import Backlog, Store, utcnow

#: Worker lag beyond which the dashboard reports the workers as behind.
DEFAULT_LAG_LIMIT = timedelta(minutes=5)


@dataclass(frozen=True)
class Health:
    """What the store answered (``backlog``), or the type of the error it raised instead."""

    backlog: Backlog | None
    error: str | None
    answered_in: timedelta
    checked_at: datetime
    lag_limit: timedelta = DEFAULT_LAG_LIMIT

    @property
    def lag(self) -> timedelta | None:
        """The age of the oldest pending event (``None`` when the store did not answer)."""
        return None if self.backlog is None else self.backlog.lag(self.checked_at)

    @property
    def state(self) -> str:
        """``ok``, ``behind`` (lag over the limit) or ``down`` (the store failed)."""
        lag = self.lag
        if lag is None:
            return "down"
        return "behind" if lag > self.lag_limit else "ok"


async def check(store: Store, lag_limit: timedelta = DEFAULT_LAG_LIMIT) -> Health:
    """Ask ``store`` for its backlog; a failure is reported by type, never raised.

    Only the exception's type is kept: its message may quote a connection string.
    """
    started = time.monotonic()
    try:
        backlog: Backlog | None = await store.offload(store.backlog)
        error = None
    except Exception as exc:  # any store failure is "down": shown, not raised
        backlog, error = None, type(exc).__name__
    answered_in = timedelta(seconds=time.monotonic() - started)
    return Health(backlog, error, answered_in, utcnow(), lag_limit)
