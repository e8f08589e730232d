"""JSON SIM bodies decoded straight into the model: a complete prototype, measured (issue 13).

    PYTHONPATH=src .venv/bin/python bench/json_wire.py [--bodies 2000] [--repeats 5]

``prototype(body)`` decodes a JSON SIM envelope message with one
``msgspec.json.Decoder(WireMessage)`` (built once) into typed *wire* Structs (camelCase on
the wire, unknown fields skipped, ``int | str`` where DocuSign sends both, times kept as
text, the sections the model keeps raw — tabs, ``extras`` — as plain JSON values), then
maps those Structs into the same ``connect_mw.model.Notification`` that ``parse()`` returns,
with the project's own checks (``clean_text``, ``identifier``, ``count``, ``boolean``,
``status_name``, ``parse_timestamp``, the open enums, ``json_tabs``): the same work as
``parse/json.py`` and ``parse/json_envelope.py``, only the dict walking replaced.

Whatever the fast path does not handle falls back to ``parse()``: a body the typed decode
refuses (not UTF-8, a secondary field of the wrong JSON type, an aggregate message, ...), a
value a check refuses (``routingOrder: "abc"``, a malformed time), a tab left empty, an event
about no envelope (template, click). So the fast path only ever returns messages read in
full (no ``parse_warnings``); every other body costs a failed attempt plus today's path.

What the fast path does not do that ``parse()`` does:

* **A key given twice** is not refused: msgspec keeps the last value, ``parse()`` refuses
  the body. The one real difference (printed at the end); nothing here falls back for it.
* **Lenient per-field reading**: a secondary field of the wrong JSON type fails the whole
  typed decode, a value a check refuses fails the mapping; both fall back (measured).
* Events about no envelope (``extras["data"]`` needs ``data`` as JSON), aggregate bodies
  (no ``event``: a second decoder or a sniff would be needed), bodies not in UTF-8, nesting
  beyond msgspec's limit: fall back.
* Numbers ``parse()`` leaves unread inside the sections kept raw (tabs, ``extras``):
  integers over 30 digits are found by a walk and fall back; a finite float literal over
  100 characters is not detectable once decoded (``parse()`` keeps ``None``, the fast path
  the float).

The script first checks, for every body it measures, that ``prototype(body)`` took the fast
path and equals ``parse(body)``, both by ``==`` and field by field through every nested
Struct (``extras``, ``parse_warnings``, ``Tab.raw``, ``DocumentRef._encoded`` included, times
with their offsets); and, for bodies written to reach the other branches, that the fast
path or the fallback gives what ``parse()`` gives, refusals included. Then it prints, in
µs of process CPU time per body (best of ``--repeats`` passes, the variants taking turns,
over ``--bodies`` distinct bodies: the benchmark body of ``bodies.py`` and each SIM fixture
with its envelope id varied):

* ``parse()`` today, the typed decode alone, decode + mapping (the prototype);
* the mapping's pieces, each replayed in isolation from the calls one mapping made (the
  bare loop's cost subtracted, the calls' argument passing kept): timestamps, text and
  value checks (with the enum lookups), model construction (Structs and ``EnvelopeParts``),
  tabs (``json_tabs``); the rest is glue (attribute reads, branches, tuples);
* what a body the fast path cannot take costs: a wrong-shaped secondary field (the typed
  decode fails) and a wrong value (the mapping fails), each then parsed by ``parse()``;
* ``Receiver.handle`` (memory store, HMAC prechecked, as ``request_cost.py``) for the
  benchmark bodies with the receiver's ``parse`` as it is and replaced by ``prototype``.
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest import mock

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bodies

from connect_mw.errors import ParseError
from connect_mw.model import (
    NO_RAW,
    CustomField,
    DocumentRef,
    EnvelopeStatus,
    EnvelopeTimes,
    Notification,
    PayloadFormat,
    Recipient,
    RecipientStatus,
    Sender,
)
from connect_mw.parse import parse
from connect_mw.parse.conventions import (
    JSON_RECIPIENT_LISTS,
    envelope_decline_reason,
    fallback_document_id,
    fallback_recipient_id,
)
from connect_mw.parse.json import (
    _ENVELOPE_EVENT_STATUS,
    _GUID,
    _NOT_ENVELOPE,
    _RECIPIENT_EVENT_STATUS,
    _URI_ENVELOPE,
    _envelope_fields,
)
from connect_mw.parse.json_envelope import EXTRA_SECTIONS, EnvelopeParts
from connect_mw.parse.json_load import MAX_INT_DIGITS, UnreadableNumber
from connect_mw.parse.tabs import TabBudget, json_tabs
from connect_mw.parse.timestamps import parse_timestamp
from connect_mw.parse.values import (
    boolean,
    clean_text,
    count,
    identifier,
    required_identifier,
    status_name,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
JSON = "application/json"


# The wire: what DocuSign sends, typed ---------------------------------------------------


class _Wire(msgspec.Struct, rename="camel", kw_only=True, gc=False):
    """Wire Struct base: camelCase keys, unknown keys skipped, no GC tracking (no cycles)."""


class WireCustomField(_Wire):
    """``{name, value, show, required}`` (envelope or recipient custom field)."""

    name: str | None = None
    value: str | None = None
    show: str | bool | None = None
    required: str | bool | None = None


class WireCustomFields(_Wire):
    """An envelope's ``customFields``."""

    text_custom_fields: list[WireCustomField] | None = None
    list_custom_fields: list[WireCustomField] | None = None


