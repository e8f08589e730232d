"""``SQLiteStore``: the embedded default, on the standard library's ``sqlite3``.

WAL mode, schema created on first use and versioned with ``PRAGMA user_version`` (an older
file is upgraded in place when opened). With ``durable=True`` (the default) every commit is
fsynced (``synchronous=FULL``) before :meth:`SQLiteStore.commit` returns, so an
acknowledged event survives a power cut; ``durable=False`` uses ``synchronous=NORMAL``,
which survives a process crash but may lose the last commits on power loss.

One connection is shared by all threads behind a lock; several processes may open the
same file (SQLite's own locking serializes writers, ``busy_timeout`` bounds the wait).
Every write runs in a ``BEGIN IMMEDIATE`` transaction, so the work queue
(:class:`~connect_mw.queues.sql.SQLQueue`) can select and lease in one transaction that no
other process interleaves with.

``commit`` inserts the event ``ON CONFLICT (key) DO NOTHING`` (nothing inserted: a
duplicate), then writes the envelope row only if its ``version`` is the one loaded (an
``UPDATE ... WHERE version = ?``, or for version 0 an ``INSERT`` that does nothing if the row
exists); if that wrote nothing, the event row just inserted is deleted again in the same
transaction (a conflict). It goes through **group commit** (:mod:`.group_commit`): calls
that arrive while a transaction is being written queue up, and the next transaction writes
all of them (each in its own savepoint, so one failing call fails alone) and commits once,
so concurrent requests share one fsync. Each call still returns only after the commit that
holds its own write.

Large bodies stay cheap on the request path:

* On Python >= 3.11 a body of ``BLOB_IO_MIN`` bytes or more is inserted as
  ``zeroblob(size)`` into the ``body`` column (``raw`` is left empty) and written through
  incremental BLOB I/O (``Connection.blobopen``), straight from the caller's bytes: binding
  it would have ``sqlite3`` copy it once more and build the row from that copy, one to two
  bodies of extra memory. ``body`` is the row's last column, the only place SQLite keeps a
  zeroblob's zeros out of memory (the upgrade to schema 4 rebuilds the table to keep it
  there). Smaller bodies, and every body on Python 3.10, are bound into ``raw``; reads take
  ``body`` if set.
* WAL checkpoints run on a thread and connection of their own (a ``PASSIVE`` checkpoint
  once about ``CHECKPOINT_AFTER`` bytes were committed), not inside the commit of the
  request that crossed SQLite's threshold. The WAL stays bounded: the receiving
  connection keeps SQLite's automatic checkpoint, at ``wal_limit`` (default
  ``WAL_LIMIT``, 64 MiB) instead of 1000 pages, so should the background checkpoint
  fall behind, a commit checkpoints itself as before; and ``journal_size_limit`` shrinks
  the WAL file back to ``wal_limit`` when SQLite starts it over. A checkpoint copies
  committed pages only; when it runs does not change what a commit has made durable.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..queues.dialects import Dialect, Row
from .api import (
    Commit,
    EnvelopeState,
    StoredEvent,
    dump_state,
)
from .group_commit import GroupCommit, Pending
from .sql_store import INSERTED, SQLStore, event_params
from .sqlite_checkpoint import Checkpointer

# 2: index on connect_envelopes(updated_at). 3: connect_events.body, the last column (see
# _commit_one). 4: connect_events.revision (before body: the table is rebuilt),
# connect_envelopes.version, connect_markers, listings paged by (updated_at, envelope_id).
SCHEMA_VERSION = 4
_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS connect_events (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    key              TEXT NOT NULL UNIQUE,
    envelope_id      TEXT NOT NULL,
    account_id       TEXT,
    event            TEXT NOT NULL,
    status           TEXT,
    format           TEXT NOT NULL,
    occurred_at      TEXT,
    received_at      TEXT NOT NULL,
    order_at         TEXT NOT NULL,
    raw              BLOB NOT NULL,
    raw_size         INTEGER NOT NULL,
    transitions      TEXT NOT NULL,
    processing       TEXT NOT NULL DEFAULT 'pending',
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    lease_worker     TEXT,
    lease_until      TEXT,
    revision         INTEGER NOT NULL DEFAULT 0,
    body             BLOB
)"""
# Every statement is idempotent: an upgraded file runs them all again.
_SCHEMA = [
    _EVENTS_TABLE,
    "CREATE INDEX IF NOT EXISTS connect_events_envelope "
    "ON connect_events (envelope_id, processing, order_at)",
    "CREATE INDEX IF NOT EXISTS connect_events_due ON connect_events (processing, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS connect_events_received ON connect_events (received_at)",
    "CREATE INDEX IF NOT EXISTS connect_events_order ON connect_events (order_at)",
    """CREATE TABLE IF NOT EXISTS connect_envelopes (
    envelope_id  TEXT PRIMARY KEY,
    account_id   TEXT,
    status       TEXT,
    updated_at   TEXT,
    state        TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
)""",
    "DROP INDEX IF EXISTS connect_envelopes_updated",  # schema 2-3, by updated_at ascending
    "DROP INDEX IF EXISTS connect_envelopes_status",
    "CREATE INDEX IF NOT EXISTS connect_envelopes_listed "
    "ON connect_envelopes (updated_at DESC, envelope_id)",
    "CREATE INDEX IF NOT EXISTS connect_envelopes_status_listed "
    "ON connect_envelopes (status, updated_at DESC, envelope_id)",
    "CREATE TABLE IF NOT EXISTS connect_markers (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
]
#: The columns of connect_events, in table order.
_EVENT_TABLE_COLUMNS = [
    line.split()[0] for line in _EVENTS_TABLE.splitlines()[2:-1] if line.strip()
]
_INSERT_EVENT = (
    f"INSERT INTO connect_events ({INSERTED}, {{columns}}) "
    f"VALUES ({', '.join(':' + column for column in INSERTED.split(', '))}, {{values}}) "
    "ON CONFLICT (key) DO NOTHING"
)
#: The body bound into ``raw``; or room for it in ``body`` (``zeroblob(size)``, ``raw`` left
#: empty), written afterwards through BLOB I/O. SQLite keeps a zeroblob's zeros out of the
#: row it builds only when it is the row's last column, which ``body`` is.
_INSERT_BOUND = _INSERT_EVENT.format(columns="raw", values=":raw")
_INSERT_ROOM = _INSERT_EVENT.format(columns="raw, body", values="X'', zeroblob(:size)")
_CREATE_ENVELOPE = (
    "INSERT INTO connect_envelopes (account_id, status, updated_at, state, envelope_id, "
    "version) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (envelope_id) DO NOTHING"
)
_UPDATE_ENVELOPE = (
    "UPDATE connect_envelopes SET account_id = ?, status = ?, updated_at = ?, state = ?, "
    "version = version + 1 WHERE envelope_id = ? AND version = ?"
)
#: Default cap on the WAL, in bytes (``SQLiteStore(wal_limit=...)``).
WAL_LIMIT = 64 * 2**20
#: Bytes committed (an estimate) after which the background checkpoint runs: SQLite's own
#: default is 1000 pages, about 4 MB.
CHECKPOINT_AFTER = 4 * 2**20
#: What a commit writes besides its body (row, index and envelope pages), for that estimate.
_RECORD_OVERHEAD = 4 * 4096
#: Bodies this large are written through incremental BLOB I/O (Python >= 3.11), not bound.
BLOB_IO_MIN = 256 * 1024
#: Whether this Python's ``sqlite3`` has incremental BLOB I/O (``Connection.blobopen``).
BLOB_IO = sys.version_info >= (3, 11)
_DIALECT = Dialect.sqlite()


