"""The storage API: everything a store author imports, from this one module.

A store keeps two things — envelope states and the events recorded for them — and decides
nothing. The core (:mod:`connect_mw.recording`) loads an envelope's state with its version,
folds the notification, and asks the store to :meth:`Store.commit` the event and the new
state together, on two conditions the database enforces: the event's key is new, and the
envelope's version is still the one loaded. Processing (claims, leases, retries, dead
letters) is a :class:`~connect_mw.queues.Queue`; by default it runs on this same store
through :meth:`Store.update_event`, a compare-and-set of one event's processing fields.

Encodings for stores that keep text: :func:`dump_state` / :func:`load_state` (an envelope
state as JSON text, through msgspec; :class:`StoreEncodingError` for a state that cannot be
written or stored text that does not decode), :func:`load_states` and :func:`read_envelopes`
(listings: a state that does not decode is left out and logged), :func:`event_to_dict` /
:func:`event_from_dict` (every field of an event as JSON-ready values), :func:`dump_time` /
:func:`load_time` (a UTC time as sortable text).

A store implements the six abstract methods of :class:`Store`. Everything else has a
working default built on them: :meth:`Store.purge`, :meth:`Store.probe` (does the store
answer within a bound?), the read shortcuts, the overview
queries the dashboard uses (:meth:`Store.envelope_counts`, :meth:`Store.backlog`,
:meth:`Store.search_envelopes`), the async face
(blocking methods run in a worker thread, see :meth:`Store.offload`), and the work queue
(:meth:`Store.queue`). Run :class:`connect_mw.testing.StoreContract` against a store to check
it; ``docs/custom-store.md`` walks through a complete one.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread

from ..errors import ConfigurationError
from ..model import EnvelopeState, EnvelopeStatus, PayloadFormat, Transition
from .codec import (
    StoreEncodingError,
    dump_state,
    dump_time,
    event_from_dict,
    event_to_dict,
    load_state,
    load_states,
    load_time,
)
from .probe import PROBE_ENVELOPE, answer_within

if TYPE_CHECKING:
    from ..queues.api import Queue

__all__ = [
    "DEFAULT_RETENTION",
    "EARLIEST",
    "FINAL",
    "PURGEABLE",
    "UNFINISHED",
    "Backlog",
    "Commit",
    "EnvelopeQuery",
    "EnvelopeSearch",
    "EnvelopeState",
    "EventQuery",
    "Lease",
    "ProcessingState",
    "Progress",
    "Snapshot",
    "Store",
    "StoreEncodingError",
    "StoredEvent",
    "answer_within",
    "dump_state",
    "dump_time",
    "envelope_position",
    "event_from_dict",
    "event_to_dict",
    "load_state",
    "load_states",
    "load_time",
    "read_envelopes",
    "search_in_pages",
    "tombstone",
    "utcnow",
]

_R = TypeVar("_R")
_S = TypeVar("_S", bound="Store")

#: How long events are kept by default: DocuSign retries about once a day, at most ten
#: times, so thirty days covers every retry with room to spare.
DEFAULT_RETENTION = timedelta(days=30)
#: The earliest time: orders an envelope that has no ``updated_at`` after every other one.
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class ProcessingState(str, enum.Enum):
    """Where a stored event is in callback processing.

    ``pending`` waits for its first attempt, ``failed`` for a retry at ``next_attempt_at``;
    ``processed`` and ``dead`` are final (``dead``: attempts exhausted, see ``error``).
    ``purged`` is a tombstone: retention dropped the raw body of a final event and kept its
    key, so a re-posted copy of the message is still a duplicate (:meth:`Store.purge`).
    """

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"
    PURGED = "purged"

    @property
    def is_final(self) -> bool:
        """Whether processing of the event is over (processed or dead)."""
        return self in FINAL

    def __str__(self) -> str:
        return str(self.value)


#: Events still to be processed: a claim considers only these.
UNFINISHED = frozenset({ProcessingState.PENDING, ProcessingState.FAILED})
#: Events whose processing is over.
FINAL = frozenset({ProcessingState.PROCESSED, ProcessingState.DEAD, ProcessingState.PURGED})
#: Final events that still hold their raw body: what :meth:`Store.purge` turns into tombstones.
PURGEABLE = frozenset({ProcessingState.PROCESSED, ProcessingState.DEAD})


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on an event: ``worker`` may process it until ``until``; then anyone may."""

    worker: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Progress:
    """An event's processing fields: the part :meth:`Store.update_event` replaces.

    ``revision`` counts the updates; a store stores it as given and compares it, nothing
    more.
    """

    processing: ProcessingState = ProcessingState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease: Lease | None = None
    error: str | None = None
    revision: int = 0


