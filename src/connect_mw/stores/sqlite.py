"""``SQLiteStore``: the embedded default, on the standard library's ``sqlite3``.

WAL mode, schema created on first use and versioned with ``PRAGMA user_version``. With
``durable=True`` (the default) every commit is fsynced (``synchronous=FULL``) before
``record`` returns, so an acknowledged event survives a power cut; ``durable=False`` uses
``synchronous=NORMAL``, which survives a process crash but may lose the last commits on
power loss.

One connection is shared by all threads behind a lock; several processes may open the
same file (SQLite's own locking serializes writers, ``busy_timeout`` bounds the wait).
Every write runs in a ``BEGIN IMMEDIATE`` transaction, so a claim's select-then-update
cannot interleave with another process's.

``record`` uses **group commit** (:mod:`.group_commit`): calls that arrive while a
transaction is being written queue up, and the next transaction records all of them (each
in its own savepoint, so one failing call fails alone) and commits once, so concurrent
requests share one fsync. Each call still returns only after the commit that holds its
record.

Large bodies stay cheap on the request path:

* On Python >= 3.11 a body of ``BLOB_IO_MIN`` bytes or more is inserted as
  ``zeroblob(size)`` into the ``body`` column (schema 3; ``raw`` is left empty) and
  written through incremental BLOB I/O (``Connection.blobopen``), straight from the
  caller's bytes: binding it would have ``sqlite3`` copy it once more and build the row
  from that copy, one to two bodies of extra memory. ``body`` is the row's last column,
  the only place SQLite keeps a zeroblob's zeros out of memory. Smaller bodies, and every
  body on Python 3.10, are bound into ``raw`` as before; reads take ``body`` if set.
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
from datetime import datetime, timedelta
from pathlib import Path

from ..model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat
from ..state import fold
from .base import Lease, ProcessingState, RecordOutcome, Store, StoredEvent, utcnow
from .codec import dump_state, dump_time, dump_transitions, load_state, load_time, load_transitions
from .group_commit import GroupCommit, Pending
from .sqlite_checkpoint import Checkpointer

# 2: index on connect_envelopes(updated_at). 3: connect_events.body, the last column (see
# _record_one), added by _migrate to an older file. Every statement of _SCHEMA is
# idempotent, so an older file is brought up to date by running the whole script again.
SCHEMA_VERSION = 3
_SCHEMA = """
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
    body             BLOB
);
CREATE INDEX IF NOT EXISTS connect_events_envelope
    ON connect_events (envelope_id, processing, order_at);
