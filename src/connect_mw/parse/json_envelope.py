"""The REST envelope object inside JSON messages.

JSON SIM messages carry it as ``data.envelopeSummary``; JSON aggregate messages are one at
the top level. Both are read by ``read_envelope`` into ``EnvelopeParts``, the envelope's
share of a ``Notification``. Recipients come from every recipient list DocuSign defines
(``signers``, ``carbonCopies``, ...; see ``recipients``), in that order; each keeps the short
``recipientId`` (``"1"``) as ``recipient_id`` and ``recipientIdGuid`` as
``recipient_id_guid``.

Apart from the envelope id, every field is secondary (:mod:`.lenient`): with a non-strict
:class:`~.lenient.Leniency` a field of an unexpected shape is left empty and noted; with
``STRICT`` (the default, used for REST replies) it raises ``ParseError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from ..errors import ParseError
from ..model import (
    NO_RAW,
    CustomField,
    DocumentRef,
    EnvelopeStatus,
    EnvelopeTimes,
    Recipient,
    RecipientStatus,
    Sender,
    no_raw,
)
from .conventions import (
    JSON_RECIPIENT_LISTS,
    envelope_decline_reason,
    fallback_document_id,
    fallback_recipient_id,
)
from .json_access import (
    get_boolean,
    get_count,
    get_id,
    get_object,
    get_objects,
    get_string,
    get_text,
    get_time,
    join,
    where,
)
from .json_load import JSONObject, plain
from .lenient import STRICT, Leniency
from .tabs import TabBudget, json_tabs
from .values import clean_text, status_name

_Status = TypeVar("_Status", EnvelopeStatus, RecipientStatus)
_TIME_KEYS = {
    "created": "createdDateTime",
    "sent": "sentDateTime",
    "delivered": "deliveredDateTime",
    "completed": "completedDateTime",
    "declined": "declinedDateTime",
    "voided": "voidedDateTime",
    "deleted": "deletedDateTime",
    "status_changed": "statusChangedDateTime",
}
#: Envelope sections the model keeps only as the message carried them (``extras``).
EXTRA_SECTIONS = ("envelopeAttachments", "attachments", "powerForm", "folders", "paymentTabs")


@dataclass(frozen=True, slots=True)
class EnvelopeParts:
    """What a REST envelope object contributes to a ``Notification``."""

    envelope_id: str | None
    status: EnvelopeStatus | None
    subject: str | None
    sender: Sender | None
    times: EnvelopeTimes
    recipients: tuple[Recipient, ...]
    void_reason: str | None
    decline_reason: str | None
    custom_fields: tuple[CustomField, ...]
    documents: tuple[DocumentRef, ...]
    #: Whether the object has a ``recipients`` object: then it lists every recipient.
    full_recipient_list: bool = False
    extras: Mapping[str, Any] = field(default_factory=no_raw)


def read_envelope(envelope: JSONObject, path: str, lenient: Leniency = STRICT) -> EnvelopeParts:
    """Read the REST envelope object found at ``path`` (``""`` for the top level)."""
    recipients, full = _recipients(envelope, path, lenient)
    times = {f: lenient.read(get_time, envelope, k, path) for f, k in _TIME_KEYS.items()}
    return EnvelopeParts(
        envelope_id=get_id(envelope, "envelopeId", path),
        status=lenient.read(read_status, envelope, path, EnvelopeStatus),
        subject=lenient.read(get_text, envelope, "emailSubject", path),
        sender=lenient.read(_sender, envelope, path),
        times=EnvelopeTimes(**times),
        recipients=recipients,
        void_reason=lenient.read(get_text, envelope, "voidedReason", path),
        decline_reason=envelope_decline_reason(recipients),
        custom_fields=lenient.read(_custom_fields, envelope, path) or (),
        documents=_documents(envelope, path, lenient),
        full_recipient_list=full,
        extras=_extras(envelope),
    )


def read_status(obj: JSONObject, path: str, kind: type[_Status]) -> _Status | None:
    """The envelope's or recipient's ``status``, lower-cased into the open enum ``kind``."""
    status = status_name(get_string(obj, "status", path), where(path, "status"))
    return kind(status) if status is not None else None


def _extras(envelope: JSONObject) -> Mapping[str, Any]:
    """The :data:`EXTRA_SECTIONS` the envelope carries, as they are (read-only)."""
    found = {key: plain(envelope[key]) for key in EXTRA_SECTIONS if envelope.get(key) is not None}
    return MappingProxyType(found) if found else NO_RAW


def _sender(envelope: JSONObject, path: str) -> Sender | None:
    """``sender{userName, email, userId, ipAddress}``; ``None`` when absent or empty."""
    sender_path = join(path, "sender")
    raw = get_object(envelope, "sender", path)
    if raw is None:
        return None
    sender = Sender(
        name=get_text(raw, "userName", sender_path),
        email=get_text(raw, "email", sender_path),
        user_id=get_id(raw, "userId", sender_path),
        ip_address=get_text(raw, "ipAddress", sender_path),
    )
    return None if sender == Sender() else sender


def _custom_fields(envelope: JSONObject, path: str) -> tuple[CustomField, ...]:
    """``customFields{textCustomFields[], listCustomFields[]}``; nameless fields skipped."""
    fields_path = join(path, "customFields")
    raw = get_object(envelope, "customFields", path)
    if raw is None:
        return ()
    fields: list[CustomField] = []
    for key, field_type in (("textCustomFields", "text"), ("listCustomFields", "list")):
        for index, item in enumerate(get_objects(raw, key, fields_path)):
            field = _custom_field(item, f"{join(fields_path, key)}[{index}]", field_type)
            if field is not None:
                fields.append(field)
    return tuple(fields)


def _custom_field(item: JSONObject, path: str, field_type: str | None) -> CustomField | None:
    """One ``{name, value, show, required}`` custom field, ``None`` without a name."""
    name = get_text(item, "name", path)
    if name is None:
        return None
    return CustomField(
        name=name,
        value=get_text(item, "value", path),
        field_type=field_type,
        show=get_boolean(item, "show", path),
        required=get_boolean(item, "required", path),
    )


def _recipients(
    envelope: JSONObject, path: str, lenient: Leniency
) -> tuple[tuple[Recipient, ...], bool]:
    """Every recipient of every known list in ``recipients``, list by list.

    Also whether that is the whole recipient list: a readable ``recipients`` object whose
    lists are arrays of objects, each with readable ids. A list read only in part must not
    count as whole, or the recipients it could not read would look removed.
    """
    recipients_path = join(path, "recipients")
    raw = lenient.read(get_object, envelope, "recipients", path)
    if raw is None:
        return (), False
    found: list[Recipient] = []
    whole = True
    budget = TabBudget(sink=None if lenient.strict else lenient.skip)
    for key, recipient_type in JSON_RECIPIENT_LISTS.items():
        if raw.get(key) is None:
            continue
        list_path = join(recipients_path, key)
        skipped = lenient.count
        items = lenient.objects(raw, key, recipients_path)
        whole = whole and lenient.count == skipped
        for index, item in enumerate(items):
            item_path = f"{list_path}[{index}]"
            whole = whole and _ids_readable(item, item_path)
            found.append(_recipient(item, item_path, recipient_type, budget, lenient))
    return tuple(found), whole


def _ids_readable(item: JSONObject, path: str) -> bool:
    """Whether the recipient's ``recipientId`` and ``recipientIdGuid`` read (absent or not)."""
    try:
        get_id(item, "recipientId", path)
        get_id(item, "recipientIdGuid", path)
    except ParseError:
        return False
    return True