class SQLiteStore(SQLStore):
    """A store in one SQLite file (``":memory:"`` for a private in-memory database).

    ``wal_limit`` (bytes) caps the WAL: checkpoints normally run on a thread of their own
    once a few MB were committed, and a commit that finds the WAL larger than this (the
    background checkpoint fell behind) checkpoints itself, as SQLite does by default; the
    WAL file is also truncated back to this size when SQLite starts it over.
    """

    _BODY_COLUMNS, _NO_BODY = "raw, body", "raw = X'', body = NULL"

    def __init__(
        self,
        path: str | Path = "connect-mw.sqlite3",
        *,
        durable: bool = True,
        busy_timeout: float = 5.0,
        wal_limit: int = WAL_LIMIT,
    ) -> None:
        self.path = str(path)
        self.durable = durable
        self.busy_timeout = busy_timeout
        self.wal_limit = wal_limit
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._group = GroupCommit(self._write_batch)
        self._checkpointer: Checkpointer | None = None  # set up once the file is in WAL mode
        self._blob_io = BLOB_IO
        self._dialect = _DIALECT

    # Connections ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = self._connect()
            wal = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                _migrate(conn)
            if wal:  # not for ":memory:", which has no WAL (nor a file to share)
                self._checkpoint_in_background(conn)
            self._conn = conn
        return self._conn

    def _checkpoint_in_background(self, conn: sqlite3.Connection) -> None:
        """Leave checkpoints to a :class:`Checkpointer`; SQLite's own only past ``wal_limit``."""
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        conn.execute(f"PRAGMA wal_autocheckpoint={max(1, self.wal_limit // page_size)}")
        conn.execute(f"PRAGMA journal_size_limit={self.wal_limit}")
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(
                self._connect, every=CHECKPOINT_AFTER, name="connect-mw-sqlite-checkpoint"
            )

    @contextmanager
    def _transaction(self, written: Callable[[], int] = lambda: 0) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; ``written()`` estimates the bytes it wrote."""
        with self._lock, _immediate(self._connection()) as conn:
            yield conn
        if self._checkpointer is not None:
            self._checkpointer.wrote(_RECORD_OVERHEAD + written())

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The shared connection, under the lock."""
        with self._lock:
            yield self._connection()

    def _body(self, row: Row) -> bytes:
        """``body`` when it holds the event's body (BLOB I/O), else ``raw``."""
        value = row[-1] if row[-1] is not None else row[-2]
        assert isinstance(value, bytes)  # sqlite3 reads a BLOB as bytes
        return value

    # Commit (through SQLStore.commit and group commit) ----------------------------------

    def _write_batch(self, batch: list[Pending]) -> None:
        """Commit ``batch`` in one transaction, each commit in a savepoint of its own."""
        with self._transaction(lambda: _body_bytes(batch)) as conn:
            if len(batch) == 1:
                batch[0].outcome = self._commit_one(conn, batch[0])
                return
            for item in batch:
                conn.execute("SAVEPOINT connect_mw_commit")
                try:
                    item.outcome = self._commit_one(conn, item)
                except Exception as exc:
                    conn.execute("ROLLBACK TO connect_mw_commit")
                    item.error = exc
                conn.execute("RELEASE connect_mw_commit")

    def _commit_one(self, conn: sqlite3.Connection, item: Pending) -> Commit:
        """Insert the event if its key is new, then the state if the version is unchanged."""
        event, raw = item.event, _raw(item.event)
        blob = self._blob_io and len(raw) >= BLOB_IO_MIN  # else sqlite3 binds a copy of raw
        params = {**event_params(event, _DIALECT), "raw": raw, "size": len(raw)}
        inserted = conn.execute(_INSERT_ROOM if blob else _INSERT_BOUND, params)
        if not inserted.rowcount:  # the key is stored (maybe for another envelope)
            return Commit.DUPLICATE
        if item.state is not None and not _save_state(
            conn, event.envelope_id, item.state, item.version
        ):
            conn.execute("DELETE FROM connect_events WHERE seq = ?", (inserted.lastrowid,))
            return Commit.CONFLICT
        if blob:
            _write_blob(conn, inserted.lastrowid, raw)
        return Commit.INSERTED

    def close(self) -> None:
        """Stop the checkpoint thread, then close the connection (once a commit in flight ends)."""
        if self._checkpointer is not None:
            self._checkpointer.close(self.busy_timeout + 5.0)
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # the last connection to close checkpoints the WAL
                self._conn = None


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A ``BEGIN IMMEDIATE`` transaction on ``conn``: committed at the end, or rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file's schema up to ``SCHEMA_VERSION``, in one transaction."""
    with _immediate(conn):
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            _upgrade(conn)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]


