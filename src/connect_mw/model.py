"""The typed model every Connect payload is normalized into.

Every type is a frozen :class:`msgspec.Struct` (built in C, so a parse or a fold that makes
dozens of them stays cheap), so a ``Notification`` can be shared between threads and
callbacks without copying. Copy one with a change through :func:`msgspec.structs.replace`;
list its fields with :func:`msgspec.structs.fields` (``dataclasses`` does not know them).
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import msgspec

#: An empty read-only mapping: the default of every raw-mapping field.
NO_RAW: Mapping[str, Any] = MappingProxyType({})


def no_raw() -> Mapping[str, Any]:
    """:data:`NO_RAW` (a dataclass default factory)."""
    return NO_RAW


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


class _PartlyCompared(msgspec.Struct, frozen=True):
    """A model type with fields left out of equality, hash and repr.

    ``_uncompared`` are left out of equality and hash (as the former dataclasses'
    ``compare=False`` fields were), ``_unshown`` out of the repr (default: the uncompared
    ones). A Struct compares and hashes every field, and shows every one in its repr (and in
    ``rich``'s, through ``__rich_repr__``); these four methods override that.
    """

    _uncompared: ClassVar[tuple[str, ...]] = ()
    _unshown: ClassVar[tuple[str, ...] | None] = None

    def _compared(self) -> tuple[Any, ...]:
        return tuple(
            getattr(self, name) for name in self.__struct_fields__ if name not in self._uncompared
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, _PartlyCompared)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        unshown = self._uncompared if self._unshown is None else self._unshown
        names = (name for name in self.__struct_fields__ if name not in unshown)
        return [(name, getattr(self, name)) for name in names]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.__rich_repr__())
        return f"{type(self).__name__}({shown})"


class Sender(msgspec.Struct, frozen=True):
    """Who sent the envelope."""

    name: str | None = None
    email: str | None = None
    user_id: str | None = None
    ip_address: str | None = None


class CustomField(msgspec.Struct, frozen=True):
    """An envelope or recipient custom field (``text`` or ``list``)."""

    name: str
    value: str | None = None
    field_type: str | None = None
    show: bool | None = None
    required: bool | None = None


class DocumentRef(_PartlyCompared, frozen=True):
    """A document attached to the notification, kept encoded until someone asks for its bytes.

    ``encoded_size`` is the length of the base64 text (0 when the notification only listed the
    document without its bytes). The text itself (up to the body's size) stays out of the
    repr, and out of equality and hash: documents with the same id, name, type and size
    compare equal.
    """

    document_id: str
    name: str | None = None
    document_type: str | None = None
    encoded_size: int = 0
    _encoded: str = ""

    _uncompared = ("_encoded",)

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


class Tab(_PartlyCompared, frozen=True):
    """One tab (form field) of a recipient, with the value the recipient gave it.

    ``tab_type`` is DocuSign's tab type lower-cased (``text``, ``signhere``, ``checkbox``,
    ``list``, ``radiogroup``, ``formula``, ``payment``…: JSON's ``tabType`` or the
    ``<kind>Tabs`` list it came from, XML's ``TabType``). ``label`` is the ``tabLabel`` (a
    radio group's ``groupName``), the name senders give a field and the key of
    :meth:`Notification.form_value`. ``value`` is what the recipient typed or chose (a
    list's selected value, a radio group's selected radio); ``selected`` is a checkbox's or
    radio group's state when the message says. ``raw`` is the tab as the message carried it
    (a JSON object, or a read-only view of the XML ``TabStatus``) for anything else; it stays
    out of the repr, and out of equality and hash, so a tab read from JSON equals the same
    tab read from XML.
    """

    tab_type: str
    label: str | None = None
    value: str | None = None
    document_id: str | None = None
    page: int | None = None
    name: str | None = None
    original_value: str | None = None
    tab_id: str | None = None
    status: str | None = None
    selected: bool | None = None
    recipient_id: str | None = None
    raw: Mapping[str, Any] = NO_RAW

    _uncompared = ("raw",)


def find_tab(tabs: tuple[Tab, ...], label: str) -> Tab | None:
    """The first tab labelled ``label`` with a value, else the first so labelled, else by name.

    Labels compare exactly; a tab's ``name`` is tried only when no tab has the label.
    """
    labelled = [tab for tab in tabs if tab.label == label]
    for tab in labelled:
        if tab.value is not None:
            return tab
    if labelled:
        return labelled[0]
    return next((tab for tab in tabs if tab.name == label), None)


class Recipient(msgspec.Struct, frozen=True):
    """One recipient of the envelope as the notification describes it.

    ``tabs`` are its form fields with their values (when the subscription includes
    ``tabs``); :meth:`tab` finds one by label.
    """

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
    tabs: tuple[Tab, ...] = ()

    def tab(self, label: str) -> Tab | None:
        """The recipient's tab labelled ``label`` (see :func:`find_tab`), or ``None``."""
        return find_tab(self.tabs, label)


class EnvelopeTimes(msgspec.Struct, frozen=True):
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


class Notification(_PartlyCompared, frozen=True):
    """One Connect delivery, normalized from whichever format it arrived in.

    ``event`` is DocuSign's event name for JSON SIM (``envelope-completed``); XML and
    aggregate JSON carry none, so one is derived from the envelope status
    (``envelope-completed`` for status ``Completed``). ``status`` is ``None`` only when the
    message itself says nothing about the envelope status (a minimal SIM recipient event).
    ``generated_at`` is when DocuSign generated the message. Events about no envelope
    (template, click) have ``envelope_id == ""`` and a ``subject_id`` (see
    :attr:`about_envelope`).

    Form data: :attr:`tabs` (every recipient's), :meth:`form_value` (the value given in one
    field), :attr:`form_data` (label to value). ``extras`` holds, as the message carried
    them, the envelope sections the model does not type (JSON ``envelopeAttachments``,
    ``attachments``, ``powerForm``, ``folders``, ``paymentTabs`` when present); for an
    event about no envelope, the message's ``data`` object under ``"data"``.

    Equality and hash leave out ``extras`` and ``parse_warnings`` (the same message in JSON
    and in XML compares equal); the repr leaves out ``extras``.
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
    extras: Mapping[str, Any] = NO_RAW
    #: Secondary fields of an unexpected shape the parser left empty, and why (they stay
    #: in the raw body); empty for a message read in full.
    parse_warnings: tuple[str, ...] = ()
    #: What an event about no envelope is about: the template (``template-*``) or clickwrap
    #: (``click-*``) id when the message names one; ``None`` for envelope events.
    subject_id: str | None = None

    _uncompared = ("extras", "parse_warnings")
    _unshown = ("extras",)

    @property
    def about_envelope(self) -> bool:
        """Whether the message is about an envelope (template and click events are not).

        An event about no envelope has ``envelope_id == ""`` and empty status fields; it is
        stored alone (no envelope state) and reaches ``on(event)`` and ``on_any`` callbacks.
        """
        return bool(self.envelope_id)

    @property
    def tabs(self) -> tuple[Tab, ...]:
        """Every recipient's tabs, recipient by recipient."""
        return tuple(tab for recipient in self.recipients for tab in recipient.tabs)

    def tab(self, label: str) -> Tab | None:
        """The tab labelled ``label`` of any recipient (see :func:`find_tab`), or ``None``."""
        return find_tab(self.tabs, label)

    def form_value(self, label: str, default: str | None = None) -> str | None:
        """The value given in the field labelled ``label``, or ``default``.

        Looks through every recipient's tabs in recipient order; the first tab with that
        label and a value wins (a field shared by several recipients has one value).
        """
        tab = self.tab(label)
        return default if tab is None or tab.value is None else tab.value

    @property
    def form_data(self) -> dict[str, str]:
        """Label to value for every labelled tab that has a value (first one wins)."""
        data: dict[str, str] = {}
        for tab in self.tabs:
            if tab.label is not None and tab.value is not None:
                data.setdefault(tab.label, tab.value)
        return data

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
        stamps = [getattr(self.times, name) for name in EnvelopeTimes.__struct_fields__]
        present = [stamp for stamp in stamps if stamp is not None]
        return max(present) if present else None


class Transition(msgspec.Struct, frozen=True):
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


class Observation(msgspec.Struct, frozen=True):
    """DocuSign showed an entity in ``status`` at ``at`` (``None``: the message had no time).

    From a message's current status at its time, and from every per-status time it carries
    (``sentDateTime`` places ``sent`` at that time). Consecutive observations of one status,
    in time order, are one *episode* of that status.
    """

    at: datetime | None
    status: str


class RecipientState(msgspec.Struct, frozen=True):
    """What is known of one recipient after folding every notification so far.

    ``removed_at`` is set when the newest full recipient list no longer names the recipient
    and no newer message does (a correction removed it, a reassignment replaced it): it is
    that list's time. The recipient stays here as history, but is not one of
    ``EnvelopeState.active_recipients``. ``status_at`` is when it entered its status by
    DocuSign's times; ``last_seen_at`` the newest message naming it. ``timeline`` is every
    observation of its status, which the fold needs to tell a new episode from a known one.
    ``reached`` holds every status it ever reached, and ``"removed"`` once it was removed.
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


class EnvelopeState(msgspec.Struct, frozen=True):
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
