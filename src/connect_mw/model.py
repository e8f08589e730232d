"""The typed model every Connect payload is normalized into.

Stdlib only. Everything is a frozen, slotted dataclass so a ``Notification`` can be shared
between threads and callbacks without copying.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class _OpenStrEnum(str, enum.Enum):
    """A lower-case string enum that keeps values it does not know instead of rejecting them.

    DocuSign adds statuses without notice; an unknown one becomes a pseudo-member whose
    ``value`` is the lower-cased text, so it compares equal to that string.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        text = value.strip().lower()
        for member in cls:
            if member.value == text:
                return member
        pseudo = str.__new__(cls, text)
        pseudo._name_ = text.upper()
        pseudo._value_ = text
        return pseudo

    def __str__(self) -> str:
        return str(self.value)


class EnvelopeStatus(_OpenStrEnum):
    """An envelope's status as DocuSign names it, lower-cased."""

    CREATED = "created"
    SENT = "sent"
    DELIVERED = "delivered"
    SIGNED = "signed"
    COMPLETED = "completed"
    DECLINED = "declined"
    VOIDED = "voided"
    DELETED = "deleted"
    TIMEDOUT = "timedout"
    TEMPLATE = "template"
    PROCESSING = "processing"
    CORRECT = "correct"

    @property
    def is_terminal(self) -> bool:
        """Whether the envelope's outcome is final (it may still become ``deleted``)."""
        return self.value in ENVELOPE_TERMINAL


class RecipientStatus(_OpenStrEnum):
    """A recipient's status as DocuSign names it, lower-cased."""

    CREATED = "created"
    SENT = "sent"
    DELIVERED = "delivered"
    SIGNED = "signed"
    COMPLETED = "completed"
    DECLINED = "declined"
    FAXPENDING = "faxpending"
    AUTORESPONDED = "autoresponded"

    @property
    def is_terminal(self) -> bool:
        """Whether no later status can replace this one."""
        return self.value in RECIPIENT_TERMINAL


#: Envelope outcomes no later status replaces but ``deleted`` (plain strings: compare with
#: ``.value``).
ENVELOPE_TERMINAL = frozenset({"completed", "declined", "voided"})
#: Recipient statuses no later status replaces.
RECIPIENT_TERMINAL = frozenset({"completed", "declined"})


class PayloadFormat(str, enum.Enum):
    """Which of Connect's body formats a notification arrived in."""

    XML_LEGACY = "xml"
    JSON_SIM = "json-sim"
    JSON_AGGREGATE = "json-aggregate"
    REST_POLL = "rest-poll"
    #: A signed body that could not be parsed: stored as a dead letter, replayable.
    UNPARSED = "unparsed"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent the envelope."""

    name: str | None = None
    email: str | None = None
    user_id: str | None = None
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class CustomField:
    """An envelope or recipient custom field (``text`` or ``list``)."""

    name: str
    value: str | None = None
    field_type: str | None = None
    show: bool | None = None
    required: bool | None = None


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A document attached to the notification, kept encoded until someone asks for its bytes.

    ``encoded_size`` is the length of the base64 text (0 when the notification only listed the
    document without its bytes).
    """

    document_id: str
    name: str | None = None
    document_type: str | None = None
    encoded_size: int = 0
    _encoded: str = field(default="", repr=False, compare=False)

    @property
    def has_content(self) -> bool:
        """Whether the notification carried the document's bytes."""
        return self.encoded_size > 0

    def content(self) -> bytes:
        """Decode and return the document's bytes (a PDF, usually).

        Raises ``ValueError`` when the notification carried no bytes or they are not base64.
        """
        if not self._encoded:
            raise ValueError(f"document {self.document_id!r} was sent without its bytes")
        try:
            return base64.b64decode(self._encoded, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"document {self.document_id!r} is not valid base64") from exc


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of the envelope as the notification describes it."""

    recipient_id: str
    recipient_type: str | None = None
    status: RecipientStatus | None = None
    email: str | None = None
    name: str | None = None
    routing_order: int | None = None
    recipient_id_guid: str | None = None
    client_user_id: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    signed_at: datetime | None = None
    declined_at: datetime | None = None
    decline_reason: str | None = None
    auto_responded_reason: str | None = None
    custom_fields: tuple[CustomField, ...] = ()


@dataclass(frozen=True, slots=True)
class EnvelopeTimes:
    """DocuSign's own per-status timestamps for the envelope, timezone-aware."""

    created: datetime | None = None
    sent: datetime | None = None
    delivered: datetime | None = None
    signed: datetime | None = None
    completed: datetime | None = None
    declined: datetime | None = None
    voided: datetime | None = None
    deleted: datetime | None = None
    status_changed: datetime | None = None
    #: XML ``TimedOut``: when the envelope expired (status ``timedout``).
    timed_out: datetime | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """One Connect delivery, normalized from whichever format it arrived in.

    ``event`` is DocuSign's event name for JSON SIM (``envelope-completed``); XML and
    aggregate JSON carry none, so one is derived from the envelope status
    (``envelope-completed`` for status ``Completed``). ``status`` is ``None`` only when the
    message itself says nothing about the envelope status (a minimal SIM recipient event).
    ``generated_at`` is when DocuSign generated the message.
    """

    event: str
    envelope_id: str
    format: PayloadFormat
    account_id: str | None = None
    status: EnvelopeStatus | None = None
    generated_at: datetime | None = None
    times: EnvelopeTimes = EnvelopeTimes()
    subject: str | None = None
    sender: Sender | None = None
    recipients: tuple[Recipient, ...] = ()
    recipient_id: str | None = None
    void_reason: str | None = None
    decline_reason: str | None = None
    custom_fields: tuple[CustomField, ...] = ()
    documents: tuple[DocumentRef, ...] = ()
    retry_count: int | None = None
    configuration_id: int | None = None
    user_id: str | None = None
    api_version: str | None = None
    raw_size: int = 0
    #: Whether ``recipients`` is the envelope's whole recipient list (an XML
    #: ``RecipientStatuses``, a JSON ``recipients`` object), which then decides which
    #: recipients exist; a SIM recipient event without summary names only one.
    full_recipient_list: bool = False

    @property
    def occurred_at(self) -> datetime | None:
        """The best DocuSign timestamp for ordering this message against others.

        The generation time when DocuSign gave one, else the status-change time, else the
        latest per-status time the message carries.
        """
        if self.generated_at is not None:
            return self.generated_at
        if self.times.status_changed is not None:
            return self.times.status_changed
        stamps = [getattr(self.times, name) for name in EnvelopeTimes.__dataclass_fields__]
        present = [stamp for stamp in stamps if stamp is not None]
        return max(present) if present else None


