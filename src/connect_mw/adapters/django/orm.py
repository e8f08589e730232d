"""Queries and row conversions behind :class:`~connect_mw.adapters.django.store.DjangoStore`.

Every write here is one conditional statement (or an insert against a unique key); the
store composes them into its transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, connections, models, transaction
from django.db.models import Count, F, Min, Q, QuerySet

from ...model import EnvelopeState, EnvelopeStatus, PayloadFormat
from ...stores.api import (
    Backlog,
    EnvelopeQuery,
    EventQuery,
    Lease,
    ProcessingState,
    Progress,
    StoredEvent,
    dump_state,
)
from ...stores.codec import dump_transitions, load_transitions
from .models import Envelope, Event, Recipient

_M = TypeVar("_M", bound=models.Model)
_RECIPIENT_FIELDS = ("position", "recipient_type", "email", "name", "routing_order", "status")


def event_row(event: StoredEvent) -> Event:
    """The row of a newly committed event, every field as the core gave it."""
    lease = event.lease
    return Event(
        key=event.key,
        envelope_id=event.envelope_id,
        account_id=event.account_id,
        event=event.event,
        status=None if event.status is None else event.status.value,
        format=event.format.value,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        order_at=event.order_at,
        raw=event.raw or b"",
        raw_size=event.raw_size,
        transitions=dump_transitions(event.transitions),
        processing=event.processing.value,
        error=event.error,
        attempts=event.attempts,
        next_attempt_at=event.next_attempt_at,
        lease_worker=None if lease is None else lease.worker,
        lease_until=None if lease is None else lease.until,
        revision=event.revision,
    )


def write_envelope(alias: str, state: EnvelopeState, version: int) -> bool:
    """Save ``state`` as version ``version + 1`` if the stored version is still ``version``.

    Version 0 inserts the row (in a savepoint: a concurrent first commit of the envelope
    makes the primary key refuse it); otherwise one ``UPDATE … WHERE version = version``.
    ``False`` when the envelope changed since it was loaded: nothing was written.
    """
    columns = _mirror(state)
    if version == 0:
        try:
            with transaction.atomic(using=alias):
                row = Envelope(envelope_id=state.envelope_id, version=1, **columns)
                row.save(using=alias, force_insert=True)
        except IntegrityError:
            return False
        return True
    envelopes = Envelope.objects.using(alias).filter(pk=state.envelope_id, version=version)
    updated: int = envelopes.update(version=version + 1, **columns)
    return updated > 0


def _mirror(state: EnvelopeState) -> dict[str, object]:
    return {
        "account_id": state.account_id,
        "status": None if state.status is None else state.status.value,
        "status_at": state.status_at,
        "updated_at": state.updated_at,
        "subject": state.subject,
        "event_count": state.event_count,
        "state": dump_state(state),
    }


def mirror_recipients(alias: str, state: EnvelopeState) -> None:
    """Make the envelope's recipient rows those of ``state``, in its order."""
    recipients = Recipient.objects.using(alias)
    rows = [
        Recipient(
            envelope_id=state.envelope_id,
            recipient_id=r.recipient_id,
            position=position,
            recipient_type=r.recipient_type,
            email=r.email,
            name=r.name,
            routing_order=r.routing_order,
            status=None if r.status is None else r.status.value,
            status_at=r.status_at,
        )
        for position, r in enumerate(state.recipients)
    ]
    upsert(alias, rows, ("envelope", "recipient_id"), (*_RECIPIENT_FIELDS, "status_at"))
    ids = [r.recipient_id for r in state.recipients]
    recipients.filter(envelope_id=state.envelope_id).exclude(recipient_id__in=ids).delete()


def upsert(
    alias: str, rows: Sequence[_M], unique: tuple[str, ...], update: tuple[str, ...]
) -> None:
    """Insert ``rows``, or update ``update`` of those whose ``unique`` fields exist: one statement.

    MySQL and MariaDB take no conflict target (they use every unique key), the others need it.
    """
    if not rows:
        return
    with_target = connections[alias].features.supports_update_conflicts_with_target
    type(rows[0])._default_manager.using(alias).bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=unique if with_target else None,
        update_fields=update,
    )


#: The columns retention sets on a tombstone (see :meth:`Store.update_event`).
TOMBSTONE_COLUMNS: dict[str, object] = {
    "raw": b"",
    "body": None,
    "processing": "purged",
    "next_attempt_at": None,
    "lease_worker": None,
    "lease_until": None,
}