#: The fields :class:`Progress` and :class:`StoredEvent` share.
_PROGRESS_FIELDS = tuple(field.name for field in dataclasses.fields(Progress))


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One recorded delivery.

    The core builds it (everything but ``sequence``) and hands it to :meth:`Store.commit`
    with its ``raw`` body; the store keeps every field as given and assigns ``sequence``,
    an integer that grows with each commit (recording order). Listings return events with
    ``raw`` left ``None``; :meth:`Store.get_event` fills it. ``attempts`` counts claims.
    """

    key: str
    envelope_id: str
    account_id: str | None
    event: str
    status: EnvelopeStatus | None
    format: PayloadFormat
    occurred_at: datetime | None
    received_at: datetime
    raw_size: int
    transitions: tuple[Transition, ...]
    processing: ProcessingState = ProcessingState.PENDING
    error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease: Lease | None = None
    raw: bytes | None = None
    sequence: int = 0
    revision: int = 0

    @property
    def order_at(self) -> datetime:
        """When DocuSign says it happened (``received_at`` when it does not say)."""
        return self.occurred_at or self.received_at

    @property
    def position(self) -> tuple[datetime, int]:
        """The event's place in DocuSign order: ``(order_at, sequence)``."""
        return (self.order_at, self.sequence)

    @property
    def progress(self) -> Progress:
        """The processing fields, as :meth:`Store.update_event` takes them."""
        return Progress(**{name: getattr(self, name) for name in _PROGRESS_FIELDS})

    def with_progress(self, progress: Progress) -> StoredEvent:
        """A copy with ``progress``'s processing fields."""
        changes = {name: getattr(progress, name) for name in _PROGRESS_FIELDS}
        return dataclasses.replace(self, **changes)

    def leased_at(self, now: datetime) -> bool:
        """Whether a worker holds a live lease on the event at ``now``."""
        return self.lease is not None and self.lease.until >= now


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An envelope's state as stored, with the version :meth:`Store.commit` compares."""

    state: EnvelopeState
    version: int


class Commit(str, enum.Enum):
    """What :meth:`Store.commit` did."""

    INSERTED = "inserted"
    DUPLICATE = "duplicate"  # the key was already stored: nothing written
    CONFLICT = "conflict"  # the envelope changed since it was loaded: nothing written


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events :meth:`Store.events` returns, in DocuSign order.

    Every filter is optional: ``envelope_id``; ``processing`` (any of these states);
    ``due_by`` (``next_attempt_at`` at or before it); ``received_before``; ``after`` (keyset
    paging: only events whose :attr:`StoredEvent.position` is greater); ``limit``.
    """

    envelope_id: str | None = None
    processing: frozenset[ProcessingState] | None = None
    due_by: datetime | None = None
    received_before: datetime | None = None
    after: tuple[datetime, int] | None = None
    limit: int | None = None

    def matches(self, event: StoredEvent) -> bool:
        """Whether ``event`` passes every filter (``limit`` aside)."""
        return (
            (self.envelope_id is None or event.envelope_id == self.envelope_id)
            and (self.processing is None or event.processing in self.processing)
            and (self.due_by is None or _due(event, self.due_by))
            and (self.received_before is None or event.received_at < self.received_before)
            and (self.after is None or event.position > self.after)
        )

    def select(self, events: list[StoredEvent]) -> list[StoredEvent]:
        """The answer to this query from a list of every event (for stores kept in memory)."""
        found = sorted((e for e in events if self.matches(e)), key=lambda e: e.position)
        return found if self.limit is None else found[: self.limit]


def tombstone(event: StoredEvent) -> StoredEvent:
    """What retention leaves of ``event``: its key and metadata, ``purged``, no body or lease."""
    return dataclasses.replace(
        event,
        processing=ProcessingState.PURGED,
        next_attempt_at=None,
        lease=None,
        raw=None,
        revision=event.revision + 1,
    )


def _due(event: StoredEvent, moment: datetime) -> bool:
    return event.next_attempt_at is not None and event.next_attempt_at <= moment


@dataclass(frozen=True, slots=True)
class EnvelopeQuery:
    """Which envelopes :meth:`Store.envelopes` returns, most recently updated first.

    The order is ``updated_at`` descending (an envelope without one counts as
    :data:`EARLIEST`), then ``envelope_id`` ascending; ``after`` is the ``(updated_at,
    envelope_id)`` of the last envelope of the previous page (keyset paging).
    """

    status: str | None = None
    after: tuple[datetime | None, str] | None = None
    limit: int = 100

    def matches(self, state: EnvelopeState) -> bool:
        """Whether ``state`` passes the filters (``limit`` aside)."""
        status_ok = self.status is None or (
            state.status is not None and state.status.value == self.status
        )
        return status_ok and (self.after is None or _after(envelope_position(state), self.after))

    def select(self, states: list[EnvelopeState]) -> list[EnvelopeState]:
        """The answer to this query from a list of every state (for stores kept in memory)."""
        found = [s for s in states if self.matches(s)]
        found.sort(key=lambda s: s.envelope_id)
        found.sort(key=lambda s: s.updated_at or EARLIEST, reverse=True)
        return found[: self.limit]


def envelope_position(state: EnvelopeState) -> tuple[datetime | None, str]:
    """An envelope's ``(updated_at, envelope_id)``: the cursor :class:`EnvelopeQuery` takes."""
    return (state.updated_at, state.envelope_id)