@dataclass(frozen=True, slots=True)
class Transition:
    """An envelope, or one of its recipients, newly entered a status.

    Fired once per episode: each time the entity enters the status again by DocuSign's own
    timeline (after a correction, say), never for a duplicate or an older message. A
    recipient that a full recipient list no longer names fires ``recipient-removed``.
    ``name`` reads like a Connect event: ``envelope-completed``, ``recipient-sent``.
    """

    kind: str
    status: str
    recipient_id: str | None = None

    @property
    def name(self) -> str:
        """``<kind>-<status>``, the name transition callbacks are registered under."""
        return f"{self.kind}-{self.status}"


@dataclass(frozen=True, slots=True)
class Observation:
    """DocuSign showed an entity in ``status`` at ``at`` (``None``: the message had no time).

    From a message's current status at its time, and from every per-status time it carries
    (``sentDateTime`` places ``sent`` at that time). Consecutive observations of one status,
    in time order, are one *episode* of that status.
    """

    at: datetime | None
    status: str


@dataclass(frozen=True, slots=True)
class RecipientState:
    """What is known of one recipient after folding every notification so far.

    ``removed_at`` is set when the newest full recipient list no longer names the recipient
    and no newer message does (a correction removed it, a reassignment replaced it): it is
    that list's time. The recipient stays here as history, but is not one of
    ``EnvelopeState.active_recipients``. ``status_at`` is when it entered its status by
    DocuSign's times; ``last_seen_at`` the newest message naming it. ``timeline`` is every
    observation of its status, which the fold needs to tell a new episode from a known one.
    """

    recipient_id: str
    recipient_type: str | None = None
    email: str | None = None
    name: str | None = None
    routing_order: int | None = None
    status: RecipientStatus | None = None
    status_at: datetime | None = None
    reached: frozenset[str] = frozenset()
    removed_at: datetime | None = None
    last_seen_at: datetime | None = None
    identity_at: datetime | None = None
    timeline: tuple[Observation, ...] = ()
    recipient_id_guid: str | None = None

    @property
    def removed(self) -> bool:
        """Whether a newer full recipient list no longer names this recipient."""
        return self.removed_at is not None


@dataclass(frozen=True, slots=True)
class EnvelopeState:
    """An envelope's latest known state, folded from every notification received.

    ``status`` is the one DocuSign's own timestamps say is latest: an older message never
    replaces it, a newer one does (even a step back, such as ``sent`` again after a
    correction), and a terminal status (completed, declined, voided) stays, except that an
    envelope may still become ``deleted``. ``reached`` holds every status the envelope ever
    reached; ``timeline`` the observations that tell each episode of a status apart.
    ``roster`` holds the recipient ids and GUIDs of the newest full recipient list, seen at
    ``roster_at`` (both, so an XML list, which gives GUIDs, and a JSON one, which gives short
    ids, agree on who is listed).
    ``status_at`` is when the envelope entered its status, by DocuSign's times.
    """

    envelope_id: str
    account_id: str | None = None
    status: EnvelopeStatus | None = None
    status_at: datetime | None = None
    updated_at: datetime | None = None
    subject: str | None = None
    void_reason: str | None = None
    decline_reason: str | None = None
    reached: frozenset[str] = frozenset()
    recipients: tuple[RecipientState, ...] = ()
    event_count: int = 0
    timeline: tuple[Observation, ...] = ()
    roster: frozenset[str] | None = None
    roster_at: datetime | None = None

    @property
    def active_recipients(self) -> tuple[RecipientState, ...]:
        """The recipients not removed: those to ask "has everyone finished?"."""
        return tuple(r for r in self.recipients if r.removed_at is None)

    def recipient(self, recipient_id: str) -> RecipientState | None:
        """The recipient with this id, or ``None``."""
        for recipient in self.recipients:
            if recipient.recipient_id == recipient_id:
                return recipient
        return None
