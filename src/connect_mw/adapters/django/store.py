"""``DjangoStore``: the :class:`~connect_mw.stores.api.Store` primitives on Django models.

Events, envelope states and recipients live in the project's database (``migrate`` creates
the tables), so the admin shows them and they share the project's backups. The database
makes every write atomic: :meth:`DjangoStore.commit` inserts the event against its unique
``key`` and writes the envelope only where its ``version`` is still the one loaded, both in
one ``transaction.atomic``; :meth:`DjangoStore.update_event` is one ``UPDATE … WHERE
revision = …``. The work queue is the default :class:`~connect_mw.queues.StoreQueue` over
these primitives.

From async code the blocking methods run through ``sync_to_async(thread_sensitive=True)``
(:meth:`DjangoStore.offload`), as Django runs sync views under ASGI, so connections stay
under Django's management.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import connections, router, transaction
from django.db.models import F, QuerySet

from ...model import EnvelopeState
from ...queues.dialects import Dialect
from ...stores.api import (
    PURGEABLE,
    Backlog,
    Commit,
    EnvelopeQuery,
    EnvelopeSearch,
    EventQuery,
    Progress,
    Snapshot,
    Store,
    StoredEvent,
    answer_within,
    load_state,
    read_envelopes,
    search_in_pages,
)
from ...stores.probe import PROBE_ENVELOPE
from . import orm
from .insert import insert_event
from .models import Envelope, Event, Marker

_R = TypeVar("_R")
#: Events one purge ``UPDATE`` turns into tombstones.
PURGE_BATCH = 1000


def load_and_close(store: Store) -> object:
    """Load the probe envelope from ``store``, then close this thread's database connections.

    For probes run in a thread of their own (:meth:`DjangoStore.probe`, the readiness view):
    Django opens one connection per thread and closes it only at the end of a request, so a
    probe thread's connection would otherwise stay open for good.
    """
    try:
        return store.load(PROBE_ENVELOPE)
    finally:
        connections.close_all()


class _Conflict(Exception):
    """Raised inside :meth:`DjangoStore.commit` to roll back the event insert."""


class DjangoStore(Store):
    """A store in the Django database ``using`` (default: where routers write ``Event``)."""

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def _alias(self) -> str:
        return self.using or router.db_for_write(Event)

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Run ``call`` as Django runs sync code under ASGI: ``sync_to_async``.

        ``thread_sensitive=True``: in a request, the call runs in the thread Django keeps
        for that request's sync code, whose connections Django closes when the request ends
        (``CONN_MAX_AGE``); elsewhere in one shared thread. Any other thread would open
        connections that nothing ever closes.
        """
        return await sync_to_async(call, thread_sensitive=True)()

    def probe(self, timeout: float) -> None:
        """See :meth:`Store.probe`; the probe thread's connection is closed afterwards."""
        answer_within(timeout, lambda: load_and_close(self))

    def load(self, envelope_id: str) -> Snapshot | None:
        """See :meth:`Store.load`."""
        envelopes = Envelope.objects.using(self._alias()).filter(pk=envelope_id)
        found = envelopes.values_list("state", "version").first()
        return None if found is None else Snapshot(load_state(found[0]), found[1])

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        """See :meth:`Store.commit`: one durable transaction, both conditions in the database.

        The event insert comes first (its unique key says ``DUPLICATE``); then the envelope
        write conditional on ``version``; when that writes nothing the whole transaction,
        event insert included, rolls back (``CONFLICT``). Refuses to run inside a caller's
        transaction (``durable=True``): when it returns, the event is committed.
        """
        alias = self._alias()
        try:
            with transaction.atomic(using=alias, durable=True):
                if not insert_event(alias, event):
                    return Commit.DUPLICATE
                if state is None:  # an event about no envelope: stored alone
                    return Commit.INSERTED
                if not orm.write_envelope(alias, state, version):
                    raise _Conflict
                orm.mirror_recipients(alias, state)
        except _Conflict:
            return Commit.CONFLICT
        return Commit.INSERTED

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        row = Event.objects.using(self._alias()).filter(key=key).first()
        return None if row is None else orm.stored_event(row, with_raw=True)

    def events(self, query: EventQuery) -> list[StoredEvent]:
        """See :meth:`Store.events`: DocuSign order ``(order_at, seq)``, keyset pages."""
        rows = orm.select_events(self._alias(), query)
        return [orm.stored_event(row, with_raw=False) for row in rows]

    def envelopes(self, query: EnvelopeQuery) -> list[EnvelopeState]:
        """See :meth:`Store.envelopes`: ``updated_at`` descending, then id; keyset pages."""
        return read_envelopes(query, lambda q: list(orm.select_envelopes(self._alias(), q)))

    def update_event(self, key: str, revision: int, progress: Progress | None) -> bool:
        """See :meth:`Store.update_event`: one ``UPDATE … WHERE revision``."""
        event = Event.objects.using(self._alias()).filter(key=key, revision=revision)
        if progress is None:
            return _tombstone(event) > 0
        updated: int = event.update(**orm.progress_columns(progress))
        return updated > 0

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`: bulk ``UPDATE`` to tombstones, :data:`PURGE_BATCH` at a time."""
        final = [state.value for state in PURGEABLE]
        events = Event.objects.using(self._alias())
        doomed = events.filter(received_at__lt=before, processing__in=final)
        purged = 0
        while True:
            batch = list(doomed.values_list("pk", flat=True)[:PURGE_BATCH])
            purged += _tombstone(doomed.filter(pk__in=batch)) if batch else 0
            if len(batch) < PURGE_BATCH:
                return purged

    def envelope_counts(self) -> dict[str | None, int]:
        """See :meth:`Store.envelope_counts`: one grouped ``SELECT``."""
        return orm.envelope_counts(self._alias())

    def backlog(self) -> Backlog:
        """See :meth:`Store.backlog`: one grouped ``SELECT``."""
        return orm.backlog(self._alias())

    def search_envelopes(self, query: EnvelopeSearch) -> list[EnvelopeState]:
        """See :meth:`Store.search_envelopes`: pages narrowed by ``icontains`` on the state."""
        text, alias = Dialect.search_text(query), self._alias()

        def read(listing: EnvelopeQuery) -> list[EnvelopeState]:
            return read_envelopes(listing, lambda q: list(orm.select_envelopes(alias, q, text)))

        return search_in_pages(query, read)

    def read_marker(self, name: str) -> str | None:
        """See :meth:`Store.read_marker`."""
        markers = Marker.objects.using(self._alias()).filter(pk=name)
        value: str | None = markers.values_list("value", flat=True).first()
        return value

    def write_marker(self, name: str, value: str) -> None:
        """See :meth:`Store.write_marker`: one upsert."""
        orm.upsert(self._alias(), [Marker(name=name, value=value)], ("name",), ("value",))


def _tombstone(rows: QuerySet[Event]) -> int:
    """Make ``rows`` tombstones in one ``UPDATE``: body dropped, key kept."""
    updated: int = rows.update(**orm.TOMBSTONE_COLUMNS, revision=F("revision") + 1)
    return updated
