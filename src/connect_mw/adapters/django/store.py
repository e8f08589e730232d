"""``DjangoStore``: the :class:`~connect_mw.stores.Store` contract on Django models.

Events, envelope states and recipients live in the project's database (``migrate`` creates
the tables), so the admin shows them and they share the project's backups. Insert-if-absent
is the unique ``key`` column; the fold runs under a lock on the envelope's row
(``SELECT … FOR UPDATE``; on SQLite, the transaction's write lock, taken first); claims
use ``FOR UPDATE SKIP LOCKED`` where the database has it.

Async twins run the sync methods through ``sync_to_async(thread_sensitive=True)``, as Django
runs sync code under ASGI, so connections stay under Django's management.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import IntegrityError, router, transaction
from django.db.models import F

from ...model import EnvelopeState, Notification
from ...state import fold
from ...stores.base import Lease, ProcessingState, RecordOutcome, Store, StoredEvent, utcnow
from ...stores.codec import load_state
from . import orm
from .models import Envelope, Event

_R = TypeVar("_R")


class DjangoStore(Store):
    """A store in the Django database ``using`` (default: where routers write ``Event``)."""

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def _alias(self) -> str:
        return self.using or router.db_for_write(Event)

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Lock the envelope row, fold, insert the event, save the state: one transaction."""
        alias, n = self._alias(), notification
        try:
            with transaction.atomic(using=alias, durable=True):
                current = orm.lock_envelope(alias, n.envelope_id)
                result = fold(current, n)
                event = orm.new_event(
                    n, raw, key, transitions=result.transitions, received=utcnow(), lease=lease
                )
                event.save(using=alias, force_insert=True)
                orm.save_state(alias, result.state)
        except IntegrityError:
            if not Event.objects.using(alias).filter(key=key).exists():
                raise
            state = self.get_envelope(n.envelope_id) or fold(None, n).state
            return RecordOutcome(key=key, inserted=False, state=state)
        return RecordOutcome(key, True, result.state, result.transitions, result.stale)

    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """See :meth:`Store.claim`: select the claimable keys and lease them, atomically."""
        alias, moment = self._alias(), now or utcnow()
        until = moment + lease_for
        with transaction.atomic(using=alias):
            orm.take_write_lock(alias)
            keys = list(orm.claimable(alias, moment).values_list("key", flat=True)[:limit])
            events = Event.objects.using(alias).filter(key__in=keys)
            events.filter(orm.lease_is_free(moment)).update(
                lease_worker=worker, lease_until=until, attempts=F("attempts") + 1
            )
            claimed = {e.key: e for e in events.filter(lease_worker=worker, lease_until=until)}
        return [orm.stored_event(claimed[k], with_raw=True) for k in keys if k in claimed]

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
        updated: int = (
            Event.objects.using(self._alias())
            .filter(key=key, lease_worker=worker)
            .update(
                processing=state.value,
                error=error,
                next_attempt_at=retry_at if retry_at is not None and not release else utcnow(),
                attempts=F("attempts") - (1 if release else 0),
                lease_worker=None,
                lease_until=None,
            )
        )
        return updated > 0

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Store.requeue`."""
        moment = now or utcnow()
        events = Event.objects.using(self._alias()).filter(orm.lease_is_free(moment), key=key)
        updated: int = events.update(
            processing=ProcessingState.PENDING.value,
            attempts=0,
            next_attempt_at=moment,
            lease_worker=None,
            lease_until=None,
        )
        return updated > 0

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """See :meth:`Store.get_envelope`."""
        envelopes = Envelope.objects.using(self._alias()).filter(state__isnull=False)
        text = envelopes.filter(pk=envelope_id).values_list("state", flat=True).first()
        return None if text is None else load_state(text)

    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """See :meth:`Store.list_envelopes`."""
        envelopes = Envelope.objects.using(self._alias()).filter(state__isnull=False)
        if status is not None:
            envelopes = envelopes.filter(status=status)
        newest = envelopes.order_by(F("updated_at").desc(nulls_last=True), "envelope_id")
        return [load_state(text) for text in newest.values_list("state", flat=True)[:limit] if text]

    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Store.events`."""
        events = Event.objects.using(self._alias()).defer("raw").order_by("order_at", "seq")
        if envelope_id is not None:
            events = events.filter(envelope_id=envelope_id)
        if processing is not None:
            events = events.filter(processing=processing.value)
        rows = events if limit is None else events[:limit]
        return [orm.stored_event(row, with_raw=False) for row in rows]

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        row = Event.objects.using(self._alias()).filter(key=key).first()
        return None if row is None else orm.stored_event(row, with_raw=True)

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`."""
        old = Event.objects.using(self._alias()).filter(received_at__lt=before)
        deleted: int
        deleted, _ = old.filter(processing__in=orm.FINAL).delete()
        return deleted

    async def _in_thread(self, func: Callable[[], _R]) -> _R:
        return await sync_to_async(func, thread_sensitive=True)()