class WireRecipient(_Wire):
    """One member of a recipient list."""

    recipient_id: str | None = None
    recipient_id_guid: str | None = None
    status: str | None = None
    email: str | None = None
    signer_email: str | None = None
    name: str | None = None
    signer_name: str | None = None
    routing_order: int | str | None = None
    client_user_id: str | None = None
    sent_date_time: str | None = None
    delivered_date_time: str | None = None
    signed_date_time: str | None = None
    declined_date_time: str | None = None
    declined_reason: str | None = None
    auto_responded_reason: str | None = None
    custom_fields: list[str | WireCustomField] | None = None
    #: Kept as JSON: ``json_tabs`` reads it and each ``Tab.raw`` is its object.
    tabs: dict[str, Any] | None = None


class WireRecipients(_Wire):
    """``recipients``: one list per recipient type."""

    signers: list[WireRecipient] | None = None
    agents: list[WireRecipient] | None = None
    editors: list[WireRecipient] | None = None
    intermediaries: list[WireRecipient] | None = None
    carbon_copies: list[WireRecipient] | None = None
    certified_deliveries: list[WireRecipient] | None = None
    in_person_signers: list[WireRecipient] | None = None
    seals: list[WireRecipient] | None = None
    witnesses: list[WireRecipient] | None = None
    notaries: list[WireRecipient] | None = None


class WireSender(_Wire):
    """``sender``."""

    user_name: str | None = None
    email: str | None = None
    user_id: str | None = None
    ip_address: str | None = None


class WireDocument(_Wire):
    """One of ``envelopeDocuments``."""

    document_id: str | None = None
    name: str | None = None
    type: str | None = None
    pdf_bytes: str | None = msgspec.field(default=None, name="PDFBytes")


class WireEnvelope(_Wire):
    """The REST envelope object (``data.envelopeSummary``)."""

    envelope_id: str | None = None
    status: str | None = None
    email_subject: str | None = None
    voided_reason: str | None = None
    created_date_time: str | None = None
    sent_date_time: str | None = None
    delivered_date_time: str | None = None
    completed_date_time: str | None = None
    declined_date_time: str | None = None
    voided_date_time: str | None = None
    deleted_date_time: str | None = None
    status_changed_date_time: str | None = None
    sender: WireSender | None = None
    recipients: WireRecipients | None = None
    custom_fields: WireCustomFields | None = None
    envelope_documents: list[WireDocument] | None = None
    # EXTRA_SECTIONS, kept as the message carried them
    envelope_attachments: Any = None
    attachments: Any = None
    power_form: Any = None
    folders: Any = None
    payment_tabs: Any = None


class WireData(_Wire):
    """A SIM message's ``data``."""

    account_id: str | None = None
    user_id: str | None = None
    envelope_id: str | None = None
    recipient_id: str | None = None
    envelope_summary: WireEnvelope | None = None


class WireMessage(_Wire):
    """A Connect 2.0 SIM message (``event`` required: an aggregate body falls back)."""

    event: str
    api_version: str | None = None
    uri: str | None = None
    retry_count: int | str | None = None
    configuration_id: int | str | None = None
    generated_date_time: str | None = None
    data: WireData | None = None


DECODER = msgspec.json.Decoder(WireMessage)
_NO_DATA = WireData()
#: Integers of more than MAX_INT_DIGITS digits: parse() leaves them unread.
_TOO_LARGE = 10**MAX_INT_DIGITS
#: (attribute of WireRecipients, recipient_type), in JSON_RECIPIENT_LISTS' order.
_LISTS = (
    ("signers", "signer"),
    ("agents", "agent"),
    ("editors", "editor"),
    ("intermediaries", "intermediary"),
    ("carbon_copies", "carbon_copy"),
    ("certified_deliveries", "certified_delivery"),
    ("in_person_signers", "in_person_signer"),
    ("seals", "seal"),
    ("witnesses", "witness"),
    ("notaries", "notary"),
)
_EXTRAS = tuple(
    (key, name)
    for key, name in zip(
        EXTRA_SECTIONS,
        ("envelope_attachments", "attachments", "power_form", "folders", "payment_tabs"),
        strict=True,
    )
)
_TIMES = (
    ("created", "created_date_time", "createdDateTime"),
    ("sent", "sent_date_time", "sentDateTime"),
    ("delivered", "delivered_date_time", "deliveredDateTime"),
    ("completed", "completed_date_time", "completedDateTime"),
    ("declined", "declined_date_time", "declinedDateTime"),
    ("voided", "voided_date_time", "voidedDateTime"),
    ("deleted", "deleted_date_time", "deletedDateTime"),
    ("status_changed", "status_changed_date_time", "statusChangedDateTime"),
)


