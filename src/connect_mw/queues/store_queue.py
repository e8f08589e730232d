"""``StoreQueue``: the queue's rules in Python, over any store's compare-and-set.

It needs only :meth:`Store.events` and :meth:`Store.update_event`, so every store gets
processing for free. Claiming is *announce, then check*: an event is leased by a
compare-and-set on its revision (two claimers of one event: one wins), then the envelope is
read again, and the claim is given back if another of its unfinished events now comes
earlier or holds a live lease. Of two claimers of one envelope the one that checks last
always sees the other's lease, so they never both keep their claims (at worst both give
them back and the next poll tries again). No read-then-write decides anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from ..stores.api import (
    UNFINISHED,
    EventQuery,
    Lease,
    ProcessingState,
    Progress,
    Store,
    StoredEvent,
    utcnow,
)
from .api import Queue

_R = TypeVar("_R")
#: How many due events one look at the store reads.
PAGE = 100


def is_head(event: StoredEvent, unfinished: list[StoredEvent], now: datetime) -> bool:
    """Whether ``event`` may run now among its envelope's ``unfinished`` events.

    Rules 3 and 4 of :mod:`connect_mw.queues.api`: nothing unfinished comes before it and
    no other event of the envelope holds a live lease.
    """
    return not any(
        other.key != event.key and (other.position < event.position or other.leased_at(now))
        for other in unfinished
    )


def finished(
    progress: Progress, state: ProcessingState, error: str | None, retry_at: datetime | None
) -> Progress:
    """The progress after a claim ends with ``state`` (see :meth:`Queue.finish`)."""
    release = state is ProcessingState.PENDING
    return Progress(
        processing=state,
        attempts=progress.attempts - 1 if release else progress.attempts,
        next_attempt_at=retry_at if retry_at is not None and not release else utcnow(),
        lease=None,
        error=error,
        revision=progress.revision + 1,
    )


class StoreQueue(Queue):
    """The default :class:`Queue`: claim rules over ``store``'s compare-and-set."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Blocking calls run the way the store's own do."""
        return await self.store.offload(call)

    def claim(
        self,
        worker: str,
        *,
        lease_for: timedelta,
        limit: int = 1,
        now: datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Queue.claim`: due events in DocuSign order, one per envelope."""
        now = now or utcnow()
        claimed: list[StoredEvent] = []
        seen: set[str] = set()
        for event in self._due(now, key):
            if len(claimed) >= limit:
                break
            if event.envelope_id in seen:
                continue
            seen.add(event.envelope_id)
            taken = self._try_claim(event, worker, now + lease_for, now)
            if taken is not None:
                claimed.append(taken)
        return claimed

    def _due(self, now: datetime, key: str | None) -> Iterator[StoredEvent]:
        if key is not None:
            event = self.store.get_event(key)
            if event is not None and EventQuery(processing=UNFINISHED, due_by=now).matches(event):
                yield dataclasses.replace(event, raw=None)
            return
        after: tuple[datetime, int] | None = None
        while True:
            page = self.store.events(
                EventQuery(processing=UNFINISHED, due_by=now, after=after, limit=PAGE)
            )
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].position

    def _unfinished(self, envelope_id: str) -> list[StoredEvent]:
        return self.store.events(EventQuery(envelope_id=envelope_id, processing=UNFINISHED))

    def _try_claim(
        self, event: StoredEvent, worker: str, until: datetime, now: datetime
    ) -> StoredEvent | None:
        if event.leased_at(now) or not is_head(event, self._unfinished(event.envelope_id), now):
            return None
        lease = Lease(worker, until)
        progress = dataclasses.replace(
            event.progress, lease=lease, attempts=event.attempts + 1, revision=event.revision + 1
        )
        if not self.store.update_event(event.key, event.revision, progress):
            return None  # another claimer, a finish or a requeue came first
        taken = event.with_progress(progress)
        if is_head(taken, self._unfinished(event.envelope_id), now):
            return taken
        # Give the claim back: the envelope changed between the first look and the lease.
        self.store.update_event(
            event.key,
            progress.revision,
            dataclasses.replace(event.progress, revision=progress.revision + 1),
        )
        return None

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Queue.finish`."""
        event = self.store.get_event(key)
        if event is None or event.lease is None or event.lease.worker != worker:
            return False
        progress = finished(event.progress, state, error, retry_at)
        return self.store.update_event(key, event.revision, progress)

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Queue.requeue`."""
        now = now or utcnow()
        event = self.store.get_event(key)
        if event is None or event.leased_at(now) or event.processing is ProcessingState.PURGED:
            return False
        progress = Progress(ProcessingState.PENDING, 0, now, None, event.error, event.revision + 1)
        return self.store.update_event(key, event.revision, progress)
