"""Since when an envelope and its recipients have had their status, in DocuSign's own words.

The folded :class:`~connect_mw.model.EnvelopeState` keeps, for ordering, the time of the
message that reported each status. DocuSign also stamps each status itself
(``completedDateTime``, a recipient's ``signedDateTime``, …); :func:`status_times` reads
those from the stored messages, newest first, for what ``status`` shows.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ..errors import ParseError
from ..model import EnvelopeState, EnvelopeTimes, Notification, Recipient, RecipientState
from ..processing import restore
from ..stores import Store

__all__ = ["StatusTimes", "recipient_order", "status_times"]

# A recipient status -> the Recipient field DocuSign stamps it in.
_RECIPIENT_STAMP = {
    "sent": "sent_at",
    "delivered": "delivered_at",
    "signed": "signed_at",
    "completed": "signed_at",
    "declined": "declined_at",
}


@dataclasses.dataclass
class StatusTimes:
    """DocuSign's time for the envelope's status and for each recipient's (by id)."""

    envelope: datetime | None = None
    recipients: dict[str, datetime] = dataclasses.field(default_factory=dict)


def recipient_order(recipient: RecipientState) -> tuple[bool, int, tuple[int, int | str]]:
    """Sort key: routing order (unknown last), then recipient id (numerically when numeric)."""
    rid = recipient.recipient_id
    numeric = rid.isascii() and rid.isdigit()  # "²" is a digit int() refuses
    by_id: tuple[int, int | str] = (0, int(rid)) if numeric else (1, rid)
    return (recipient.routing_order is None, recipient.routing_order or 0, by_id)


def _envelope_stamp(notification: Notification, status: str) -> datetime | None:
    if status in EnvelopeTimes.__struct_fields__ and status != "status_changed":
        stamp: datetime | None = getattr(notification.times, status)
        if stamp is not None:
            return stamp
    if notification.status is not None and notification.status.value == status:
        return notification.times.status_changed
    return None


def _recipient_stamp(recipient: Recipient, status: str) -> datetime | None:
    field = _RECIPIENT_STAMP.get(status)
    return None if field is None else getattr(recipient, field)


def _notifications(store: Store, envelope_id: str) -> list[Notification]:
    """The envelope's stored messages that can still be read, newest first."""
    found = []
    for event in reversed(store.list_events(envelope_id)):
        stored = store.get_event(event.key)
        if stored is None:
            continue
        try:
            found.append(restore(stored))
        except (ParseError, ValueError):
            continue
    return found


def status_times(store: Store, state: EnvelopeState) -> StatusTimes:
    """DocuSign's own times for ``state``'s statuses, from the newest message that has each."""
    times = StatusTimes()
    wanted = {r.recipient_id: r.status.value for r in state.recipients if r.status is not None}
    for notification in _notifications(store, state.envelope_id):
        if times.envelope is None and state.status is not None:
            times.envelope = _envelope_stamp(notification, state.status.value)
        for recipient in notification.recipients:
            status = wanted.get(recipient.recipient_id)
            if status is not None and recipient.recipient_id not in times.recipients:
                stamp = _recipient_stamp(recipient, status)
                if stamp is not None:
                    times.recipients[recipient.recipient_id] = stamp
    return times
