"""The data behind each dashboard page, read through the public ``Store`` API.

Pagination is by keyset: a page is ``size`` rows after the cursor of the previous page's
last row (``list_envelopes(after=...)``, ``list_events(processing=dead, after=...)``), so
every page costs one indexed query of ``size + 1`` rows however deep it is, and nothing
limits how far one may browse. The "older" link carries the cursor of the last row shown,
encoded by :func:`encode_cursor` (urlsafe base64 of a small JSON list: safe in a query
string, and anything that does not decode as a cursor opens the first page). Going back is
the browser's: a link leads to the first page, the back button to the previous one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

from ..model import EnvelopeState
from ..stores.api import (
    EnvelopeSearch,
    ProcessingState,
    Store,
    StoredEvent,
    dump_time,
    envelope_position,
    load_time,
)

T = TypeVar("T")
#: An envelope's place in the list: ``(updated_at, envelope_id)``.
EnvelopeCursor = tuple[datetime | None, str]
#: An event's place in DocuSign order: ``(order_at, sequence)``.
EventCursor = tuple[datetime, int]

#: Envelope statuses offered by the filter.
STATUSES = ("created", "sent", "delivered", "signed", "completed", "declined", "voided", "deleted")
#: The most events one envelope page shows.
TIMELINE_LIMIT = 1000
#: The longest cursor accepted from a query string (real ones are far shorter).
MAX_CURSOR = 512
_BADGES = {
    "completed": "ok",
    "processed": "ok",
    "signed": "ok",
    "declined": "bad",
    "voided": "bad",
    "dead": "bad",
    "failed": "warn",
    "behind": "warn",
    "ok": "ok",
    "down": "bad",
    "pending": "info",
    "sent": "info",
    "delivered": "info",
}


def encode_cursor(values: list[str | int | None]) -> str:
    """``values`` as an opaque, query-string-safe cursor."""
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def _decode(cursor: str | None) -> list[object] | None:
    if not cursor or len(cursor) > MAX_CURSOR:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        values = json.loads(text)
    except (binascii.Error, ValueError):  # JSON and Unicode errors are ValueErrors
        return None
    return values if isinstance(values, list) and len(values) == 2 else None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        raise ValueError("not a time")
    return load_time(value)


def envelope_cursor(cursor: str | None) -> EnvelopeCursor | None:
    """The envelope position ``cursor`` encodes, or ``None`` (first page)."""
    values = _decode(cursor)
    if values is None or not isinstance(values[1], str):
        return None
    try:
        return (None if values[0] is None else _time(values[0]), values[1])
    except ValueError:
        return None


def event_cursor(cursor: str | None) -> EventCursor | None:
    """The event position ``cursor`` encodes, or ``None`` (first page)."""
    values = _decode(cursor)
    if values is None or type(values[1]) is not int or not 0 <= values[1] < 2**63:
        return None
    try:
        at = _time(values[0])
    except ValueError:
        return None
    return None if at is None else (at, values[1])


def _envelope_key(state: EnvelopeState) -> str:
    updated_at, envelope_id = envelope_position(state)
    return encode_cursor([dump_time(updated_at), envelope_id])


def _event_key(event: StoredEvent) -> str:
    at, sequence = event.position
    return encode_cursor([dump_time(at), sequence])


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows; ``next_cursor`` (the last row's) when older rows follow."""

    items: list[T]
    number: int
    next_cursor: str | None

    @property
    def has_previous(self) -> bool:
        """Whether pages come before this one."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """Whether a page follows this one."""
        return self.next_cursor is not None


def paginate(rows: list[T], number: int, size: int, cursor_of: Callable[[T], str]) -> Page[T]:
    """The page of ``rows`` (up to ``size + 1`` read: one more says a next page exists)."""
    items = rows[:size]
    more = len(rows) > size and bool(items)
    return Page(items, number, cursor_of(items[-1]) if more else None)


@dataclass(frozen=True)
class Pager:
    """Reads pages of ``size`` rows by keyset."""

    size: int = 50

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("the page size must be at least 1")

    async def envelopes(
        self, store: Store, status: str | None, cursor: str | None, number: int, text: str = ""
    ) -> Page[EnvelopeState]:
        """The envelopes after ``cursor`` (page ``number``), optionally only in ``status``.

        With ``text``, only those whose id, subject or a recipient's email contains it
        (:meth:`~connect_mw.stores.api.Store.search_envelopes`).
        """
        after = envelope_cursor(cursor)
        search = EnvelopeSearch(text, status=status, after=after, limit=self.size + 1)
        if search.needle:
            rows = await store.offload(lambda: store.search_envelopes(search))
        else:
            rows = await store.offload(
                lambda: store.list_envelopes(status=status, limit=self.size + 1, after=after)
            )
        return paginate(rows, _number(after, number), self.size, _envelope_key)

    async def events(
        self, store: Store, processing: ProcessingState, cursor: str | None, number: int
    ) -> Page[StoredEvent]:
        """The events in ``processing`` after ``cursor`` (page ``number``), in DocuSign order."""
        after = event_cursor(cursor)
        rows = await store.offload(
            lambda: store.list_events(processing=processing, limit=self.size + 1, after=after)
        )
        return paginate(rows, _number(after, number), self.size, _event_key)

    async def dead_letters(
        self, store: Store, cursor: str | None, number: int
    ) -> Page[StoredEvent]:
        """The dead letters after ``cursor`` (page ``number``), oldest first (DocuSign order)."""
        return await self.events(store, ProcessingState.DEAD, cursor, number)


def _number(after: object, number: int) -> int:
    """The page number to show: 1 without a cursor, at least 2 with one (it is only shown)."""
    return max(2, number) if after is not None else 1


def badge(status: object) -> str:
    """The CSS class of a status badge: ``ok``, ``bad``, ``warn``, ``info`` or ``muted``."""
    return _BADGES.get(str(status or ""), "muted")


def when(moment: datetime | None) -> str:
    """A timestamp for people: ``2024-03-05 09:22:47 UTC``; an em dash when unknown."""
    if moment is None:
        return "—"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def in_lifecycle_order(statuses: Iterable[str]) -> list[str]:
    """``statuses`` in lifecycle order (created, sent, …), unknown ones last."""
    rank = {status: number for number, status in enumerate(STATUSES)}
    return sorted(statuses, key=lambda status: (rank.get(status, len(rank)), status))


def first_line(text: str | None) -> str:
    """The first non-empty line of an error (the traceback follows it)."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def age(span: timedelta | None) -> str:
    """A duration for people: ``42 s``, ``5 min 3 s``, ``2 h 10 min``, ``3 d 4 h``."""
    if span is None:
        return "—"
    seconds = max(0, int(span.total_seconds()))
    for unit, size, smaller, smaller_size in _AGE_UNITS:
        if seconds >= size:
            rest = (seconds % size) // smaller_size
            return f"{seconds // size} {unit}" + (f" {rest} {smaller}" if rest else "")
    return f"{seconds} s"


_AGE_UNITS = (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1))