def _after(position: tuple[datetime | None, str], cursor: tuple[datetime | None, str]) -> bool:
    at, envelope_id = position[0] or EARLIEST, position[1]
    cursor_at = cursor[0] or EARLIEST
    return at < cursor_at or (at == cursor_at and envelope_id > cursor[1])


class Store(abc.ABC):
    """Base class of every store: six abstract methods, all blocking, all thread-safe.

    Any method may raise any exception when the backend is unreachable: the receiver
    answers 503 and DocuSign retries later. The atomicity :meth:`commit` and
    :meth:`update_event` promise must come from the database (a unique key, a transaction,
    a conditional write), never from a read followed by a write in Python.
    """

    retention: timedelta = DEFAULT_RETENTION

    @abc.abstractmethod
    def load(self, envelope_id: str) -> Snapshot | None:
        """The envelope's state and version, or ``None`` when nothing was committed for it."""

    @abc.abstractmethod
    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        """Store ``event`` (with its ``raw`` body) and ``state`` together, atomically.

        ``DUPLICATE`` and nothing written when an event with ``event.key`` is stored
        (whatever its envelope); else ``CONFLICT`` and nothing written when the envelope's
        stored version is not ``version`` (``0``: the envelope must not exist yet); else
        the event is inserted with the next ``sequence``, the state saved with version
        ``version + 1``, both durably, and ``INSERTED`` returned.

        ``state`` is ``None`` for an event about no envelope (a signed body that could not
        be parsed, kept as a dead letter): then only the event is inserted (``DUPLICATE``
        when its key is stored), no envelope is read or written and ``version`` is ignored.
        """

    @abc.abstractmethod
    def get_event(self, key: str) -> StoredEvent | None:
        """One stored event with its raw body, or ``None``."""

    @abc.abstractmethod
    def events(self, query: EventQuery) -> list[StoredEvent]:
        """The events ``query`` selects, in DocuSign order (``position``), ``raw`` ``None``.

        Stores that keep everything in memory can answer with ``query.select(all_events)``.
        """

    @abc.abstractmethod
    def envelopes(self, query: EnvelopeQuery) -> list[EnvelopeState]:
        """The envelope states ``query`` selects, most recently updated first."""

    @abc.abstractmethod
    def update_event(self, key: str, revision: int, progress: Progress | None) -> bool:
        """Compare-and-set an event's processing fields.

        If event ``key`` exists and its stored ``revision`` equals ``revision``, replace its
        processing fields (``processing``, ``attempts``, ``next_attempt_at``, ``lease``,
        ``error``, ``revision``) with ``progress``'s — or, when ``progress`` is ``None``
        (retention), make the event a tombstone — and return ``True``; otherwise change
        nothing and return ``False``.

        A tombstone keeps the event's key forever, so a later :meth:`commit` of that key
        still answers ``DUPLICATE``; its raw body is dropped. A store either keeps the
        event with ``processing`` ``purged``, ``revision + 1``, no lease and an empty
        ``raw`` (the bundled SQL and memory stores), or keeps only the key in a set the
        duplicate check reads and forgets the rest (Redis): ``get_event`` then answers
        ``None``. Listings never return a tombstone as ``processed`` or ``dead`` again.
        """

    # Built on the six ------------------------------------------------------------

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """The folded state of one envelope, or ``None``."""
        snapshot = self.load(envelope_id)
        return None if snapshot is None else snapshot.state

    def list_envelopes(
        self,
        *,
        status: str | None = None,
        limit: int = 100,
        after: tuple[datetime | None, str] | None = None,
    ) -> list[EnvelopeState]:
        """Envelopes, most recently updated first; see :class:`EnvelopeQuery`."""
        return self.envelopes(EnvelopeQuery(status=status, after=after, limit=limit))

    def list_events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
        after: tuple[datetime, int] | None = None,
    ) -> list[StoredEvent]:
        """Stored events in DocuSign order (``processing=dead`` lists the dead letters)."""
        states = None if processing is None else frozenset({processing})
        return self.events(
            EventQuery(envelope_id=envelope_id, processing=states, after=after, limit=limit)
        )

    def purge(self, before: datetime) -> int:
        """Tombstone final (processed/dead) events received before ``before``; how many.

        Each loses its raw body and keeps its key (see :meth:`update_event` with
        ``None``), so a re-posted old message is still a duplicate. Envelope states are
        kept; unfinished events are kept whatever their age; tombstones are not counted
        again. A store may override this with one bulk statement doing the same.
        """
        doomed = self.events(EventQuery(processing=PURGEABLE, received_before=before))
        return sum(self.update_event(e.key, e.revision, None) for e in doomed)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Tombstone final events older than :attr:`retention` (see :meth:`purge`)."""
        return self.purge((now or utcnow()) - self.retention)

    def queue(self) -> Queue:
        """The work queue over this store's events (the default: :class:`StoreQueue`).

        Stores with a query language override this with a queue that claims in one
        statement (SQLite and PostgreSQL share one SQL text; Redis runs a Lua script).
        """
        from ..queues.store_queue import StoreQueue  # noqa: PLC0415 (queues build on stores)

        return StoreQueue(self)

    def read_marker(self, name: str) -> str | None:
        """A named value the store keeps for the library (e.g. a reconciliation watermark).

        Optional: stores that keep markers override this and :meth:`write_marker`.
        """
        raise ConfigurationError(f"{type(self).__name__} keeps no markers")

    def write_marker(self, name: str, value: str) -> None:
        """Keep ``value`` under ``name`` durably (see :meth:`read_marker`)."""
        raise ConfigurationError(f"{type(self).__name__} keeps no markers")

    def probe(self, timeout: float) -> None:
        """Return once the store answered within ``timeout`` seconds; else raise.

        Raises :class:`~connect_mw.errors.StoreUnavailable`, its ``reason`` one line
        without credentials (for operators: logs, the command line), when the backend is
        down, refuses, or has not answered in time; a
        :class:`~connect_mw.errors.ConfigurationError` when it answered but is set up
        wrong. The default loads an envelope (``PROBE_ENVELOPE``, which need not exist) in
        a thread and waits at most ``timeout`` for it (:func:`answer_within`). Override it
        when that load could wait longer than the server takes to fail, as a pool waiting
        for a free connection does: try one direct, short connection instead.
        """
        answer_within(timeout, lambda: self.load(PROBE_ENVELOPE))

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # The async face ---------------------------------------------------------------

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Run one blocking call of this store from async code.

        The core calls every store method through this hook under ASGI. The default runs it
        in a worker thread; a store whose calls never block may run them inline, and one
        with native async I/O may await it here instead.
        """
        return await anyio.to_thread.run_sync(call)

    # Overview queries (the dashboard's): defaults built on the six ---------------------

    def envelope_counts(self) -> dict[str | None, int]:
        """How many envelopes are in each status (``None``: no status known yet).

        Statuses without envelopes are left out. The default pages through every envelope;
        stores with a query language override it with one grouped count.
        """
        counts: dict[str | None, int] = {}
        for state in _in_pages(self.envelopes, EnvelopeQuery(limit=SCAN_PAGE)):
            status = None if state.status is None else state.status.value
            counts[status] = counts.get(status, 0) + 1
        return counts

    def backlog(self) -> Backlog:
        """The pending, retrying (failed) and dead events at a glance; see :class:`Backlog`.

        The default lists those events (without bodies); stores with a query language
        override it with one grouped query.
        """
        return Backlog.of(self.events(EventQuery(processing=_BACKLOG)))

    def search_envelopes(self, query: EnvelopeSearch) -> list[EnvelopeState]:
        """The envelopes ``query`` finds, in :meth:`envelopes` order; see :class:`EnvelopeSearch`.

        The default reads pages of :meth:`envelopes` and keeps the matches; SQL stores
        narrow the pages with ``LIKE`` first.
        """
        return search_in_pages(query, self.envelopes)