def _check_wire_names() -> None:
    """The wire names above are the ones the parser reads (a rename typo would skip a list)."""
    info = msgspec.inspect.type_info(WireRecipients)
    assert isinstance(info, msgspec.inspect.StructType)
    names = {field.name: field.encode_name for field in info.fields}
    assert [names[attr] for attr, _ in _LISTS] == list(JSON_RECIPIENT_LISTS)
    assert [kind for _, kind in _LISTS] == list(JSON_RECIPIENT_LISTS.values())
    info = msgspec.inspect.type_info(WireEnvelope)
    assert isinstance(info, msgspec.inspect.StructType)
    names = {field.name: field.encode_name for field in info.fields}
    assert all(names[attr] == key for key, attr in _EXTRAS)
    assert all(names[attr] == key for _, attr, key in _TIMES)


_check_wire_names()


# The mapping: wire Structs into the model ----------------------------------------------


class _Fallback(Exception):
    """The fast path does not handle this message: today's ``parse()`` does."""


def prototype(body: bytes, content_type: str | None = JSON) -> Notification:
    """``parse(body, content_type)``, by the typed fast path when it can take the body."""
    fast = fast_path(body)
    return fast if fast is not None else parse(body, content_type)


def fast_path(body: bytes) -> Notification | None:
    """The notification by typed decode and mapping; ``None`` when ``parse()`` must do it."""
    try:
        message = DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):  # ValidationError included
        return None
    try:
        return _sim(message, len(body))
    except (ParseError, _Fallback):
        return None


def _sim(message: WireMessage, raw_size: int) -> Notification:
    """As ``parse.json._sim``, for an envelope event whose every field reads."""
    event = required_identifier(message.event, "JSON: event").lower()
    data = message.data or _NO_DATA
    if event.startswith(_NOT_ENVELOPE) or not _names_an_envelope(message, data, event):
        raise _Fallback  # extras["data"] would need the data object as JSON
    summary = data.envelope_summary
    parts = _envelope(summary) if summary is not None else None
    recipient_id = identifier(data.recipient_id, "recipientId") if data.recipient_id else None
    status = parts.status if parts is not None else None
    if status is None:
        named = _ENVELOPE_EVENT_STATUS.get(event)
        status = EnvelopeStatus(named) if named is not None else None
    stamp = message.generated_date_time
    retry, configuration = message.retry_count, message.configuration_id
    return Notification(
        event=event,
        envelope_id=_envelope_id(message, data, parts),
        format=PayloadFormat.JSON_SIM,
        account_id=identifier(data.account_id, "accountId") if data.account_id else None,
        status=status,
        generated_at=parse_timestamp(stamp, "generatedDateTime") if stamp is not None else None,
        recipient_id=recipient_id,
        retry_count=count(retry, "retryCount") if retry is not None else None,
        configuration_id=(
            count(configuration, "configurationId") if configuration is not None else None
        ),
        user_id=identifier(data.user_id, "userId") if data.user_id else None,
        api_version=identifier(message.api_version, "apiVersion") if message.api_version else None,
        raw_size=raw_size,
        **_envelope_fields(parts, _event_recipients(event, recipient_id)),
    )


def _names_an_envelope(message: WireMessage, data: WireData, event: str) -> bool:
    if event.startswith(("envelope-", "recipient-")):
        return True
    if data.envelope_id is not None or data.envelope_summary is not None:
        return True
    return message.uri is not None and "/envelopes/" in message.uri


def _envelope_id(message: WireMessage, data: WireData, parts: EnvelopeParts | None) -> str:
    """``data.envelopeId`` and the summary's (which must agree), else the ``uri`` GUID."""
    given = identifier(data.envelope_id, "envelopeId") if data.envelope_id is not None else None
    summary_id = parts.envelope_id if parts is not None else None
    present = [c for c in (given, summary_id) if c is not None]
    if not present:
        uri = clean_text(message.uri, "uri") if message.uri is not None else None
        matches = _URI_ENVELOPE.findall(uri) if uri is not None else []
        found = identifier(matches[-1], "JSON: uri envelope id") if matches else None
        if found is None:
            raise ParseError("JSON: data.envelopeId is missing")
        if not _GUID.fullmatch(found):
            raise ParseError("JSON: the envelope id in uri is not a GUID")
        return found
    if len(present) > 1 and present[0].lower() != present[1].lower():
        raise ParseError("JSON: data.envelopeId and data.envelopeSummary.envelopeId disagree")
    return present[0]


