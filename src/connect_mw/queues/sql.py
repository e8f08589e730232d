"""``SQLQueue``: the claim rules of :mod:`connect_mw.queues.api`, one SQL text for two databases.

SQLite and PostgreSQL run the statements below; a :class:`~.dialects.Dialect` renders them
(parameter style, table names, times) and says how a claim locks an envelope. A claim is
one transaction:

1. ``_CANDIDATES`` selects envelopes whose first unfinished event is claimable now;
2. for each, the dialect's ``lock_envelope`` runs: PostgreSQL locks the envelope row ``FOR
   UPDATE SKIP LOCKED`` (an envelope another claimer holds is skipped); SQLite needs nothing,
   its ``BEGIN IMMEDIATE`` already excludes every other writer;
3. ``_LEASE`` leases that envelope's claimable event, rechecking the rules in a new
   statement, hence (under PostgreSQL's READ COMMITTED) a snapshot taken after the lock.

Why the lock suffices: every transaction that stores an event also writes its envelope row
(:meth:`Store.commit`), and every lease is granted under that row's lock, so the statement
after the lock sees every event and lease of the envelope committed so far, and none can
commit before the claim does. Without it, a claimer whose snapshot predates a late, older
event still takes the newer one while another takes the older: two leases on one envelope.

``finish`` and ``requeue`` are single conditional ``UPDATE`` statements. Every change bumps
the event's ``revision``, as :meth:`Store.update_event` compares it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..stores.api import UNFINISHED, ProcessingState, StoredEvent, utcnow
from .api import Queue
from .dialects import EVENT_COLUMNS, Dialect

_UNFINISHED = "(" + ", ".join(f"'{state.value}'" for state in sorted(UNFINISHED)) + ")"


def _due(row: str) -> str:
    """Rule 1 for event ``row`` (an alias and a dot, or nothing): unfinished and due."""
    return f"{row}processing IN {_UNFINISHED} AND {row}next_attempt_at <= {{now}}"


#: Rules 2-4 for unfinished event ``e``: it comes first among its envelope's unfinished
#: events and none of them holds a live lease. ``o`` ranges over ``e`` itself too, so a
#: live lease on ``e`` excludes it (rule 2) as one on another event does (rule 4).
_FIRST_AND_FREE = f"""NOT EXISTS (
    SELECT 1 FROM {{events}} o
    WHERE o.envelope_id = e.envelope_id AND o.processing IN {_UNFINISHED}
      AND (o.lease_until >= {{now}} OR o.order_at < e.order_at
           OR (o.order_at = e.order_at AND o.seq < e.seq)))"""
_CANDIDATES = f"""SELECT e.envelope_id FROM {{events}} e WHERE {_due("e.")} AND {_FIRST_AND_FREE}
ORDER BY e.next_attempt_at, e.order_at, e.seq LIMIT {{limit}}"""
_ENVELOPE_OF = "SELECT envelope_id FROM {events} WHERE key = {key}"
#: Lease the envelope's first unfinished event if no lease is live and it is due (at most
#: one event qualifies). Looking the event up by envelope, not by due time, lets both
#: databases use the envelope index; rule 1 and 2 are then checked on the row itself, which
#: PostgreSQL rechecks should a concurrent write have changed it.
_LEASE = f"""UPDATE {{events}}
SET lease_worker = {{worker}}, lease_until = {{until}}, attempts = attempts + 1,
    revision = revision + 1
WHERE key = (
    SELECT e.key FROM {{events}} e
    WHERE e.envelope_id = {{envelope_id}} AND e.processing IN {_UNFINISHED}
      AND {_FIRST_AND_FREE}
    LIMIT 1)
  AND {_due("")} AND (lease_until IS NULL OR lease_until < {{now}}){{only}}
RETURNING {EVENT_COLUMNS}"""
_FINISH = """UPDATE {events}
SET processing = {state}, error = {error}, next_attempt_at = {due}, attempts = attempts - {undo},
    lease_worker = NULL, lease_until = NULL, revision = revision + 1
WHERE key = {key} AND lease_worker = {worker}"""
_REQUEUE = """UPDATE {events}
SET processing = 'pending', attempts = 0, next_attempt_at = {now}, lease_worker = NULL,
    lease_until = NULL, revision = revision + 1
