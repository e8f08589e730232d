"""``EncryptedStore``: encryption at rest for any store, by sealing before it stores.

It wraps another store and hands it only sealed personal data: the raw body (which holds
every name, email, IP, tab value and document) is sealed whole, and in the normalized
notification the fields that end up in the folded envelope state — subject, reasons, the
sender, recipients' names, emails and client user ids, custom field values — are replaced by
sealed text before the inner store folds it. Ids, statuses and times stay clear, so folding,
ordering, claims and queries work unchanged. Reads open what they return. Works with every
backend (its contract suite runs against it) and rotates keys through the
:class:`~connect_mw.encryption.Encryptor`'s key ids.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from ..encryption import Encryptor
from ..model import CustomField, EnvelopeState, Notification, Recipient, RecipientState, Sender
from .base import Lease, ProcessingState, RecordOutcome, Store, StoredEvent


class EncryptedStore(Store):
    """Seals personal data with ``encryptor`` before ``inner`` stores it."""

    def __init__(self, inner: Store, encryptor: Encryptor) -> None:
        self.inner = inner
        self.encryptor = encryptor
        self.retention = inner.retention

    # Sealing ------------------------------------------------------------------------

    def _seal(self, text: str | None) -> str | None:
        return None if text is None else self.encryptor.seal_str(text)

    def _open(self, text: str | None) -> str | None:
        return None if text is None else self.encryptor.open_str(text)

    def _seal_recipient(self, r: Recipient) -> Recipient:
        return dataclasses.replace(
            r,
            email=self._seal(r.email),
            name=self._seal(r.name),
            client_user_id=self._seal(r.client_user_id),
            decline_reason=self._seal(r.decline_reason),
            auto_responded_reason=self._seal(r.auto_responded_reason),
            custom_fields=tuple(self._seal_field(f) for f in r.custom_fields),
        )

    def _seal_field(self, field: CustomField) -> CustomField:
        return dataclasses.replace(field, value=self._seal(field.value))

    def seal_notification(self, n: Notification) -> Notification:
        """The notification with every personal field sealed (documents dropped)."""
        sender = n.sender and Sender(
            self._seal(n.sender.name),
            self._seal(n.sender.email),
            n.sender.user_id,
            self._seal(n.sender.ip_address),
        )
        return dataclasses.replace(
            n,
            subject=self._seal(n.subject),
            sender=sender,
            void_reason=self._seal(n.void_reason),
            decline_reason=self._seal(n.decline_reason),
            recipients=tuple(self._seal_recipient(r) for r in n.recipients),
            custom_fields=tuple(self._seal_field(f) for f in n.custom_fields),
            documents=(),
        )

    def open_state(self, state: EnvelopeState | None) -> EnvelopeState | None:
        """A folded state with its sealed fields opened."""
        if state is None:
            return None
        return dataclasses.replace(
            state,
            subject=self._open(state.subject),
            void_reason=self._open(state.void_reason),
            decline_reason=self._open(state.decline_reason),
            recipients=tuple(self._open_recipient(r) for r in state.recipients),
        )

    def _open_recipient(self, r: RecipientState) -> RecipientState:
        return dataclasses.replace(r, email=self._open(r.email), name=self._open(r.name))

    def _open_event(self, event: StoredEvent | None) -> StoredEvent | None:
        if event is None or event.raw is None:
            return event
        raw = self.encryptor.open(event.raw)
        return dataclasses.replace(event, raw=raw, raw_size=len(raw))

    def _opened(self, state: EnvelopeState | None) -> EnvelopeState:
        opened = self.open_state(state)
        assert opened is not None
        return opened

    # The contract, delegated ---------------------------------------------------------

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Seal, then let the inner store record (``raw_size`` is the sealed size)."""
        sealed = self.seal_notification(notification)
        outcome = self.inner.record(sealed, self.encryptor.seal(raw), key, lease=lease)
        return dataclasses.replace(outcome, state=self._opened(outcome.state))

    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """See :meth:`Store.claim`; raw bodies come back opened."""
        claimed = self.inner.claim(worker, lease_for=lease_for, limit=limit, now=now)
        return [e for e in (self._open_event(event) for event in claimed) if e is not None]

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
        return self.inner.finish(key, worker, state, error=error, retry_at=retry_at)

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Store.requeue`."""
        return self.inner.requeue(key, now=now)

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """See :meth:`Store.get_envelope`."""
        return self.open_state(self.inner.get_envelope(envelope_id))

    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """See :meth:`Store.list_envelopes`."""
        return [self._opened(s) for s in self.inner.list_envelopes(status=status, limit=limit)]

    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Store.events` (no raw bodies; ``raw_size`` is the sealed size here)."""
        return self.inner.events(envelope_id, processing=processing, limit=limit)

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`; the raw body comes back opened."""
        return self._open_event(self.inner.get_event(key))

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`."""
        return self.inner.purge(before)

    def close(self) -> None:
        """Close the inner store."""
        self.inner.close()