def _event_recipients(event: str, recipient_id: str | None) -> tuple[Recipient, ...]:
    if recipient_id is None or not event.startswith("recipient-"):
        return ()
    named = _RECIPIENT_EVENT_STATUS.get(event)
    status = RecipientStatus(named) if named is not None else None
    return (Recipient(recipient_id=recipient_id, status=status),)


def _envelope(envelope: WireEnvelope) -> EnvelopeParts:
    """As ``json_envelope.read_envelope``."""
    recipients, full = _recipients(envelope.recipients)
    times: dict[str, datetime | None] = {}
    for field, attr, key in _TIMES:
        text = getattr(envelope, attr)
        times[field] = parse_timestamp(text, key) if text is not None else None
    status = status_name(envelope.status, "status") if envelope.status is not None else None
    subject, void = envelope.email_subject, envelope.voided_reason
    return EnvelopeParts(
        envelope_id=identifier(envelope.envelope_id, "envelopeId")
        if envelope.envelope_id
        else None,
        status=EnvelopeStatus(status) if status is not None else None,
        subject=clean_text(subject, "emailSubject") if subject is not None else None,
        sender=_sender(envelope.sender) if envelope.sender is not None else None,
        times=EnvelopeTimes(**times),
        recipients=recipients,
        void_reason=clean_text(void, "voidedReason") if void is not None else None,
        decline_reason=envelope_decline_reason(recipients),
        custom_fields=(
            _custom_fields(envelope.custom_fields) if envelope.custom_fields is not None else ()
        ),
        documents=_documents(envelope.envelope_documents) if envelope.envelope_documents else (),
        full_recipient_list=full,
        extras=_extras(envelope),
    )


def _extras(envelope: WireEnvelope) -> Mapping[str, Any]:
    found = {key: value for key, attr in _EXTRAS if (value := getattr(envelope, attr)) is not None}
    if not found:
        return NO_RAW
    if _unreadable(found):  # parse() keeps such a number as None
        raise _Fallback
    return MappingProxyType(found)


def _unreadable(value: object) -> bool:
    """Whether JSON kept as it came holds an integer the strict loader would not read."""
    if isinstance(value, dict):
        return any(_unreadable(item) for item in value.values())
    if isinstance(value, list):
        return any(_unreadable(item) for item in value)
    return type(value) is int and not -_TOO_LARGE < value < _TOO_LARGE


def _sender(sender: WireSender) -> Sender | None:
    name, email, user, address = sender.user_name, sender.email, sender.user_id, sender.ip_address
    name = clean_text(name, "userName") if name is not None else None
    email = clean_text(email, "email") if email is not None else None
    user = identifier(user, "userId") if user is not None else None
    address = clean_text(address, "ipAddress") if address is not None else None
    if name is None and email is None and user is None and address is None:
        return None
    return Sender(name=name, email=email, user_id=user, ip_address=address)


def _custom_fields(raw: WireCustomFields) -> tuple[CustomField, ...]:
    fields: list[CustomField] = []
    for items, field_type in ((raw.text_custom_fields, "text"), (raw.list_custom_fields, "list")):
        for item in items or ():
            field = _custom_field(item, field_type)
            if field is not None:
                fields.append(field)
    return tuple(fields)


def _custom_field(item: WireCustomField, field_type: str | None) -> CustomField | None:
    name = clean_text(item.name, "name") if item.name is not None else None
    if name is None:
        return None
    value, show, required = item.value, item.show, item.required
    return CustomField(
        name=name,
        value=clean_text(value, "value") if value is not None else None,
        field_type=field_type,
        show=boolean(show, "show") if show is not None else None,
        required=boolean(required, "required") if required is not None else None,
    )


def _recipients(raw: WireRecipients | None) -> tuple[tuple[Recipient, ...], bool]:
    """Every recipient, list by list; whole (every list read) unless the fast path gives up."""
    if raw is None:
        return (), False
    found: list[Recipient] = []
    skipped: list[str] = []
    budget = TabBudget(sink=skipped.append)
    for attr, recipient_type in _LISTS:
        for item in getattr(raw, attr) or ():
            found.append(_recipient(item, recipient_type, budget))
    if skipped:  # a tab left empty: parse() notes it in parse_warnings
        raise _Fallback
    return tuple(found), True


