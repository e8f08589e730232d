"""``SQLStore``: what ``SQLiteStore`` and ``PostgresStore`` share.

Both keep the same tables and run the same SQL on them, rendered for each database by a
:class:`~connect_mw.queues.dialects.Dialect`: the reads, the compare-and-set of an event's
processing fields, purging to tombstones, the markers, and the work queue
(:class:`~connect_mw.queues.sql.SQLQueue`); both commit through group commit. This base
class holds that code once; each store keeps what differs: its connections
(:meth:`SQLStore._reading`, :meth:`SQLStore._transaction`, :meth:`SQLStore._statement`),
its schema, how it writes a batch of commits (``_write_batch``) and reads a body
(:meth:`SQLStore._body`), and what its database cannot hold (:meth:`SQLStore._storable`).
Not a public extension point: a third database would need its claim rules checked
(:mod:`connect_mw.queues.sql`).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..queues.dialects import EVENT_COLUMNS
from .api import (
    Backlog,
    Commit,
    EnvelopeQuery,
    EnvelopeSearch,
    EnvelopeState,
    EventQuery,
    ProcessingState,
    Progress,
    Snapshot,
    Store,
    StoredEvent,
    StoreEncodingError,
    load_state,
    read_envelopes,
    search_in_pages,
)
from .codec import event_fields, progress_fields
from .group_commit import GroupCommit, Pending

if TYPE_CHECKING:
    from ..queues.dialects import Dialect, Row
    from ..queues.sql import Connection, SQLQueue

#: Events one purge statement turns into tombstones.
PURGE_BATCH = 1000
#: The columns an event is inserted with (its body aside): the names of :func:`event_params`.
INSERTED = (
    "key, envelope_id, account_id, event, status, format, occurred_at, received_at, order_at, "
    "raw_size, transitions, processing, error, attempts, next_attempt_at, lease_worker, "
    "lease_until, revision"
)
_SELECT_STATE = "SELECT state, version FROM {envelopes} WHERE envelope_id = {envelope_id}"
_UPDATE_EVENT = (
    "UPDATE {events} SET processing = {processing}, error = {error}, attempts = {attempts}, "
    "next_attempt_at = {next_attempt_at}, lease_worker = {lease_worker}, "
    "lease_until = {lease_until}, revision = {revision} WHERE key = {key} AND revision = {expected}"
)
#: A tombstone (retention): the body goes, the key stays (see :meth:`Store.update_event`).
_TOMBSTONE = (
    "UPDATE {events} SET {no_body}, processing = 'purged', next_attempt_at = NULL, "
    "lease_worker = NULL, lease_until = NULL, revision = revision + 1 WHERE "
)
_PURGE_BATCH = (
    "seq IN (SELECT seq FROM {events} WHERE received_at < {before} "
    "AND processing IN ('processed', 'dead') LIMIT {limit}{lock_rows})"
)
_READ_MARKER = "SELECT value FROM {markers} WHERE name = {name}"
_WRITE_MARKER = (
    "INSERT INTO {markers} (name, value) VALUES ({name}, {value}) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


class SQLStore(Store):
    """The base of the SQL stores: everything they do alike over :attr:`_dialect`'s tables."""

    _dialect: Dialect
    #: Guards the creation of the store's one queue (the subclass's own lock).
    _lock: AbstractContextManager[Any]
    _queue: SQLQueue | None = None
    #: Queues the commits for the subclass's ``_write_batch`` (see :mod:`.group_commit`).
    _group: GroupCommit
    #: The columns an event's body is read from (see :meth:`_body`), and set to in a tombstone.
    _BODY_COLUMNS, _NO_BODY = "raw", "raw = ''"
    #: How a purge batch treats rows another transaction holds (SQLite: there are none).
    _LOCK_ROWS = ""

    @abc.abstractmethod
    def _reading(self) -> AbstractContextManager[Connection]:
        """A connection to read with, for the ``with`` block."""

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on error."""

    def _statement(self) -> AbstractContextManager[Connection]:
        """A connection for one statement that writes, committed by the block's end."""
        return self._transaction()

    def _storable(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` once sure the database holds each text, else :class:`StoreEncodingError`."""
        return params

    def _body(self, row: Row) -> bytes:
        """The body of a :meth:`get_event` row, which ends in :attr:`_BODY_COLUMNS`."""
        return bytes(row[-1])

    def _holds(self, text: str) -> bool:
        """Whether the database can hold ``text``: an id it cannot hold was never stored."""
        try:
            self._storable({"text": text})
        except StoreEncodingError:
            return False
        return True

    # The six primitives ------------------------------------------------------------------

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        """See :meth:`Store.commit`: through group commit (:mod:`.group_commit`).

        Concurrent calls share one transaction and one commit, written by the store's
        ``_write_batch`` (a failing call fails alone); each returns once the commit holding
        its write is done (fsynced, for a durable SQLite store). Text the database cannot
        hold raises :class:`StoreEncodingError`, writing nothing.
        """
        return self._group.submit(Pending(event, state, version))

    def load(self, envelope_id: str) -> Snapshot | None:
        """See :meth:`Store.load` (``None`` for an id the database could not have stored)."""
        if not self._holds(envelope_id):
            return None
        with self._reading() as conn:
            row = conn.execute(self._select_state, {"envelope_id": envelope_id}).fetchone()
        return None if row is None else Snapshot(load_state(row[0]), int(row[1]))

    @functools.cached_property
    def _select_state(self) -> str:
        """The ``SELECT`` of :meth:`load` (every request's), rendered once."""
        return self._dialect.render(_SELECT_STATE)

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        if not self._holds(key):
            return None
        columns = f"{EVENT_COLUMNS}, {self._BODY_COLUMNS}"
        statement = self._dialect.render(f"SELECT {columns} FROM {{events}} WHERE key = {{key}}")
        with self._reading() as conn:
            row = conn.execute(statement, {"key": key}).fetchone()
        if row is None:
            return None
        event = self._dialect.event_from_row(row)  # the body columns after those: not read
        purged = event.processing is ProcessingState.PURGED
        return dataclasses.replace(event, raw=None if purged else self._body(row))

    def events(self, query: EventQuery) -> list[StoredEvent]:
        """See :meth:`Store.events`."""
        if query.envelope_id is not None and not self._holds(query.envelope_id):
            return []
        statement, params = self._dialect.select_events(query)
        with self._reading() as conn:
            rows = conn.execute(statement, params).fetchall()
        return [self._dialect.event_from_row(row) for row in rows]

    def envelopes(self, query: EnvelopeQuery) -> list[EnvelopeState]:
        """See :meth:`Store.envelopes`."""
        return self._envelopes(query)

    def _envelopes(self, query: EnvelopeQuery, text: str | None = None) -> list[EnvelopeState]:
        """The envelopes ``query`` selects; with ``text``, only states that contain it."""

        def read(listing: EnvelopeQuery) -> Sequence[tuple[str, str]]:
            statement, params = self._dialect.select_envelopes(listing, text)
            with self._reading() as conn:
                return conn.execute(statement, params).fetchall()

        return read_envelopes(query, read)

    def update_event(self, key: str, revision: int, progress: Progress | None) -> bool:
        """See :meth:`Store.update_event`: one conditional ``UPDATE``.

        An error text the database cannot hold is stored escaped (see :class:`Dialect`).
        """
        if not self._holds(key):
            return False
        where = {"key": key, "expected": revision}
        if progress is None:
            statement, params = self._tombstone("key = {key} AND revision = {expected}"), where
        else:
            values = progress_fields(progress, self._dialect.dump_time)
            if progress.error is not None:
                values["error"] = self._dialect.storable(progress.error)
            statement, params = self._dialect.render(_UPDATE_EVENT), {**values, **where}
        with self._statement() as conn:
            return conn.execute(statement, params).rowcount > 0

    def _tombstone(self, where: str) -> str:
        """The ``UPDATE`` that makes the events ``where`` selects tombstones."""
        template = _TOMBSTONE.replace("{no_body}", self._NO_BODY) + where
        return self._dialect.render(template.replace("{lock_rows}", self._LOCK_ROWS))

    # Beyond the six ---------------------------------------------------------------------

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`: ``UPDATE`` to tombstones, :data:`PURGE_BATCH` per statement.

        Each batch commits on its own: short transactions leave the database free for
        commits in between, however much there is to purge (the first purge of a store kept
        for months).
        """
        statement = self._tombstone(_PURGE_BATCH)
        params = {"before": self._dialect.dump_time(before), "limit": PURGE_BATCH}
        purged = 0
        while True:
            with self._statement() as conn:
                done = int(conn.execute(statement, params).rowcount)
            purged += done
            if done < PURGE_BATCH:
                return purged

    def read_marker(self, name: str) -> str | None:
        """See :meth:`Store.read_marker`."""
        with self._reading() as conn:
            row = conn.execute(self._dialect.render(_READ_MARKER), {"name": name}).fetchone()
        return None if row is None else str(row[0])

    def write_marker(self, name: str, value: str) -> None:
        """See :meth:`Store.write_marker`: an upsert."""
        params = self._storable({"name": name, "value": value})
        with self._statement() as conn:
            conn.execute(self._dialect.render(_WRITE_MARKER), params)

    def queue(self) -> SQLQueue:
        """The store's :class:`~connect_mw.queues.sql.SQLQueue` (one per store)."""
        from ..queues.sql import SQLQueue  # noqa: PLC0415 (queues build on stores)

        with self._lock:
            if self._queue is None:
                self._queue = SQLQueue(
                    self._dialect, transaction=self._transaction, statement=self._statement
                )
            return self._queue

    # Overview queries -------------------------------------------------------------------

    def envelope_counts(self) -> dict[str | None, int]:
        """See :meth:`Store.envelope_counts`: one grouped ``SELECT``."""
        with self._reading() as conn:
            rows = conn.execute(self._dialect.count_envelopes(), {}).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def backlog(self) -> Backlog:
        """See :meth:`Store.backlog`: one grouped ``SELECT`` on the processing index."""
        with self._reading() as conn:
            rows = conn.execute(self._dialect.select_backlog(), {}).fetchall()
        return self._dialect.backlog_from_rows(rows)

    def search_envelopes(self, query: EnvelopeSearch) -> list[EnvelopeState]:
        """See :meth:`Store.search_envelopes`: pages narrowed by ``LIKE`` on the state."""
        text = self._dialect.search_text(query)
        return search_in_pages(query, lambda listing: self._envelopes(listing, text))


def event_params(event: StoredEvent, dialect: Dialect) -> dict[str, Any]:
    """The values of the :data:`INSERTED` columns for ``event``, as ``dialect`` binds them."""
    return {**event_fields(event, dialect.dump_time), "order_at": dialect.dump_time(event.order_at)}