def _recipient(
    item: JSONObject, path: str, recipient_type: str, budget: TabBudget, lenient: Leniency
) -> Recipient:
    """One recipient object; in-person signers fall back to ``signerName``/``signerEmail``."""
    read = lenient.read
    email = read(get_text, item, "email", path) or read(get_text, item, "signerEmail", path)
    name = read(get_text, item, "name", path) or read(get_text, item, "signerName", path)
    order = read(get_count, item, "routingOrder", path)
    guid = read(get_id, item, "recipientIdGuid", path)
    recipient_id = read(get_id, item, "recipientId", path) or guid
    recipient_id = recipient_id or fallback_recipient_id(recipient_type, order, email, name)
    tabs = json_tabs(item.get("tabs"), join(path, "tabs"), recipient_id, budget)
    return Recipient(
        recipient_id=recipient_id,
        recipient_type=recipient_type,
        status=read(read_status, item, path, RecipientStatus),
        email=email,
        name=name,
        routing_order=order,
        recipient_id_guid=guid,
        client_user_id=read(get_id, item, "clientUserId", path),
        sent_at=read(get_time, item, "sentDateTime", path),
        delivered_at=read(get_time, item, "deliveredDateTime", path),
        signed_at=read(get_time, item, "signedDateTime", path),
        declined_at=read(get_time, item, "declinedDateTime", path),
        decline_reason=read(get_text, item, "declinedReason", path),
        auto_responded_reason=read(get_text, item, "autoRespondedReason", path),
        custom_fields=read(_recipient_custom_fields, item, path) or (),
        tabs=tabs,
    )


def _recipient_custom_fields(item: JSONObject, path: str) -> tuple[CustomField, ...]:
    """A recipient's ``customFields``: plain strings (each names a field) or field objects."""
    raw = item.get("customFields")
    if raw is None:
        return ()
    label = where(path, "customFields")
    if not isinstance(raw, list):
        raise ParseError(f"{label} must be an array")
    fields: list[CustomField] = []
    for index, entry in enumerate(raw):
        field: CustomField | None
        if isinstance(entry, str):
            name = clean_text(entry, f"{label}[{index}]")
            field = CustomField(name=name) if name is not None else None
        elif isinstance(entry, dict):
            field = _custom_field(entry, f"{join(path, 'customFields')}[{index}]", None)
        else:
            raise ParseError(f"{label}[{index}] must be a string or an object")
        if field is not None:
            fields.append(field)
    return tuple(fields)


def _documents(envelope: JSONObject, path: str, lenient: Leniency) -> tuple[DocumentRef, ...]:
    """``envelopeDocuments[]{documentId, name, type, PDFBytes}``, bytes kept as base64.

    A document of an unexpected shape is left out (noted by ``lenient``).
    """
    documents_path = join(path, "envelopeDocuments")
    found = (
        lenient.read(_document, item, f"{documents_path}[{index}]", index + 1)
        for index, item in enumerate(lenient.objects(envelope, "envelopeDocuments", path))
    )
    return tuple(document for document in found if document is not None)


def _document(item: JSONObject, path: str, position: int) -> DocumentRef:
    """One document; without ``documentId`` see ``fallback_document_id``."""
    kind = get_text(item, "type", path)
    document_type = kind.lower() if kind is not None else None
    document_id = get_id(item, "documentId", path) or fallback_document_id(document_type, position)
    encoded = (get_string(item, "PDFBytes", path) or "").strip()
    if not encoded.isascii():
        raise ParseError(f"{where(path, 'PDFBytes')} is not base64 text")
    clean_text(encoded, where(path, "PDFBytes"))  # for its refusals (NUL)
    return DocumentRef(
        document_id=document_id,
        name=get_text(item, "name", path),
        document_type=document_type,
        encoded_size=len(encoded),
        _encoded=encoded,
    )