def _recipient(item: WireRecipient, recipient_type: str, budget: TabBudget) -> Recipient:
    email = clean_text(item.email, "email") if item.email is not None else None
    if email is None and item.signer_email is not None:
        email = clean_text(item.signer_email, "signerEmail")
    name = clean_text(item.name, "name") if item.name is not None else None
    if name is None and item.signer_name is not None:
        name = clean_text(item.signer_name, "signerName")
    order = count(item.routing_order, "routingOrder") if item.routing_order is not None else None
    guid = item.recipient_id_guid
    guid = identifier(guid, "recipientIdGuid") if guid is not None else None
    given = identifier(item.recipient_id, "recipientId") if item.recipient_id is not None else None
    recipient_id = given or guid or fallback_recipient_id(recipient_type, order, email, name)
    status = status_name(item.status, "status") if item.status is not None else None
    client, declined, auto = item.client_user_id, item.declined_reason, item.auto_responded_reason
    if item.tabs is not None and _unreadable(item.tabs):  # parse() leaves it unread
        raise _Fallback
    sent, delivered = item.sent_date_time, item.delivered_date_time
    signed, declined_at = item.signed_date_time, item.declined_date_time
    return Recipient(
        recipient_id=recipient_id,
        recipient_type=recipient_type,
        status=RecipientStatus(status) if status is not None else None,
        email=email,
        name=name,
        routing_order=order,
        recipient_id_guid=guid,
        client_user_id=identifier(client, "clientUserId") if client is not None else None,
        sent_at=parse_timestamp(sent, "sentDateTime") if sent is not None else None,
        delivered_at=(
            parse_timestamp(delivered, "deliveredDateTime") if delivered is not None else None
        ),
        signed_at=parse_timestamp(signed, "signedDateTime") if signed is not None else None,
        declined_at=(
            parse_timestamp(declined_at, "declinedDateTime") if declined_at is not None else None
        ),
        decline_reason=clean_text(declined, "declinedReason") if declined is not None else None,
        auto_responded_reason=(
            clean_text(auto, "autoRespondedReason") if auto is not None else None
        ),
        custom_fields=_recipient_fields(item.custom_fields) if item.custom_fields else (),
        tabs=json_tabs(item.tabs, "tabs", recipient_id, budget) if item.tabs is not None else (),
    )


def _recipient_fields(entries: list[str | WireCustomField]) -> tuple[CustomField, ...]:
    fields: list[CustomField] = []
    for entry in entries:
        if isinstance(entry, str):
            name = clean_text(entry, "customFields")
            field = CustomField(name=name) if name is not None else None
        else:
            field = _custom_field(entry, None)
        if field is not None:
            fields.append(field)
    return tuple(fields)


def _documents(items: list[WireDocument]) -> tuple[DocumentRef, ...]:
    found: list[DocumentRef] = []
    for position, item in enumerate(items, start=1):
        kind = clean_text(item.type, "type") if item.type is not None else None
        document_type = kind.lower() if kind is not None else None
        given = identifier(item.document_id, "documentId") if item.document_id else None
        encoded = (item.pdf_bytes or "").strip()
        if not encoded.isascii():
            raise ParseError("JSON: PDFBytes is not base64 text")
        if encoded:
            clean_text(encoded, "PDFBytes")  # for its refusals (NUL)
        found.append(
            DocumentRef(
                document_id=given or fallback_document_id(document_type, position),
                name=clean_text(item.name, "name") if item.name is not None else None,
                document_type=document_type,
                encoded_size=len(encoded),
                _encoded=encoded,
            )
        )
    return tuple(found)


# Honesty: the prototype's result against parse()'s, field by field ----------------------


