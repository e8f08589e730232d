"""The data behind each dashboard page, read through the public ``Store`` API.

Pagination: the store contract offers ``list_envelopes(status=, limit=)`` (most recently
updated first) and ``events(processing=, limit=)``, with no offset or cursor. Page *n* is
therefore read as the first ``n * size + 1`` rows and sliced, and browsing stops at
``max_depth`` rows (2,000 by default): deeper history is reached by filtering by status
or opening an envelope by id. Each page costs one indexed query of at most ``max_depth + 1``
rows, whatever the size of the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Generic, TypeVar

from ..model import EnvelopeState
from ..stores import ProcessingState, Store, StoredEvent

T = TypeVar("T")

#: Envelope statuses offered by the filter.
STATUSES = ("created", "sent", "delivered", "signed", "completed", "declined", "voided", "deleted")
#: The most events one envelope page shows.
TIMELINE_LIMIT = 1000
_BADGES = {
    "completed": "ok",
    "processed": "ok",
    "signed": "ok",
    "declined": "bad",
    "voided": "bad",
    "dead": "bad",
    "failed": "warn",
    "pending": "info",
    "sent": "info",
    "delivered": "info",
}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows; ``capped`` when more rows exist beyond the browsable depth."""

    items: list[T]
    number: int
    has_next: bool
    capped: bool

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.number > 1


def paginate(rows: list[T], number: int, size: int, last_page: int) -> Page[T]:
    """Slice page ``number`` out of ``rows`` (the first ``number * size + 1`` rows)."""
    start = (number - 1) * size
    more = len(rows) > number * size
    return Page(
        items=rows[start : start + size],
        number=number,
        has_next=more and number < last_page,
        capped=more and number >= last_page,
    )


@dataclass(frozen=True)
class Pager:
    """Page sizes and the browsable depth."""

    size: int = 50
    max_depth: int = 2000

    @property
    def last_page(self) -> int:
        """The deepest page one may open."""
        return max(1, self.max_depth // self.size)

    def clamp(self, number: int) -> int:
        """``number`` within ``1 … last_page``."""
        return min(max(1, number), self.last_page)

    async def envelopes(self, store: Store, status: str | None, number: int) -> Page[EnvelopeState]:
        """Page ``number`` of envelopes, optionally only those in ``status``."""
        number = self.clamp(number)
        rows = await store.alist_envelopes(status=status, limit=number * self.size + 1)
        return paginate(rows, number, self.size, self.last_page)

    async def dead_letters(self, store: Store, number: int) -> Page[StoredEvent]:
        """Page ``number`` of dead letters, oldest first (DocuSign order)."""
        number = self.clamp(number)
        rows = await store.aevents(processing=ProcessingState.DEAD, limit=number * self.size + 1)
        return paginate(rows, number, self.size, self.last_page)


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
