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

``record`` uses **group commit**: calls that arrive while a transaction is being written
queue up, and the next transaction records all of them (each in its own savepoint, so one
failing call fails alone) and commits once, so concurrent requests share one fsync. Each
call still returns only after the commit that holds its record. Threads take turns leading
(the first caller writes its batch itself, no hand-off); ``arecord`` on asyncio queues the
call for a writer thread and awaits a future, instead of holding a worker thread per call.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat
from ..state import fold
from .base import Lease, ProcessingState, RecordOutcome, Store, StoredEvent, utcnow
from .codec import dump_state, dump_time, dump_transitions, load_state, load_time, load_transitions

# 2: index on connect_envelopes(updated_at). Every statement is idempotent, so an older
# file is brought up to date by running the whole script again.
SCHEMA_VERSION = 2
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
    lease_until      TEXT
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
    "occurred_at, received_at, order_at, raw, raw_size, transitions, attempts, "
    "next_attempt_at, lease_worker, lease_until) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
#: A writer thread with nothing to write for this long exits (the next ``arecord`` starts one).
_WRITER_IDLE = 2.0


@dataclass(eq=False, slots=True)
class _Pending:
    """One ``record`` call in the group-commit queue: its arguments, then its result."""

    notification: Notification
    raw: bytes
    key: str
    lease: Lease | None
    future: asyncio.Future[RecordOutcome] | None = None
    outcome: RecordOutcome | None = None
    error: BaseException | None = None
    done: bool = False

    def result(self) -> RecordOutcome:
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


def _settle_futures(items: list[_Pending]) -> None:
    """On the event loop: hand each async caller its outcome (or error)."""
    for item in items:
        future = item.future
        if future is None or future.done():
            continue  # the caller was cancelled; its record stands, like a lost answer
        if item.error is not None:
            future.set_exception(item.error)
        else:
            future.set_result(item.result())


class SQLiteStore(Store):
    """A store in one SQLite file (``":memory:"`` for a private in-memory database)."""

    def __init__(
        self,
        path: str | Path = "connect-mw.sqlite3",
        *,
        durable: bool = True,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = str(path)
        self.durable = durable
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        # Group commit: calls waiting to be recorded, who is writing them.
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[_Pending] = []
        self._leading = False  # a caller thread is writing batches
        self._writer: threading.Thread | None = None  # the asyncio callers' writer
        self._closing = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                conn.executescript(_SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION};")
            self._conn = conn
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Queue the call; the first thread to find no leader writes everything queued.

        Returns once the transaction holding this record is committed (fsynced when
        durable). Each record reads the state, folds, inserts-if-absent and upserts.
        """
        item = _Pending(notification, raw, key, lease)
        with self._cond:
            self._pending.append(item)
            while self._leading and not item.done:
                self._cond.wait()
            lead = not item.done
            self._leading = self._leading or lead
        if lead:
            self._lead(item)
        return item.result()

    def _lead(self, item: _Pending) -> None:
        """Commit what is queued until ``item`` is committed, then let another thread lead."""
        try:
            while True:
                with self._cond:
                    if item.done:
                        return
                    batch, self._pending = self._pending, []
                    if not batch:  # the writer thread took it: wait for that commit
                        self._cond.wait()
                        continue
                self._commit(batch)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()

    async def arecord(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Async :meth:`record`.

        On asyncio the call is queued for the writer thread and its commit awaited, without
        occupying a worker thread; elsewhere :meth:`record` runs in a worker thread.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio)
            return await super().arecord(notification, raw, key, lease=lease)
        item = _Pending(notification, raw, key, lease, loop.create_future())
        with self._cond:
            self._pending.append(item)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="connect-mw-sqlite-writer", daemon=True
                )
                self._writer.start()
            self._cond.notify_all()
        assert item.future is not None
        return await item.future

    def _write_loop(self) -> None:
        """The asyncio callers' writer: commit whatever is queued, batch after batch."""
        while True:
            with self._cond:
                idle_until = time.monotonic() + _WRITER_IDLE
                while not self._pending:
                    remaining = idle_until - time.monotonic()
                    if remaining <= 0 or self._closing:
                        self._writer = None
                        return
                    self._cond.wait(remaining)
                batch, self._pending = self._pending, []
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        """Record ``batch`` in one transaction, then wake its callers."""
        try:
            self._write_batch(batch)
        except BaseException as exc:  # nothing of the batch is committed
            for item in batch:
                item.outcome, item.error = None, exc
        waiting: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        with self._cond:
            for item in batch:
                item.done = True
                if item.future is not None:
                    waiting.setdefault(item.future.get_loop(), []).append(item)
            self._cond.notify_all()
        for loop, items in waiting.items():
            with suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle_futures, items)

    def _write_batch(self, batch: list[_Pending]) -> None:
        with self._transaction() as conn:
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

    @staticmethod
    def _record_one(conn: sqlite3.Connection, item: _Pending) -> RecordOutcome:
        """Read the state, fold, insert-if-absent and upsert, inside the open transaction."""
        n, key, lease = item.notification, item.key, item.lease
        received = dump_time(utcnow())
        occurred = dump_time(n.occurred_at)
        row = conn.execute(
            "SELECT state FROM connect_envelopes WHERE envelope_id = ?", (n.envelope_id,)
        ).fetchone()
        current = load_state(row[0]) if row else None
        result = fold(current, n)
        inserted = conn.execute(
            _INSERT_EVENT,
            (
                key, n.envelope_id, n.account_id, n.event,
                None if n.status is None else n.status.value, n.format.value,
                occurred, received, occurred or received,
                item.raw, len(item.raw), dump_transitions(result.transitions),
                1 if lease else 0, received,
                lease.worker if lease else None, dump_time(lease.until) if lease else None,
            ),
        ).rowcount  # fmt: skip
        if not inserted:  # a duplicate (its key may even name another envelope)
            return RecordOutcome(key=key, inserted=False, state=current or result.state)
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
                    f"SELECT {_EVENT_COLUMNS}, raw FROM connect_events WHERE key = ?", (key,)
                ).fetchone()
                for key in keys
            ]
        return [_event_from_row(row[:-1], raw=bytes(row[-1])) for row in rows]

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
                f"SELECT {_EVENT_COLUMNS}, raw FROM connect_events WHERE key = ?", (key,)
            ).fetchone()
        return _event_from_row(row[:-1], raw=bytes(row[-1])) if row else None

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
        """Let the writer thread finish what is queued, then close the connection."""
        with self._cond:
            self._closing = True
            writer = self._writer
            self._cond.notify_all()
        if writer is not None and writer is not threading.current_thread():
            writer.join(self.busy_timeout + 5.0)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with self._cond:
            self._closing = False  # a later call reconnects, as before


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