def deep(value: object) -> object:
    """``value`` as nested plain data: every Struct field (compared or not), types kept."""
    if isinstance(value, msgspec.Struct):
        fields = msgspec.structs.asdict(value)
        return (type(value).__name__, {name: deep(item) for name, item in fields.items()})
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    if isinstance(value, UnreadableNumber):  # compares by identity: by its length here
        return ("UnreadableNumber", value.length)
    if isinstance(value, Mapping):
        return (type(value).__name__, {key: deep(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [deep(item) for item in value])
    return (type(value).__name__, value)


def check_same(label: str, corpus: Sequence[bytes], *, fast: bool) -> None:
    """Assert ``prototype(body)`` equals ``parse(body)`` for every body, in every field.

    With ``fast`` the fast path must have taken every body (else it must have refused each).
    """
    for body in corpus:
        taken = fast_path(body)
        assert (taken is not None) is fast, f"{label}: fast path taken: {taken is not None}"
        mine, today = prototype(body), parse(body, JSON)
        assert mine == today, f"{label}: prototype != parse()"
        assert deep(mine) == deep(today), f"{label}: a field differs"


# Timing -----------------------------------------------------------------------------------


#: Process CPU time: other load on a shared machine counts less than in wall time.
CLOCK = time.process_time


def best(
    items: Sequence[Any], steps: dict[str, Callable[[Any], object]], repeats: int
) -> dict[str, float]:
    """Each step's best time per item over ``repeats`` passes, in µs.

    The steps take turns within each repeat, so a burst of load hits them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = CLOCK()
            for item in items:
                step(item)
            times[name].append((CLOCK() - started) / len(items) * 1e6)
    return {name: min(spent) for name, spent in times.items()}


Call = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]
#: The mapping's pieces timed in isolation: the module globals each is called through.
PIECES: dict[str, tuple[str, ...]] = {
    "timestamps": ("parse_timestamp",),
    "checks": (
        "clean_text",
        "identifier",
        "required_identifier",
        "count",
        "boolean",
        "status_name",
        "EnvelopeStatus",
        "RecipientStatus",
    ),
    "construction": (
        "Notification",
        "Recipient",
        "EnvelopeTimes",
        "Sender",
        "CustomField",
        "DocumentRef",
        "EnvelopeParts",
    ),
    "tabs": ("json_tabs",),
}


def record(corpus: Sequence[bytes]) -> dict[str, list[list[Call]]]:
    """Map every body with each piece's calls recorded: piece -> body -> calls made."""
    module = globals()
    made: dict[str, list[list[Call]]] = {piece: [[] for _ in corpus] for piece in PIECES}
    current: dict[str, list[Call]] = {}
    saved = {name: module[name] for names in PIECES.values() for name in names}

    def recorder(piece: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: Any, **kwargs: Any) -> object:
            current[piece].append((real, args, kwargs))
            return real(*args, **kwargs)

        return call

    for piece, names in PIECES.items():
        for name in names:
            module[name] = recorder(piece, saved[name])
    try:
        for index, body in enumerate(corpus):
            current.update({piece: made[piece][index] for piece in PIECES})
            assert fast_path(body) is not None
    finally:
        module.update(saved)
    return made


def _noop(*args: object, **kwargs: object) -> None:
    return None


def _fresh(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with a new tab budget (a replayed ``json_tabs`` must not exhaust one)."""
    return tuple(TabBudget(sink=_noop) if isinstance(arg, TabBudget) else arg for arg in args)


def replay(per_body: list[list[Call]], repeats: int) -> float:
    """µs per body to make the recorded calls again, less the bare loop over them.

    What stays in is each call with its arguments unpacked from a tuple and a dict: a
    little more than the mapping's own direct call (an upper bound for each piece).
    """
    spent, loop = [], []
    for _ in range(repeats):
        prepared = [[(f, _fresh(a), k) for f, a, k in calls] for calls in per_body]
        started = CLOCK()
        for calls in prepared:
            for function, args, kwargs in calls:
                function(*args, **kwargs)
        spent.append(CLOCK() - started)
        started = CLOCK()
        for calls in prepared:
            for _call in calls:
                pass
        loop.append(CLOCK() - started)
    return max(min(spent) - min(loop), 0.0) / len(per_body) * 1e6


def variants(body: bytes, number: int) -> list[bytes]:
    """``number`` distinct copies of ``body``, each with its own envelope id."""
    envelope = parse(body, JSON).envelope_id.encode()
    return [
        body.replace(envelope, str(uuid.UUID(int=index + 1, version=4)).encode())
        for index in range(number)
    ]


def corpora(number: int) -> dict[str, list[bytes]]:
    """The bodies measured: the benchmark's SIM body and every SIM fixture, ``number`` each."""
    found = {"bench SIM 2.2 KB": [bodies.json_body(i, salt=7) for i in range(number)]}
    for path in sorted(FIXTURES.glob("sim_*.json")):
        found[path.stem.removeprefix("sim_")] = variants(path.read_bytes(), number)
    return found


def _edit(body: bytes, old: bytes, new: bytes) -> bytes:
    assert body.count(old) >= 1, old
    return body.replace(old, new, 1)


def _bench_message() -> dict[str, Any]:
    message: dict[str, Any] = json.loads(bodies.json_body(1, salt=7))
    return message


def coverage() -> dict[str, bytes]:
    """Bodies for branches the measured ones do not reach: checked for equality, not timed."""
    extras = _bench_message()
    summary = extras["data"]["envelopeSummary"]
    summary["envelopeAttachments"] = [{"attachmentId": "1", "label": "terms", "n": 7}]
    summary["powerForm"] = {"powerFormId": "pf-1", "big": 10**29}
    summary["folders"] = None
    summary["paymentTabs"] = []
    summary["voidedReason"] = "  replaced  "
    uri_only = _bench_message()
    del uri_only["data"]["envelopeId"], uri_only["data"]["envelopeSummary"]["envelopeId"]
    people = _bench_message()
    summary = people["data"]["envelopeSummary"]
    summary["customFields"] = {
        "textCustomFields": [{"name": " ", "value": "nameless"}, {"name": "A", "show": True}],
        "listCustomFields": [{"name": "Region", "value": "APAC", "required": "FALSE"}],
    }
    summary["envelopeDocuments"] = [
        {"type": "summary", "name": "Summary"},
        {"type": "Content", "name": "c.pdf", "PDFBytes": "  JVBERi0=  "},
    ]
    summary["recipients"]["inPersonSigners"] = [
        {"signerName": "Host Person", "signerEmail": "HOST@example.com ", "routingOrder": 3}
    ]
    summary["recipients"]["carbonCopies"] = None
    signer = summary["recipients"]["signers"][1]
    signer.update(
        status="declined",
        declinedReason="wrong amount",
        declinedDateTime="2026-01-05T10:00:00.1234567+02:00",
        autoRespondedReason=" ",
        clientUserId="emb-1",
        customFields=["cost-center=1", {"name": "dept", "value": "legal"}, ""],
        tabs={
            "radioGroupTabs": [
                {
                    "groupName": "plan",
                    "radios": [
                        {"value": "a", "selected": "false"},
                        {"value": "b", "selected": True},
                    ],
                }
            ],
            "listTabs": [{"tabLabel": "size", "listSelectedValue": "XL", "pageNumber": 2}],
            "checkboxTabs": [{"tabLabel": "ok", "selected": "true", "tabId": "t-1"}],
        },
    )
    people["retryCount"], people["configurationId"] = "3", "0"
    voided = {
        "event": "Envelope-Voided",
        "generatedDateTime": "2026-01-05 09:00:00",
        "data": {"envelopeId": "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a", "recipientId": "9"},
    }
    delivered = {
        "event": "recipient-delivered",
        "uri": "/restapi/v2.1/accounts/x/envelopes/4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a",
        "data": {"recipientId": " 2 "},
    }
    made = {
        "extras, voidedReason": extras,
        "envelope id from uri only": uri_only,
        "custom fields, documents, in-person signer, declined, tabs": people,
        "envelope-voided without summary": voided,
        "recipient event, id from uri": delivered,
    }
    return {label: json.dumps(message).encode() for label, message in made.items()}


def coverage_fallbacks() -> dict[str, bytes]:
    """Bodies the fast path hands to ``parse()`` although nothing is wrong with them."""
    template = {"event": "template-created", "data": {"templateId": "t-1", "accountId": "a"}}
    tab = _bench_message()
    signer = tab["data"]["envelopeSummary"]["recipients"]["signers"][0]
    signer["tabs"] = {"textTabs": [{"tabLabel": "City", "value": {"nested": 1}}]}
    big_tab = _bench_message()
    signer = big_tab["data"]["envelopeSummary"]["recipients"]["signers"][0]
    signer["tabs"] = {"textTabs": [{"tabLabel": "Amount", "value": 10**40}]}
    huge = _bench_message()
    huge["data"]["envelopeSummary"]["folders"] = [{"folderId": 10**40}]
    return {
        "a 40-digit integer in extras": json.dumps(huge).encode(),
        "template event (about no envelope)": json.dumps(template).encode(),
        "aggregate message (no event)": (FIXTURES / "aggregate_envelope.json").read_bytes(),
        "a tab value that is an object (left empty)": json.dumps(tab).encode(),
        "a 40-digit integer as a tab value": json.dumps(big_tab).encode(),
        "UTF-16 with a BOM": json.dumps(_bench_message()).encode("utf-16"),
    }


def fallback_corpora(number: int) -> dict[str, list[bytes]]:
    """Benchmark bodies the fast path must hand to ``parse()``, by why."""
    plain = [bodies.json_body(i, salt=7) for i in range(number)]
    return {
        "sender is a string (typed decode fails)": [
            _edit(b, b'"sender": {', b'"sender": "Ada", "x": {') for b in plain
        ],
        'routingOrder "first" (mapping fails)': [
            _edit(b, b'"routingOrder": "1"', b'"routingOrder": "first"') for b in plain
        ],
    }


def handle_costs(number: int, repeats: int) -> dict[str, float]:
    """µs per ``Receiver.handle`` of ``number`` distinct JSON requests, by the parser used."""
    import request_cost  # noqa: PLC0415 (pulls in the whole receiver: only here)

    from connect_mw import Receiver, receiver  # noqa: PLC0415

    requests = request_cost.requests("json", number)
    parsers: dict[str, Callable[..., Notification]] = {
        "parse() today": parse,
        "prototype": prototype,
    }
    passes: dict[str, list[float]] = {name: [] for name in parsers}
    for _ in range(repeats):
        for name, parser in parsers.items():
            fresh = Receiver(hmac_keys=bodies.KEY, store="memory://")  # a pass records anew
            handle = partial(fresh.handle, prechecked=True)
            with mock.patch.object(receiver, "parse", parser):
                passes[name].append(best(requests, {name: handle}, 1)[name])
    return {name: min(spent) for name, spent in passes.items()}


def check_all(
    measured: dict[str, list[bytes]], falling: dict[str, list[bytes]]
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every equality check (``AssertionError`` on the first difference); the extra bodies."""
    for label, corpus in measured.items():
        check_same(label, corpus, fast=True)
    for label, corpus in falling.items():
        check_same(label, corpus, fast=False)
        assert parse(corpus[0], JSON).parse_warnings, label
    covered, handed = coverage(), coverage_fallbacks()
    for label, body in covered.items():
        check_same(label, [body], fast=True)
    for label, body in handed.items():
        check_same(label, [body], fast=False)
    refused = refusals()
    for label, body in refused.items():
        check_refused(label, body)
    handed.update({f"refused alike: {label}": body for label, body in refused.items()})
    return covered, handed


def refusals() -> dict[str, bytes]:
    """Bodies ``parse()`` refuses: the prototype must refuse them with the same reason."""
    nested = _bench_message()
    nested["data"]["envelopeSummary"]["recipients"]["signers"][0]["tabs"] = {"x": []}
    text = json.dumps(nested).replace('"x": []', '"x": ' + "[" * 100_000 + "]" * 100_000)
    disagree = _bench_message()
    disagree["data"]["envelopeSummary"]["envelopeId"] = "another"
    no_guid = {"event": "envelope-sent", "uri": "/envelopes/not-a-guid", "data": {}}
    return {
        "nested too deeply (in tabs)": text.encode(),
        "envelope ids disagree": json.dumps(disagree).encode(),
        "uri id not a GUID": json.dumps(no_guid).encode(),
        "malformed": b'{"event": "envelope-sent",',
    }


def check_refused(label: str, body: bytes) -> None:
    """Assert ``prototype(body)`` raises the ``ParseError`` ``parse(body)`` raises."""
    reasons = []
    for function in (prototype, parse):
        try:
            function(body, JSON)
        except ParseError as error:
            reasons.append(error.reason)
    assert len(reasons) == 2 and reasons[0] == reasons[1], f"{label}: {reasons}"


def duplicate_key(body: bytes) -> str:
    """What each path does with ``body`` given a second ``event`` key."""
    duplicate = _edit(body, b'"apiVersion"', b'"event": "x", "apiVersion"')
    try:
        parse(duplicate, JSON)
        today_says = "accepted"
    except ParseError as error:
        today_says = f"ParseError ({error.reason})"
    fast = fast_path(duplicate)
    mine = f"accepted, event={fast.event!r}" if fast is not None else "refused"
    return f"a key twice: parse() -> {today_says}; fast path -> {mine}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("connect_mw").setLevel(logging.ERROR)  # parse()'s warnings: no I/O
    n, repeats = args.bodies, args.repeats
    measured, falling = corpora(n), fallback_corpora(n)
    covered, handed = check_all(measured, falling)
    tabs = sum(len(parse(corpus[0], JSON).tabs) * len(corpus) for corpus in measured.values())
    print(
        f"equality: {sum(map(len, measured.values()))} bodies fast-path == parse() (== and "
        f"every field, {tabs} tabs with raw); {sum(map(len, falling.values()))} fallback "
        "bodies == parse() with its parse_warnings"
    )
    print(f"branch coverage, fast path == parse(): {'; '.join(covered)}")
    print(f"handed to parse() and equal: {'; '.join(handed)}")
    print()
    print(
        "| body | bytes | parse() today | typed decode | decode + mapping | saved | "
        "timestamps | checks + enums | model construction | tabs | glue (rest) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, corpus in measured.items():
        steps: dict[str, Callable[[Any], object]] = {
            "parse": partial(parse, content_type=JSON),
            "decode": DECODER.decode,
            "fast": fast_path,
        }
        timed = best(corpus, steps, repeats)
        today, decode, whole = timed["parse"], timed["decode"], timed["fast"]
        made = record(corpus)
        pieces = {piece: replay(made[piece], repeats) for piece in PIECES}
        glue = whole - decode - sum(pieces.values())
        cells = [today, decode, whole, today - whole, *pieces.values(), glue]
        print(f"| {label} | {len(corpus[0])} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    print()
    print("| body the fast path refuses | parse() today | prototype (attempt + parse()) | extra |")
    print("|---|---:|---:|---:|")
    for label, corpus in falling.items():
        pair: dict[str, Callable[[Any], object]] = {
            "parse": partial(parse, content_type=JSON),
            "mine": prototype,
        }
        timed = best(corpus, pair, repeats)
        today, mine = timed["parse"], timed["mine"]
        print(f"| {label} | {today:.1f} | {mine:.1f} | {mine - today:+.1f} |")
    handled = handle_costs(n, repeats)
    today, mine = handled["parse() today"], handled["prototype"]
    print()
    print("| Receiver.handle, memory store, bench SIM bodies | µs per request |")
    print("|---|---:|")
    print(f"| parse() today | {today:.1f} |")
    print(f"| prototype | {mine:.1f} |")
    print(f"| saved | {today - mine:.1f} ({(today - mine) / today:.0%}) |")
    print()
    print(duplicate_key(measured["bench SIM 2.2 KB"][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
