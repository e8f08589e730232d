"""What differs between SQLite and PostgreSQL, for the SQL they share.

The claim rules (:mod:`connect_mw.queues.sql`) and the stores' reads and updates
(:mod:`connect_mw.stores.sql_store`) are written once, as templates: ``{events}``,
``{envelopes}`` and ``{markers}`` name the tables, any other ``{name}`` is a query
parameter. A :class:`Dialect` renders them (table names, parameter style), encodes and
decodes times, says how a claim locks an envelope, and makes text storable. Both stores
read event rows through :meth:`Dialect.event_from_row`, in :data:`EVENT_COLUMNS` order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..model import EnvelopeStatus, PayloadFormat
from ..stores.api import (
    EARLIEST,
    Backlog,
    EnvelopeQuery,
    EnvelopeSearch,
    EventQuery,
    Lease,
    ProcessingState,
    StoredEvent,
    dump_time,
    load_time,
)
from ..stores.codec import load_transitions

#: The columns an event row is read with, in the order :meth:`Dialect.event_from_row` takes.
EVENT_COLUMNS = (
    "key, envelope_id, account_id, event, status, format, occurred_at, received_at, "
    "raw_size, transitions, processing, error, attempts, next_attempt_at, lease_worker, "
    "lease_until, seq, revision"
)
Row = Sequence[Any]


class _Render(dict[str, str]):
    """Template names: the tables given, anything else a parameter in ``style``."""

    def __init__(self, tables: dict[str, str], style: str) -> None:
        super().__init__(tables)
        self.style = style

    def __missing__(self, name: str) -> str:
        return self.style.format(name)


@dataclass(frozen=True)
class Dialect:
    """How one database spells the shared SQL (see the module docstring).

    ``lock_envelope`` is the template a claim runs before leasing an envelope's event (it
    must return a row to go on), or ``None`` when the claim's transaction already excludes
    every other writer. ``storable`` makes an error message storable, never refusing it.
    """

    events: str
    envelopes: str
    markers: str
    param_style: str
    dump_time: Callable[[datetime | None], Any]
    load_time: Callable[[Any], datetime | None]
    lock_envelope: str | None
    storable: Callable[[str], str]

    @classmethod
    def sqlite(cls, prefix: str = "connect_") -> Dialect:
        """SQLite: ``:name`` parameters, times as sortable text, writers serialized."""
        return cls(
            events=f"{prefix}events",
            envelopes=f"{prefix}envelopes",
            markers=f"{prefix}markers",
            param_style=":{}",
            dump_time=dump_time,
            load_time=load_time,
            lock_envelope=None,  # BEGIN IMMEDIATE holds the database's write lock
            storable=_without_surrogates,
        )

    @classmethod
    def postgres(cls, events: str, envelopes: str, markers: str) -> Dialect:
        """PostgreSQL: ``%(name)s`` parameters, ``timestamptz``, envelope row locks.

        ``events``, ``envelopes`` and ``markers`` are the tables' quoted, schema-qualified
        names.
        """
        return cls(
            events=events,
            envelopes=envelopes,
            markers=markers,
            param_style="%({})s",
            dump_time=lambda value: value,
            load_time=_utc,
            lock_envelope=(
                "SELECT 1 FROM {envelopes} WHERE envelope_id = {envelope_id} FOR UPDATE SKIP LOCKED"
            ),
            storable=_without_nul_or_surrogates,
        )

    def render(self, template: str) -> str:
        """``template`` with table names and parameters in this dialect."""
        tables = {"events": self.events, "envelopes": self.envelopes, "markers": self.markers}
        return template.format_map(_Render(tables, self.param_style))

    def event_from_row(self, row: Row) -> StoredEvent:
        """A stored event from a row of :data:`EVENT_COLUMNS` (``raw`` left ``None``).

        Columns after those (a body the store reads too) are not looked at.
        """
        key, envelope_id, account_id, event, status, fmt, occurred_at, received_at = row[:8]
        raw_size, transitions, processing, error, attempts, next_attempt = row[8:14]
        worker, until, seq, revision = row[14:18]
        received = self.load_time(received_at)
        assert received is not None  # NOT NULL
        lease_end = self.load_time(until)
        return StoredEvent(
            key=key,
            envelope_id=envelope_id,
            account_id=account_id,
            event=event,
            status=None if status is None else EnvelopeStatus(status),
            format=PayloadFormat(fmt),
            occurred_at=self.load_time(occurred_at),
            received_at=received,
            raw_size=raw_size,
            transitions=load_transitions(transitions),
            processing=ProcessingState(processing),
            error=error,
            attempts=attempts,
            next_attempt_at=self.load_time(next_attempt),
            lease=None if lease_end is None else Lease(worker, lease_end),
            sequence=seq,
            revision=revision,
        )

    def select_events(self, query: EventQuery) -> tuple[str, dict[str, Any]]:
        """The ``SELECT`` answering ``query`` (in DocuSign order), and its parameters."""
        where, params = ["1 = 1"], dict[str, Any]()
        if query.envelope_id is not None:
            where.append("envelope_id = {envelope_id}")
            params["envelope_id"] = query.envelope_id
        if query.processing is not None:
            names = [f"state_{i}" for i in range(len(query.processing))]
            params.update(zip(names, sorted(s.value for s in query.processing), strict=True))
            where.append(f"processing IN ({', '.join('{' + n + '}' for n in names) or 'NULL'})")
        if query.due_by is not None:
            where.append("next_attempt_at <= {due_by}")
            params["due_by"] = self.dump_time(query.due_by)
        if query.received_before is not None:
            where.append("received_at < {received_before}")
            params["received_before"] = self.dump_time(query.received_before)
        if query.after is not None:
            where.append("(order_at, seq) > ({after_at}, {after_seq})")
            params["after_at"], params["after_seq"] = self.dump_time(query.after[0]), query.after[1]
        limit = ""
        if query.limit is not None:
            limit, params["limit"] = " LIMIT {limit}", query.limit
        template = (
            f"SELECT {EVENT_COLUMNS} FROM {{events}} WHERE {' AND '.join(where)} "
            f"ORDER BY order_at, seq{limit}"
        )
        return self.render(template), params

    def select_envelopes(
        self, query: EnvelopeQuery, text: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The ``SELECT envelope_id, state`` answering ``query``, and its parameters.

        The stores keep an envelope without ``updated_at`` as :data:`EARLIEST` in the
        ``updated_at`` column, so one keyset condition pages every envelope. With ``text``
        (see :meth:`search_text`), only envelopes whose stored state contains it.
        """
        where, params = ["1 = 1"], dict[str, Any]({"limit": query.limit})
        if text is not None:
            where.append("lower(state) LIKE {text} ESCAPE '!'")
            params["text"] = "%" + _like_escaped(text) + "%"
        if query.status is not None:
            where.append("status = {status}")
            params["status"] = query.status
        if query.after is not None:
            where.append(
                "(updated_at < {after_at} "
                "OR (updated_at = {after_at} AND envelope_id > {after_id}))"
            )
            params["after_at"] = self.listed_at(query.after[0])
            params["after_id"] = query.after[1]
        template = (
            f"SELECT envelope_id, state FROM {{envelopes}} WHERE {' AND '.join(where)} "
            "ORDER BY updated_at DESC, envelope_id LIMIT {limit}"
        )
        return self.render(template), params

    def listed_at(self, updated_at: datetime | None) -> Any:
        """The ``updated_at`` column's value for an envelope (see :meth:`select_envelopes`)."""
        return self.dump_time(updated_at or EARLIEST)

    # Overview queries (the dashboard's) ---------------------------------------------

    def count_envelopes(self) -> str:
        """The ``SELECT`` of ``(status, count)`` per envelope status."""
        return self.render("SELECT status, count(*) FROM {envelopes} GROUP BY status")

    def select_backlog(self) -> str:
        """The ``SELECT`` of ``(processing, count, oldest received_at)`` of the backlog."""
        return self.render(
            "SELECT processing, count(*), min(received_at) FROM {events} "
            "WHERE processing IN ('pending', 'failed', 'dead') GROUP BY processing"
        )

    def backlog_from_rows(self, rows: Sequence[Row]) -> Backlog:
        """The :class:`Backlog` from the rows of :meth:`select_backlog`."""
        counts = {str(row[0]): int(row[1]) for row in rows}
        oldest = next((row[2] for row in rows if row[0] == "pending"), None)
        return Backlog(
            pending=counts.get("pending", 0),
            failed=counts.get("failed", 0),
            dead=counts.get("dead", 0),
            oldest_pending_at=self.load_time(oldest),
        )

    @staticmethod
    def search_text(query: EnvelopeSearch) -> str | None:
        r"""The text a ``LIKE`` on the stored state can narrow ``query`` with, or ``None``.

        The state is JSON text that keeps non-ASCII characters as they are, so a printable
        ASCII needle without ``"`` or ``\`` (which JSON escapes) appears in it verbatim
        wherever it appears in a field; ``lower`` folds ASCII the same way in both
        databases. Any other needle is matched in Python only.
        """
        needle = query.needle
        plain = needle.isascii() and needle.isprintable() and not {'"', "\\"} & set(needle)
        return needle if needle and plain else None


def _like_escaped(text: str) -> str:
    """``text`` with ``LIKE``'s wildcards (and the escape ``!``) taken literally."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _utc(value: Any) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)


def _without_surrogates(text: str) -> str:
    """Lone surrogates escaped (UTF-8 cannot encode them); NUL is kept (SQLite stores it)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _without_nul_or_surrogates(text: str) -> str:
    """NUL and lone surrogates escaped: PostgreSQL text holds neither."""
    return _without_surrogates(text.replace("\x00", "\\x00"))