WHERE key = {key} AND (lease_until IS NULL OR lease_until < {now})
    AND processing <> 'purged'"""
#: Candidates read per claim beyond ``limit``: PostgreSQL skips envelopes other claimers hold.
_SPARE = 8


class Cursor(Protocol):
    """The part of a DB-API cursor the queue uses."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""

    def fetchone(self) -> Any:
        """The next row, or ``None``."""

    def fetchall(self) -> Sequence[Any]:
        """The remaining rows."""


class Connection(Protocol):
    """A connection running one statement with named parameters (``sqlite3``, psycopg)."""

    def execute(self, query: str, params: Mapping[str, Any], /) -> Cursor:
        """Run ``query`` with ``params``."""


#: Opens a connection for the queue's statements; closing it commits them.
Connect = Callable[[], AbstractContextManager[Connection]]


class _Statements:
    """The queue's statements, rendered once for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.candidates = dialect.render(_CANDIDATES)
        self.envelope_of = dialect.render(_ENVELOPE_OF)
        self.lock = None if dialect.lock_envelope is None else dialect.render(dialect.lock_envelope)
        self.lease = dialect.render(_LEASE.replace("{only}", ""))
        self.lease_key = dialect.render(_LEASE.replace("{only}", " AND key = {key}"))
        self.finish = dialect.render(_FINISH)
        self.requeue = dialect.render(_REQUEUE)


class SQLQueue(Queue):
    """The :class:`Queue` of ``SQLiteStore`` and ``PostgresStore``.

    ``transaction()`` opens a connection inside a transaction (committed on leaving the
    block, rolled back on an exception); ``statement()`` one for a single statement (by
    default a transaction too). Both come from the store, which owns the connections.
    """

    def __init__(
        self, dialect: Dialect, *, transaction: Connect, statement: Connect | None = None
    ) -> None:
        super().__init__()
        self.dialect = dialect
        self._transaction = transaction
        self._statement = statement or transaction
        self._sql = _Statements(dialect)

    def claim(
        self,
        worker: str,
        *,
        lease_for: timedelta,
        limit: int = 1,
        now: datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Queue.claim`: steps 1-3 of the module docstring, in one transaction."""
        if limit < 1:
            return []
        now = now or utcnow()
        dump = self.dialect.dump_time
        params = {"worker": worker, "now": dump(now), "until": dump(now + lease_for), "key": key}
        claimed: list[StoredEvent] = []
        with self._transaction() as conn:
            for envelope_id in self._candidates(conn, params, limit):
                if len(claimed) == limit:
                    break
                event = self._lease_first(conn, {**params, "envelope_id": envelope_id})
                if event is not None:
                    claimed.append(event)
        return claimed

    def _candidates(self, conn: Connection, params: dict[str, Any], limit: int) -> list[str]:
        """Step 1: envelopes to try (with spares), or the envelope of ``params["key"]``."""
        if params["key"] is None:
            query, args = self._sql.candidates, {**params, "limit": 2 * limit + _SPARE}
        else:
            query, args = self._sql.envelope_of, params
        return [row[0] for row in conn.execute(query, args).fetchall()]

    def _lease_first(self, conn: Connection, params: dict[str, Any]) -> StoredEvent | None:
        """Steps 2-3 for one envelope: lock it, then lease its first event (if ``key``, it)."""
        if self._sql.lock is not None and conn.execute(self._sql.lock, params).fetchone() is None:
            return None  # another claimer (or a commit) holds this envelope
        lease = self._sql.lease if params["key"] is None else self._sql.lease_key
        row = conn.execute(lease, params).fetchone()
        return None if row is None else self.dialect.event_from_row(row)

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Queue.finish`: one ``UPDATE`` conditional on the lease's worker."""
        release = state is ProcessingState.PENDING
        due = retry_at if retry_at is not None and not release else utcnow()
        params = {
            "key": key,
            "worker": worker,
            "state": state.value,
            "error": None if error is None else self.dialect.storable(error),
            "due": self.dialect.dump_time(due),
            "undo": 1 if release else 0,
        }
        with self._statement() as conn:
            return conn.execute(self._sql.finish, params).rowcount > 0

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Queue.requeue`: one ``UPDATE`` conditional on no live lease."""
        params = {"key": key, "now": self.dialect.dump_time(now or utcnow())}
        with self._statement() as conn:
            return conn.execute(self._sql.requeue, params).rowcount > 0