def progress_columns(progress: Progress) -> dict[str, object]:
    """The processing columns ``update_event`` replaces, from ``progress``."""
    lease = progress.lease
    return {
        "processing": progress.processing.value,
        "attempts": progress.attempts,
        "next_attempt_at": progress.next_attempt_at,
        "lease_worker": None if lease is None else lease.worker,
        "lease_until": None if lease is None else lease.until,
        "error": progress.error,
        "revision": progress.revision,
    }


def select_events(alias: str, query: EventQuery) -> QuerySet[Event]:
    """The rows ``query`` selects, in DocuSign order ``(order_at, seq)``, bodies deferred."""
    events: QuerySet[Event] = (
        Event.objects.using(alias).defer("raw", "body").order_by("order_at", "seq")
    )
    if query.envelope_id is not None:
        events = events.filter(envelope_id=query.envelope_id)
    if query.processing is not None:
        events = events.filter(processing__in=[state.value for state in query.processing])
    if query.due_by is not None:
        events = events.filter(next_attempt_at__lte=query.due_by)
    if query.received_before is not None:
        events = events.filter(received_at__lt=query.received_before)
    if query.after is not None:
        at, seq = query.after
        events = events.filter(Q(order_at__gt=at) | Q(order_at=at, seq__gt=seq))
    if query.limit is None:
        return events
    page: QuerySet[Event] = events[: query.limit]
    return page


def select_envelopes(
    alias: str, query: EnvelopeQuery, text: str | None = None
) -> QuerySet[Envelope, tuple[str, str]]:
    """The ``(envelope_id, state)`` rows ``query`` selects: ``updated_at`` descending, id.

    With ``text``, only states that contain it (ignoring ASCII case).
    """
    envelopes = Envelope.objects.using(alias)
    if text is not None:
        envelopes = envelopes.filter(state__icontains=text)
    if query.status is not None:
        envelopes = envelopes.filter(status=query.status)
    if query.after is not None:
        envelopes = envelopes.filter(_after_envelope(*query.after))
    # Descending with NULLs last: an envelope without ``updated_at`` is the earliest.
    newest = envelopes.order_by(F("updated_at").desc(nulls_last=True), "envelope_id")
    page: QuerySet[Envelope, tuple[str, str]] = newest.values_list("envelope_id", "state")[
        : query.limit
    ]
    return page


def _after_envelope(at: datetime | None, envelope_id: str) -> Q:
    """Envelopes after the cursor ``(at, envelope_id)``; no ``updated_at`` is the earliest."""
    same_time = Q(updated_at__isnull=True) if at is None else Q(updated_at=at)
    later_id = same_time & Q(envelope_id__gt=envelope_id)
    if at is None:
        return later_id
    return Q(updated_at__lt=at) | Q(updated_at__isnull=True) | later_id


def _body(row: Event) -> bytes:
    """The row's body: in ``body`` when it was written through BLOB I/O, else in ``raw``."""
    return bytes(row.raw if row.body is None else row.body)


def stored_event(row: Event, *, with_raw: bool) -> StoredEvent:
    """A row as the store returns it (``raw`` only ``with_raw``: listings defer it)."""
    lease = None
    if row.lease_until is not None:
        lease = Lease(str(row.lease_worker), row.lease_until)
    return StoredEvent(
        key=row.key,
        envelope_id=row.envelope_id,
        account_id=row.account_id,
        event=row.event,
        status=None if row.status is None else EnvelopeStatus(row.status),
        format=PayloadFormat(row.format),
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        raw_size=row.raw_size,
        transitions=load_transitions(row.transitions),
        processing=ProcessingState(row.processing),
        error=row.error,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease=lease,
        raw=_body(row) if with_raw and row.processing != "purged" else None,
        sequence=row.seq,
        revision=row.revision,
    )


def envelope_counts(alias: str) -> dict[str | None, int]:
    """How many envelopes are in each status: one grouped ``SELECT``."""
    rows = Envelope.objects.using(alias).values_list("status").annotate(n=Count("pk"))
    return {status: int(n) for status, n in rows.order_by()}


def backlog(alias: str) -> Backlog:
    """The pending, failed and dead events' counts and oldest pending: one grouped ``SELECT``."""
    states = ["pending", "failed", "dead"]
    rows = (
        Event.objects.using(alias)
        .filter(processing__in=states)
        .values_list("processing")
        .annotate(n=Count("pk"), oldest=Min("received_at"))
        .order_by()
    )
    found = {processing: (int(n), oldest) for processing, n, oldest in rows}
    return Backlog(
        pending=found.get("pending", (0, None))[0],
        failed=found.get("failed", (0, None))[0],
        dead=found.get("dead", (0, None))[0],
        oldest_pending_at=found.get("pending", (0, None))[1],
    )
