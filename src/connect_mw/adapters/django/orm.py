"""Queries and row conversions behind :class:`~connect_mw.adapters.django.store.DjangoStore`."""

from __future__ import annotations

from datetime import datetime

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from ...model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat, Transition
from ...stores.base import Lease, ProcessingState, StoredEvent
from ...stores.codec import dump_state, dump_transitions, load_state, load_transitions
from .models import Envelope, Event, Recipient

UNFINISHED = (ProcessingState.PENDING.value, ProcessingState.FAILED.value)
FINAL = (ProcessingState.PROCESSED.value, ProcessingState.DEAD.value)
_RECIPIENT_FIELDS = ("position", "recipient_type", "email", "name", "routing_order", "status")


def take_write_lock(alias: str) -> None:
    """Make the open SQLite transaction a write transaction now, as ``BEGIN IMMEDIATE`` does.

    Django opens SQLite transactions deferred: two of them may both read, then neither can
    write. A write statement first (one that matches no row) takes the write lock at once,
    waiting up to the database ``timeout``, so writers serialize. Other databases lock rows.
    """
    connection = connections[alias]
    if connection.vendor != "sqlite":
        return
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET seq = seq WHERE 0 = 1")


def lock_envelope(alias: str, envelope_id: str) -> EnvelopeState | None:
    """Lock the envelope's row for this transaction (inserting it first); its state."""
    envelopes = Envelope.objects.using(alias)
    envelopes.bulk_create([Envelope(envelope_id=envelope_id)], ignore_conflicts=True)
    text = envelopes.select_for_update().filter(pk=envelope_id).values_list("state", flat=True)
    state = text.get()
    return None if state is None else load_state(state)


def new_event(
    notification: Notification,
    raw: bytes,
    key: str,
    *,
    transitions: tuple[Transition, ...],
    received: datetime,
    lease: Lease | None,
) -> Event:
    """The row of a newly recorded delivery: pending, due at once (claimed, with ``lease``)."""
    n = notification
    return Event(
        key=key,
        envelope_id=n.envelope_id,
        account_id=n.account_id,
        event=n.event,
        status=None if n.status is None else n.status.value,
        format=n.format.value,
        occurred_at=n.occurred_at,
        received_at=received,
        order_at=n.occurred_at or received,
        raw=raw,
        raw_size=len(raw),
        transitions=dump_transitions(transitions),
        attempts=1 if lease else 0,
        next_attempt_at=received,
        lease_worker=lease.worker if lease else None,
        lease_until=lease.until if lease else None,
    )


def save_state(alias: str, state: EnvelopeState) -> None:
    """Write ``state`` to its (locked) envelope row and mirror its recipients."""
    Envelope.objects.using(alias).filter(pk=state.envelope_id).update(
        account_id=state.account_id,
        status=None if state.status is None else state.status.value,
        status_at=state.status_at,
        updated_at=state.updated_at,
        subject=state.subject,
        event_count=state.event_count,
        state=dump_state(state),
    )
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
    recipients.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=("envelope", "recipient_id"),
        update_fields=(*_RECIPIENT_FIELDS, "status_at"),
    )
    ids = [r.recipient_id for r in state.recipients]
    recipients.filter(envelope_id=state.envelope_id).exclude(recipient_id__in=ids).delete()


def claimable(alias: str, now: datetime) -> QuerySet[Event]:
    """Events claimable at ``now`` (see :meth:`Store.claim`), most overdue first.

    Rows are locked ``FOR UPDATE SKIP LOCKED`` where the database can, so concurrent
    claimers pass each other by; on SQLite the transaction's write lock serializes them.
    """
    events = Event.objects.using(alias)
    blockers = events.filter(
        Q(lease_until__gte=now)
        | Q(order_at__lt=OuterRef("order_at"))
        | Q(order_at=OuterRef("order_at"), seq__lt=OuterRef("seq")),
        envelope_id=OuterRef("envelope_id"),
        processing__in=UNFINISHED,
    )
    due: QuerySet[Event] = events.filter(
        ~Exists(blockers), processing__in=UNFINISHED, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "order_at", "seq")
    if connections[alias].features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    return due


def lease_is_free(now: datetime) -> Q:
    """No live lease at ``now``."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


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
        raw=bytes(row.raw) if with_raw else None,
    )