# Overview queries ---------------------------------------------------------------------

#: Envelopes read per round trip when a default overview query pages through a store.
SCAN_PAGE = 500
_BACKLOG = frozenset({ProcessingState.PENDING, ProcessingState.FAILED, ProcessingState.DEAD})


@dataclass(frozen=True, slots=True)
class Backlog:
    """How many events wait (``pending``), wait for a retry (``failed``), or gave up (``dead``).

    ``oldest_pending_at`` is the ``received_at`` of the oldest pending event: how far the
    workers are behind (:meth:`lag`).
    """

    pending: int = 0
    failed: int = 0
    dead: int = 0
    oldest_pending_at: datetime | None = None

    @classmethod
    def of(cls, events: list[StoredEvent]) -> Backlog:
        """The backlog of ``events`` (every pending, failed and dead event)."""
        by_state = {state: 0 for state in ProcessingState}
        for event in events:
            by_state[event.processing] += 1
        pending = [e.received_at for e in events if e.processing is ProcessingState.PENDING]
        return cls(
            by_state[ProcessingState.PENDING],
            by_state[ProcessingState.FAILED],
            by_state[ProcessingState.DEAD],
            min(pending, default=None),
        )

    def lag(self, now: datetime) -> timedelta:
        """The age of the oldest pending event at ``now`` (zero when none is pending)."""
        if self.oldest_pending_at is None:
            return timedelta(0)
        return max(timedelta(0), now - self.oldest_pending_at)