CREATE INDEX IF NOT EXISTS connect_events_due ON connect_events (processing, next_attempt_at);
CREATE INDEX IF NOT EXISTS connect_events_received ON connect_events (received_at);
CREATE TABLE IF NOT EXISTS connect_envelopes (
    envelope_id  TEXT PRIMARY KEY,
    account_id   TEXT,
    status       TEXT,
    updated_at   TEXT,
    state        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS connect_envelopes_updated
    ON connect_envelopes (updated_at, envelope_id);
CREATE INDEX IF NOT EXISTS connect_envelopes_status
    ON connect_envelopes (status, updated_at);
"""
_EVENT_COLUMNS = (
    "key, envelope_id, account_id, event, status, format, occurred_at, received_at, "
    "raw_size, transitions, processing, error, attempts, next_attempt_at, lease_worker, "
    "lease_until"
)
_UNFINISHED = "('pending', 'failed')"
_CLAIMABLE = f"""
SELECT e.key FROM connect_events e
WHERE e.processing IN {_UNFINISHED} AND e.next_attempt_at <= :now
  AND NOT EXISTS (
    SELECT 1 FROM connect_events o
    WHERE o.envelope_id = e.envelope_id AND o.processing IN {_UNFINISHED}
      AND (o.lease_until >= :now OR o.order_at < e.order_at
           OR (o.order_at = e.order_at AND o.seq < e.seq)))
ORDER BY e.next_attempt_at, e.order_at, e.seq
LIMIT :limit
"""
_INSERT_EVENT = (
    "INSERT INTO connect_events (key, envelope_id, account_id, event, status, format, "
    "occurred_at, received_at, order_at, raw_size, transitions, attempts, "
    "next_attempt_at, lease_worker, lease_until, {columns}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {values}) ON CONFLICT (key) DO NOTHING"
)
#: The body bound into ``raw``; or room for it in ``body`` (``zeroblob(size)``, ``raw`` left
#: empty), written afterwards through BLOB I/O. SQLite keeps a zeroblob's zeros out of the
#: row it builds only when it is the row's last column, which ``body`` is.
_INSERT_BOUND = _INSERT_EVENT.format(columns="raw", values="?")
_INSERT_ROOM = _INSERT_EVENT.format(columns="raw, body", values="X'', zeroblob(?)")
#: Default cap on the WAL, in bytes (``SQLiteStore(wal_limit=...)``).
WAL_LIMIT = 64 * 2**20
#: Bytes committed (an estimate) after which the background checkpoint runs: SQLite's own
#: default is 1000 pages, about 4 MB.
CHECKPOINT_AFTER = 4 * 2**20
#: What a record writes besides its body (row, index and envelope pages), for that estimate.
_RECORD_OVERHEAD = 4 * 4096
#: Bodies this large are written through incremental BLOB I/O (Python >= 3.11), not bound.
BLOB_IO_MIN = 256 * 1024
#: Whether this Python's ``sqlite3`` has incremental BLOB I/O (``Connection.blobopen``).
BLOB_IO = sys.version_info >= (3, 11)


class SQLiteStore(Store):
    """A store in one SQLite file (``":memory:"`` for a private in-memory database).

    ``wal_limit`` (bytes) caps the WAL: checkpoints normally run on a thread of their own
    once a few MB were committed, and a commit that finds the WAL larger than this (the
    background checkpoint fell behind) checkpoints itself, as SQLite does by default; the
    WAL file is also truncated back to this size when SQLite starts it over.
    """

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
        self._group = GroupCommit(self._write_batch, name="connect-mw-sqlite-writer")
        self._checkpointer: Checkpointer | None = None  # set up once the file is in WAL mode
        self._blob_io = BLOB_IO

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
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if self._checkpointer is not None:
            self._checkpointer.wrote(_RECORD_OVERHEAD + written())

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Record through group commit (see the module docstring).

        Returns once the transaction holding this record is committed (fsynced when
        durable). Each record reads the state, folds, inserts-if-absent and upserts.
        """
        return self._group.record(Pending(notification, raw, key, lease))

    async def arecord(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Async :meth:`record`.

        On asyncio the call is queued for the writer thread and its commit awaited, without
        occupying a worker thread; elsewhere :meth:`record` runs in a worker thread.
        """
        return await self._group.arecord(Pending(notification, raw, key, lease))

    def _write_batch(self, batch: list[Pending]) -> None:
        """Record ``batch`` in one transaction, each record in a savepoint of its own."""
        with self._transaction(lambda: _body_bytes(batch)) as conn:
            if len(batch) == 1:
                batch[0].outcome = self._record_one(conn, batch[0])
                return
            for item in batch:
                conn.execute("SAVEPOINT connect_mw_record")
                try:
                    item.outcome = self._record_one(conn, item)
                except Exception as exc:
                    conn.execute("ROLLBACK TO connect_mw_record")
                    item.error = exc
                conn.execute("RELEASE connect_mw_record")

    def _record_one(self, conn: sqlite3.Connection, item: Pending) -> RecordOutcome:
        """Read the state, fold, insert-if-absent and upsert, inside the open transaction."""
        n, key, lease, raw = item.notification, item.key, item.lease, item.raw
        received = dump_time(utcnow())
        occurred = dump_time(n.occurred_at)
        row = conn.execute(
            "SELECT state FROM connect_envelopes WHERE envelope_id = ?", (n.envelope_id,)
        ).fetchone()
        current = load_state(row[0]) if row else None
        result = fold(current, n)
        size = len(raw)
        blob = self._blob_io and size >= BLOB_IO_MIN  # else sqlite3 binds a copy of raw
        inserted = conn.execute(
            _INSERT_ROOM if blob else _INSERT_BOUND,
            (
                key, n.envelope_id, n.account_id, n.event,
                None if n.status is None else n.status.value, n.format.value,
                occurred, received, occurred or received,
                size, dump_transitions(result.transitions), 1 if lease else 0, received,
                lease.worker if lease else None, dump_time(lease.until) if lease else None,
                size if blob else raw,
            ),
        )  # fmt: skip
        if not inserted.rowcount:  # a duplicate (its key may even name another envelope)
            return RecordOutcome(key=key, inserted=False, state=current or result.state)
        if blob:
            _write_blob(conn, inserted.lastrowid, raw)
        _save_state(conn, result.state)
        return RecordOutcome(key, True, result.state, result.transitions, result.stale)

    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """See :meth:`Store.claim`: select the claimable keys and lease them, atomically."""
        moment = now or utcnow()
        with self._transaction() as conn:
            keys = [
                row[0]
                for row in conn.execute(
                    _CLAIMABLE, {"now": dump_time(moment), "limit": limit}
                ).fetchall()
            ]
            for key in keys:
                conn.execute(
                    "UPDATE connect_events SET lease_worker = ?, lease_until = ?, "
                    "attempts = attempts + 1 WHERE key = ?",
                    (worker, dump_time(moment + lease_for), key),
                )
            rows = [
                conn.execute(
                    f"SELECT {_EVENT_COLUMNS}, raw, body FROM connect_events WHERE key = ?", (key,)
                ).fetchone()
                for key in keys
            ]
        return [_event_from_row(row[:-2], raw=_body(row)) for row in rows]

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Store.finish`."""
        release = state is ProcessingState.PENDING
        next_attempt = dump_time(retry_at if retry_at is not None and not release else utcnow())
        with self._transaction() as conn:
            return bool(
                conn.execute(
                    "UPDATE connect_events SET processing = ?, error = ?, next_attempt_at = ?, "
                    "attempts = attempts - ?, lease_worker = NULL, lease_until = NULL "
                    "WHERE key = ? AND lease_worker = ?",
                    (state.value, error, next_attempt, 1 if release else 0, key, worker),
                ).rowcount
            )

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Store.requeue`."""
        moment = dump_time(now or utcnow())
        with self._transaction() as conn:
            return bool(
                conn.execute(
                    "UPDATE connect_events SET processing = 'pending', attempts = 0, "
                    "next_attempt_at = ?, lease_worker = NULL, lease_until = NULL "
                    "WHERE key = ? AND (lease_until IS NULL OR lease_until < ?)",
                    (moment, key, moment),
                ).rowcount
            )

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """See :meth:`Store.get_envelope`."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT state FROM connect_envelopes WHERE envelope_id = ?", (envelope_id,)
            ).fetchone()
        return load_state(row[0]) if row else None

    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """See :meth:`Store.list_envelopes`."""
        query = "SELECT state FROM connect_envelopes"
        params: tuple[object, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        query += " ORDER BY updated_at DESC LIMIT ?"  # NULLs sort last when descending
        with self._reading() as conn:
            rows = conn.execute(query, (*params, limit)).fetchall()
        return [load_state(row[0]) for row in rows]

    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Store.events`."""
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if envelope_id is not None:
            where.append("envelope_id = ?")
            params.append(envelope_id)
        if processing is not None:
            where.append("processing = ?")
            params.append(processing.value)
        query = (
            f"SELECT {_EVENT_COLUMNS} FROM connect_events WHERE {' AND '.join(where)} "
            "ORDER BY order_at, seq LIMIT ?"
        )
        with self._reading() as conn:
            rows = conn.execute(query, (*params, -1 if limit is None else limit)).fetchall()
        return [_event_from_row(row) for row in rows]

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_EVENT_COLUMNS}, raw, body FROM connect_events WHERE key = ?", (key,)
            ).fetchone()
        return _event_from_row(row[:-2], raw=_body(row)) if row else None

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`."""
        with self._transaction() as conn:
            return int(
                conn.execute(
                    "DELETE FROM connect_events WHERE received_at < ? "
                    "AND processing IN ('processed', 'dead')",
                    (dump_time(before),),
                ).rowcount
            )

    def close(self) -> None:
        """Let the writer thread finish what is queued, then close the connections."""
        self._group.close(self.busy_timeout + 5.0)
        if self._checkpointer is not None:
            self._checkpointer.close(self.busy_timeout + 5.0)
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # the last connection to close checkpoints the WAL
                self._conn = None


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file's schema up to ``SCHEMA_VERSION``, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(connect_events)")}
            if "body" not in columns:  # a file from schema 2 or older
                conn.execute("ALTER TABLE connect_events ADD COLUMN body BLOB")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _body(row: tuple[object, ...]) -> bytes:
    """The body of a row ending in ``raw, body``: ``body`` when it holds it, else ``raw``."""
    raw, body = row[-2], row[-1]
    value = body if body is not None else raw
    assert isinstance(value, bytes)  # sqlite3 reads a BLOB as bytes
    return value


def _body_bytes(batch: list[Pending]) -> int:
    """The bodies a committed batch wrote (for the checkpoint estimate)."""
    return sum(len(item.raw) + _RECORD_OVERHEAD for item in batch if item.error is None)


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


def _save_state(conn: sqlite3.Connection, state: EnvelopeState) -> None:
    conn.execute(
        "INSERT INTO connect_envelopes (envelope_id, account_id, status, updated_at, state) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (envelope_id) DO UPDATE SET "
        "account_id = excluded.account_id, status = excluded.status, "
        "updated_at = excluded.updated_at, state = excluded.state",
        (
            state.envelope_id,
            state.account_id,
            None if state.status is None else state.status.value,
            dump_time(state.updated_at),
            dump_state(state),
        ),
    )


def _event_from_row(row: tuple[object, ...], raw: bytes | None = None) -> StoredEvent:
    (
        key,
        envelope_id,
        account_id,
        event,
        status,
        fmt,
        occurred_at,
        received_at,
        raw_size,
        transitions,
        processing,
        error,
        attempts,
        next_attempt,
        lease_worker,
        lease_until,
    ) = row
    received = load_time(str(received_at))
    assert received is not None
    lease_end = load_time(None if lease_until is None else str(lease_until))
    return StoredEvent(
        key=str(key),
        envelope_id=str(envelope_id),
        account_id=None if account_id is None else str(account_id),
        event=str(event),
        status=None if status is None else EnvelopeStatus(str(status)),
        format=PayloadFormat(str(fmt)),
        occurred_at=load_time(None if occurred_at is None else str(occurred_at)),
        received_at=received,
        raw_size=int(str(raw_size)),
        transitions=load_transitions(str(transitions)),
        processing=ProcessingState(str(processing)),
        error=None if error is None else str(error),
        attempts=int(str(attempts)),
        next_attempt_at=load_time(None if next_attempt is None else str(next_attempt)),
        lease=None if lease_end is None else Lease(str(lease_worker), lease_end),
        raw=raw,
    )
