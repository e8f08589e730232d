"""WAL checkpoints for ``SQLiteStore``, off the request path.

:class:`Checkpointer` copies the WAL back into the database file from its own connection
and thread (a ``PASSIVE`` checkpoint, which never blocks the writer), once a few MB were
committed, so a commit no longer pays for the checkpoint SQLite would otherwise run inside
it. The store keeps SQLite's own automatic checkpoint as a cap (see ``SQLiteStore``). Group
commit, the store's other half of committing, is :mod:`.group_commit`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

log = logging.getLogger("connect_mw")
#: The checkpoint thread exits after this long with nothing to do (the next commit restarts it).
IDLE_EXIT = 2.0


class Checkpointer:
    """``PASSIVE`` WAL checkpoints on a connection and thread of their own.

    The store reports what each commit wrote (:meth:`wrote`, an estimate in bytes); once
    ``every`` bytes add up, the thread is woken to checkpoint. A ``PASSIVE`` checkpoint waits
    for no lock: it copies what it can while the store keeps committing, and the store's next
    transaction after a complete one starts the WAL over from its beginning. ``connect``
    opens the thread's connection (it runs in that thread, which closes it when idle).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, every: int, name: str) -> None:
        self._connect = connect
        self.every = every
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._owed = 0  # estimated bytes committed since the last checkpoint was asked for
        self._wanted = False
        self._thread: threading.Thread | None = None
        self._closing = False
        #: Checkpoints run so far, and the last one's ``(busy, wal frames, checkpointed)``.
        self.runs = 0
        self.last: tuple[int, int, int] | None = None

    def wrote(self, size: int) -> None:
        """Count ``size`` more bytes committed; wake the thread once ``every`` add up."""
        with self._cond:
            self._owed += size
            if self._owed < self.every or self._closing:
                return
            self._owed, self._wanted = 0, True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name)
                self._thread.daemon = True
                self._thread.start()
            self._cond.notify_all()

    def _next(self) -> bool:
        """Wait for a checkpoint to be wanted: False when idle too long or closing."""
        with self._cond:
            idle_until = time.monotonic() + IDLE_EXIT
            while not self._wanted:
                remaining = idle_until - time.monotonic()
                if remaining <= 0 or self._closing:
                    self._thread = None
                    return False
                self._cond.wait(remaining)
            self._wanted = False
            if self._closing:  # closing the store's connection checkpoints anyway
                self._thread = None
                return False
            return True

    def _loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while self._next():
                try:
                    conn = conn or self._connect()
                    self.checkpoint(conn)
                except sqlite3.Error:  # SQLite's automatic checkpoint remains the cap
                    log.warning("background WAL checkpoint failed", exc_info=True)
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """Run one ``PASSIVE`` checkpoint on ``conn`` and note its result."""
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.last = (int(row[0]), int(row[1]), int(row[2]))
        self.runs += 1

    def close(self, timeout: float) -> None:
        """Stop the thread (it closes its connection), waiting up to ``timeout`` seconds."""
        with self._cond:
            self._closing = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            self._closing, self._owed, self._wanted = False, 0, False