@dataclass(frozen=True, slots=True)
class EnvelopeSearch:
    """Which envelopes :meth:`Store.search_envelopes` returns, in :class:`EnvelopeQuery` order.

    An envelope matches when ``text`` (surrounding blanks stripped; compared after
    ``str.lower``) occurs in its id, its subject or any recipient's email, it is in
    ``status`` (when given), and it comes after ``after`` (keyset paging). Blank ``text``
    matches every envelope.
    """

    text: str
    status: str | None = None
    after: tuple[datetime | None, str] | None = None
    limit: int = 100

    @property
    def needle(self) -> str:
        """``text`` as compared: stripped and lowercased."""
        return self.text.strip().lower()

    def found_in(self, state: EnvelopeState) -> bool:
        """Whether the text occurs in the envelope's id, subject or a recipient's email."""
        needle = self.needle
        fields = (state.envelope_id, state.subject, *(r.email for r in state.recipients))
        return any(needle in field.lower() for field in fields if field is not None)

    def matches(self, state: EnvelopeState) -> bool:
        """Whether ``state`` passes every filter (``limit`` aside)."""
        listed = EnvelopeQuery(status=self.status, after=self.after)
        return listed.matches(state) and self.found_in(state)

    def listing(self, after: tuple[datetime | None, str] | None, limit: int) -> EnvelopeQuery:
        """The envelope listing this search reads, from ``after``, ``limit`` rows."""
        return EnvelopeQuery(status=self.status, after=after, limit=limit)


def search_in_pages(
    query: EnvelopeSearch, read: Callable[[EnvelopeQuery], list[EnvelopeState]]
) -> list[EnvelopeState]:
    """Answer ``query`` by reading pages of candidates with ``read`` and keeping matches.

    ``read`` answers an :class:`EnvelopeQuery` with (at least) every envelope of that page
    that matches ``query`` — a plain listing, or one a store narrowed for the text.
    """
    pages = _in_pages(read, query.listing(query.after, SCAN_PAGE))
    return list(itertools.islice((s for s in pages if query.found_in(s)), max(0, query.limit)))


def read_envelopes(
    query: EnvelopeQuery, read: Callable[[EnvelopeQuery], Sequence[tuple[str, str | bytes]]]
) -> list[EnvelopeState]:
    """Answer ``query`` from the rows ``(envelope_id, state text)`` that ``read`` selects.

    A state that does not decode is left out (:func:`load_states` logs it), and the page is
    read again, longer, so that it falls short of ``query.limit`` only at the listing's end,
    where paging callers (:func:`search_in_pages`, the dashboard) stop. Rows already read
    are not decoded twice; a write between the two reads may list an envelope twice or miss
    one, as a write between two pages may.
    """
    found: list[EnvelopeState] = []
    limit, done = query.limit, 0
    while True:
        rows = read(dataclasses.replace(query, limit=limit))
        found += load_states(rows[done:])
        if len(found) >= query.limit or len(rows) < limit:
            return found[: query.limit]
        done, limit = len(rows), limit + query.limit - len(found)


def _in_pages(
    read: Callable[[EnvelopeQuery], list[EnvelopeState]], listing: EnvelopeQuery
) -> Iterator[EnvelopeState]:
    """Every envelope ``listing`` selects from its ``after`` on, read a page at a time."""
    while True:
        page = read(listing)
        yield from page
        if len(page) < listing.limit:
            return
        listing = dataclasses.replace(listing, after=envelope_position(page[-1]))
