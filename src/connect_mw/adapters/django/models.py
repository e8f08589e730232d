"""The tables of :class:`~connect_mw.adapters.django.store.DjangoStore`.

``Event`` is one recorded delivery (raw body, transitions, processing state, lease, and the
``revision`` its compare-and-set checks). ``Envelope`` holds the folded
:class:`~connect_mw.model.EnvelopeState` (``state``, the store's source of truth, with the
``version`` its commits check) plus columns mirroring it, and ``Recipient`` one row per
recipient of that state, so the admin can filter and search them. ``Marker`` keeps the
library's named values (a reconciliation watermark). Write through the store, not here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class ProcessingChoices(models.TextChoices):
    """The values of :class:`~connect_mw.stores.ProcessingState`."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"
    PURGED = "purged"


class Event(models.Model):
    """One delivery, stored once under its idempotency key."""

    seq: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    key: models.CharField[str, str] = models.CharField(max_length=255, unique=True)
    envelope_id: models.CharField[str, str] = models.CharField(max_length=100)
    account_id: models.CharField[str | None, str | None] = models.CharField(
        max_length=100, null=True, blank=True
    )
    event: models.CharField[str, str] = models.CharField(max_length=100)
    status: models.CharField[str | None, str | None] = models.CharField(
        max_length=32, null=True, blank=True
    )
    format: models.CharField[str, str] = models.CharField(max_length=32)
    occurred_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    received_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(db_index=True)
    #: ``occurred_at``, or ``received_at`` when DocuSign gave no time: DocuSign order.
    order_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    raw: models.BinaryField[bytes, bytes] = models.BinaryField()
    raw_size: models.BigIntegerField[int, int] = models.BigIntegerField()
    #: JSON ``[[kind, status, recipient_id], …]`` (:mod:`connect_mw.stores.codec`).
    transitions: models.TextField[str, str] = models.TextField()
    processing: models.CharField[str, str] = models.CharField(
        max_length=16, choices=ProcessingChoices.choices, default=ProcessingChoices.PENDING
    )
    error: models.TextField[str | None, str | None] = models.TextField(null=True, blank=True)
    attempts: models.IntegerField[int, int] = models.IntegerField(default=0)
    next_attempt_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    lease_worker: models.CharField[str | None, str | None] = models.CharField(
        max_length=255, null=True, blank=True
    )
    lease_until: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    #: Counts updates of the processing fields; ``update_event`` compares and sets it.
    revision: models.IntegerField[int, int] = models.IntegerField(default=0)
    #: A large body on SQLite, written in place of ``raw`` (then empty) through BLOB I/O
    #: (:mod:`connect_mw.adapters.django.insert`). Keep it the table's LAST column: only there
    #: does SQLite keep the ``zeroblob`` the insert reserves out of memory.
    body: models.BinaryField[bytes | None, bytes | None] = models.BinaryField(null=True)

    class Meta:
        """Indexes for claims (per envelope, by due time) and listings."""

        ordering = ("order_at", "seq")
        indexes = (
            models.Index(fields=("envelope_id", "processing", "order_at"), name="cmw_event_env"),
            models.Index(fields=("processing", "next_attempt_at"), name="cmw_event_due"),
        )

    def __str__(self) -> str:
        return f"{self.event} {self.envelope_id} ({self.key})"


class Envelope(models.Model):
    """The folded state of one envelope; ``state`` is authoritative, the rest mirrors it."""

    envelope_id: models.CharField[str, str] = models.CharField(max_length=100, primary_key=True)
    account_id: models.CharField[str | None, str | None] = models.CharField(
        max_length=100, null=True, blank=True
    )
    status: models.CharField[str | None, str | None] = models.CharField(
        max_length=32, null=True, blank=True, db_index=True
    )
    status_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    updated_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True, db_index=True
    )
    subject: models.TextField[str | None, str | None] = models.TextField(null=True, blank=True)
    event_count: models.IntegerField[int, int] = models.IntegerField(default=0)
    #: :func:`connect_mw.stores.api.dump_state` JSON.
    state: models.TextField[str, str] = models.TextField()
    #: 1 when the envelope is first committed, one more with each commit; ``commit``
    #: writes only while it is still the version the core loaded.
    version: models.IntegerField[int, int] = models.IntegerField()
    recipients: RelatedManager[Recipient]  # the reverse of Recipient.envelope

    def __str__(self) -> str:
        return f"{self.envelope_id} ({self.status or 'unknown'})"


class Recipient(models.Model):
    """One recipient of an envelope's folded state (a mirror, for the admin)."""

    envelope: models.ForeignKey[Envelope, Envelope] = models.ForeignKey(
        Envelope, on_delete=models.CASCADE, related_name="recipients"
    )
    recipient_id: models.CharField[str, str] = models.CharField(max_length=100)
    position: models.IntegerField[int, int] = models.IntegerField(default=0)
    recipient_type: models.CharField[str | None, str | None] = models.CharField(
        max_length=32, null=True, blank=True
    )
    email: models.CharField[str | None, str | None] = models.CharField(
        max_length=320, null=True, blank=True
    )
    name: models.TextField[str | None, str | None] = models.TextField(null=True, blank=True)
    routing_order: models.IntegerField[int | None, int | None] = models.IntegerField(
        null=True, blank=True
    )
    status: models.CharField[str | None, str | None] = models.CharField(
        max_length=32, null=True, blank=True
    )
    status_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )

    class Meta:
        """One row per (envelope, recipient id), in the state's order."""

        ordering = ("envelope", "position")
        constraints = (
            models.UniqueConstraint(fields=("envelope", "recipient_id"), name="cmw_recipient_uniq"),
        )

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.name or self.email or ''} ({self.status or '-'})"


class Marker(models.Model):
    """A named value the store keeps for the library (``Store.read_marker``)."""

    name: models.CharField[str, str] = models.CharField(max_length=255, primary_key=True)
    value: models.TextField[str, str] = models.TextField()

    def __str__(self) -> str:
        return self.name