def _upgrade(conn: sqlite3.Connection) -> None:
    """Create what is missing; bring a file of schema 1 to 3 to the current layout."""
    events = _columns(conn, "connect_events")
    if events and events != _EVENT_TABLE_COLUMNS:
        _rebuild_events(conn, events)
    envelopes = _columns(conn, "connect_envelopes")
    if envelopes and "version" not in envelopes:  # every stored envelope counts as version 1
        conn.execute("ALTER TABLE connect_envelopes ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    for statement in _SCHEMA:
        conn.execute(statement)
    conn.execute(
        "UPDATE connect_envelopes SET updated_at = ? WHERE updated_at IS NULL",
        (_DIALECT.listed_at(None),),
    )


def _rebuild_events(conn: sqlite3.Connection, old_columns: list[str]) -> None:
    """Copy connect_events into the current layout (``body`` must stay the last column).

    SQLite adds a column only at the end, so the table is made anew and its rows copied;
    ``seq`` values are kept, and the sequence goes on from where the old table's stood.
    """
    found = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'connect_events'")
    last = found.fetchone()
    conn.execute("ALTER TABLE connect_events RENAME TO connect_events_old")
    conn.execute(_EVENTS_TABLE)
    kept = ", ".join(c for c in _EVENT_TABLE_COLUMNS if c in old_columns)
    conn.execute(f"INSERT INTO connect_events ({kept}) SELECT {kept} FROM connect_events_old")
    conn.execute("DROP TABLE connect_events_old")  # and its indexes: _SCHEMA makes them again
    (copied,) = conn.execute("SELECT coalesce(max(seq), 0) FROM connect_events").fetchone()
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'connect_events'")
    conn.execute(
        "INSERT INTO sqlite_sequence (name, seq) VALUES ('connect_events', ?)",
        (max(int(copied), 0 if last is None else int(last[0])),),
    )


def _raw(event: StoredEvent) -> bytes:
    if event.raw is None:
        raise ValueError(f"commit needs the raw body of event {event.key!r}")
    return event.raw


def _body_bytes(batch: list[Pending]) -> int:
    """The bodies a committed batch wrote (for the checkpoint estimate)."""
    return sum(
        len(_raw(item.event)) + _RECORD_OVERHEAD
        for item in batch
        if item.outcome is Commit.INSERTED
    )


if sys.version_info >= (3, 11):

    def _write_blob(conn: sqlite3.Connection, rowid: int | None, raw: bytes) -> None:
        """Write ``raw`` into the ``zeroblob`` of event ``rowid``, without a copy."""
        assert rowid is not None
        with conn.blobopen("connect_events", "body", rowid) as blob:
            blob.write(raw)

else:  # pragma: no cover (BLOB_IO is False: never called)

    def _write_blob(conn: sqlite3.Connection, rowid: int | None, raw: bytes) -> None:
        """Incremental BLOB I/O needs Python >= 3.11."""
        raise NotImplementedError("Connection.blobopen needs Python >= 3.11")


def _save_state(
    conn: sqlite3.Connection, envelope_id: str, state: EnvelopeState, version: int
) -> bool:
    """Write the envelope row if its version is ``version`` (0: if there is none)."""
    values = (
        state.account_id,
        None if state.status is None else state.status.value,
        _DIALECT.listed_at(state.updated_at),
        dump_state(state),
        envelope_id,
    )
    if version == 0:
        return conn.execute(_CREATE_ENVELOPE, values).rowcount > 0
    return conn.execute(_UPDATE_ENVELOPE, (*values, version)).rowcount > 0
