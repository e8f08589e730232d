"""The XML legacy format: ``DocuSignEnvelopeInformation``.

One message describes the whole envelope as it was when DocuSign sent it, with every
recipient's status (``RecipientStatuses`` is the full recipient list), and names no
triggering event: the event is derived from the envelope
status (``envelope-completed`` for ``Completed``). Timestamps carry no offset and are read
in the message's ``TimeZoneOffset`` (UTC when absent; see ``timestamps``). The body holds no
account id: ``account_id`` stays ``None`` for the receiver to fill from the
``X-DocuSign-AccountId`` header. ``PDFBytes`` stays base64 text until someone asks a
``DocumentRef`` for its content.

``EnvelopeID``, ``Status`` (the event is derived from it), ``TimeGenerated`` and
``TimeZoneOffset`` (that time is read in it) identify the message and are strict; every
other field is secondary (:mod:`.lenient`): left empty when its shape is unexpected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

from ..errors import ParseError
from ..model import (
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
from .conventions import (
    envelope_decline_reason,
    fallback_document_id,
    fallback_recipient_id,
    recipient_type,
)
from .lenient import Leniency
from .tabs import TabBudget, xml_tabs
from .timestamps import parse_timestamp, parse_utc_offset
from .values import boolean, count, identifier, required_identifier, status_name
from .xml_load import BULKY, load
from .xml_tree import XmlElement, child, child_text, children, text

_ROOT = "DocuSignEnvelopeInformation"
_ENVELOPE = "EnvelopeStatus"
_RECIPIENTS = f"{_ENVELOPE}/RecipientStatuses"
_DOCUMENTS = "DocumentPDFs"
_T = TypeVar("_T")


def parse_xml(document: bytes | str, raw_size: int, lenient: Leniency) -> Notification:
    """Parse a ``DocuSignEnvelopeInformation`` document into a ``Notification``.

    ``raw_size`` is the length of the body as received, kept on the notification;
    secondary fields of an unexpected shape are left empty and noted in ``lenient``.
    """
    root = child(load(document, BULKY), _ROOT, "")
    if root is None:
        raise ParseError(f"XML: root element must be {_ROOT} in the DocuSign namespace")
    envelope = child(root, _ENVELOPE, _ROOT)
    if envelope is None:
        raise ParseError(f"XML: {_ENVELOPE} is missing")
    offset = parse_utc_offset(child_text(root, "TimeZoneOffset", _ROOT), "XML: TimeZoneOffset")
    return _notification(root, envelope, offset or timezone.utc, raw_size, lenient)


def _notification(
    root: XmlElement, envelope: XmlElement, tz: timezone, raw_size: int, lenient: Leniency
) -> Notification:
    """Map ``EnvelopeStatus`` (and the ``DocumentPDFs`` beside it) onto the model."""
    envelope_id = required_identifier(
        child_text(envelope, "EnvelopeID", _ENVELOPE), f"XML: {_ENVELOPE}/EnvelopeID"
    )
    status = _envelope_status(envelope)
    generated_at = _time(envelope, "TimeGenerated", _ENVELOPE, tz)
    recipients, full = _recipients(envelope, tz, lenient)
    read = lenient.read
    return Notification(
        event=f"envelope-{status.value}",
        envelope_id=envelope_id,
        format=PayloadFormat.XML_LEGACY,
        status=status,
        generated_at=generated_at,
        times=_times(envelope, tz, lenient),
        subject=read(child_text, envelope, "Subject", _ENVELOPE),
        sender=read(_sender, envelope),
        recipients=recipients,
        void_reason=read(child_text, envelope, "VoidReason", _ENVELOPE),
        decline_reason=envelope_decline_reason(recipients),
        custom_fields=read(_custom_fields, envelope, _ENVELOPE) or (),
        documents=_documents(root, lenient),
        raw_size=raw_size,
        full_recipient_list=full,
    )


def _envelope_status(envelope: XmlElement) -> EnvelopeStatus:
    """The required envelope ``Status``, lower-cased into the open enum."""
    where = f"XML: {_ENVELOPE}/Status"
    status = status_name(child_text(envelope, "Status", _ENVELOPE), where)
    if status is None:
        raise ParseError(f"{where} is missing")
    return EnvelopeStatus(status)


def _time(parent: XmlElement, name: str, path: str, tz: timezone) -> datetime | None:
    """The timestamp in ``parent``'s child ``name``, offset-less times read in ``tz``."""
    value = child_text(parent, name, path)
    if value is None:
        return None
    return parse_timestamp(value, f"XML: {path}/{name}", tz)


def _times(envelope: XmlElement, tz: timezone, lenient: Leniency) -> EnvelopeTimes:
    """The envelope's per-status times (``Voided`` if present; XML has no status-change time).

    ``TimedOut`` (the WSDL's expiry time) becomes ``timed_out``.
    """
    stamps = {
        field: lenient.read(_time, envelope, name, _ENVELOPE, tz)
        for field, name in (
            ("created", "Created"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("signed", "Signed"),
            ("completed", "Completed"),
            ("declined", "Declined"),
            ("voided", "Voided"),
            ("deleted", "Deleted"),
            ("timed_out", "TimedOut"),
        )
    }
    return EnvelopeTimes(**stamps)


def _sender(envelope: XmlElement) -> Sender | None:
    """The sender from ``UserName``, ``Email`` and ``SenderIPAddress``; ``None`` if all absent."""
    sender = Sender(
        name=child_text(envelope, "UserName", _ENVELOPE),
        email=child_text(envelope, "Email", _ENVELOPE),
        ip_address=child_text(envelope, "SenderIPAddress", _ENVELOPE),
    )
    return None if sender == Sender() else sender


def _custom_fields(parent: XmlElement, path: str) -> tuple[CustomField, ...]:
    """``CustomFields/CustomField`` entries; those without a name are skipped.

    A ``CustomField`` holding plain text (recipient custom fields are plain strings) becomes
    a field named by that text.
    """
    container = child(parent, "CustomFields", path)
    if container is None:
        return ()
    fields = []
    for index, element in enumerate(children(container, "CustomField"), start=1):
        field = _custom_field(element, f"{path}/CustomFields/CustomField[{index}]")
        if field is not None:
            fields.append(field)
    return tuple(fields)


def _custom_field(element: XmlElement, path: str) -> CustomField | None:
    """One custom field, structured (``Name``/``Value``/...) or plain text."""
    if not element.size:
        name = text(element, path)
        return CustomField(name=name) if name is not None else None
    name = child_text(element, "Name", path)
    if name is None:
        return None
    field_type = child_text(element, "CustomFieldType", path)
    return CustomField(
        name=name,
        value=child_text(element, "Value", path),
        field_type=field_type.lower() if field_type is not None else None,
        show=boolean(child_text(element, "Show", path), f"XML: {path}/Show"),
        required=boolean(child_text(element, "Required", path), f"XML: {path}/Required"),
    )


def _recipients(
    envelope: XmlElement, tz: timezone, lenient: Leniency
) -> tuple[tuple[Recipient, ...], bool]:
    """Every ``RecipientStatuses/RecipientStatus``, in document order.

    Also whether that is the whole list: a readable ``RecipientStatuses`` whose every
    ``RecipientId`` reads (a list read only in part would make the recipients it could not
    read look removed).
    """
    container = lenient.read(child, envelope, "RecipientStatuses", _ENVELOPE)
    if container is None:
        return (), False
    budget = TabBudget(sink=lenient.skip)
    found: list[Recipient] = []
    whole = True
    for index, element in enumerate(children(container, "RecipientStatus"), start=1):
        path = f"{_RECIPIENTS}/RecipientStatus[{index}]"
        whole = whole and _id_readable(element, path)
        found.append(_recipient(element, path, tz, budget, lenient))
    return tuple(found), whole


def _id_readable(element: XmlElement, path: str) -> bool:
    """Whether the recipient's ``RecipientId`` reads (absent or not)."""
    try:
        _scalar(element, "RecipientId", path, identifier)
    except ParseError:
        return False
    return True


def _recipient(
    element: XmlElement, path: str, tz: timezone, budget: TabBudget, lenient: Leniency
) -> Recipient:
    """One ``RecipientStatus``; its ``RecipientId`` GUID is both ``recipient_id`` and guid.

    Without a (readable) ``RecipientId`` the recipient gets a fallback id from type, routing
    order and email (``conventions.fallback_recipient_id``).
    """
    read = lenient.read
    guid = read(_scalar, element, "RecipientId", path, identifier)
    kind = read(_scalar, element, "Type", path, recipient_type)
    email = read(child_text, element, "Email", path)
    name = read(child_text, element, "UserName", path)
    order = read(_scalar, element, "RoutingOrder", path, count)
    recipient_id = guid or fallback_recipient_id(kind, order, email, name)
    status = read(_scalar, element, "Status", path, status_name)
    return Recipient(
        recipient_id=recipient_id,
        recipient_type=kind,
        status=RecipientStatus(status) if status is not None else None,
        email=email,
        name=name,
        routing_order=order,
        recipient_id_guid=guid,
        client_user_id=read(_scalar, element, "ClientUserId", path, identifier),
        sent_at=read(_time, element, "Sent", path, tz),
        delivered_at=read(_time, element, "Delivered", path, tz),
        signed_at=read(_time, element, "Signed", path, tz),
        declined_at=read(_time, element, "Declined", path, tz),
        decline_reason=read(child_text, element, "DeclineReason", path),
        auto_responded_reason=read(child_text, element, "AutoRespondedReason", path),
        custom_fields=read(_custom_fields, element, path) or (),
        tabs=xml_tabs(element, path, recipient_id, budget),
    )


def _scalar(
    parent: XmlElement, name: str, path: str, convert: Callable[[str | None, str], _T]
) -> _T:
    """``convert`` applied to the text of ``parent``'s child ``name`` (labelled for errors)."""
    return convert(child_text(parent, name, path), f"XML: {path}/{name}")


def _documents(root: XmlElement, lenient: Leniency) -> tuple[DocumentRef, ...]:
    """Every ``DocumentPDFs/DocumentPDF``, its ``PDFBytes`` kept as base64 text.

    A document of an unexpected shape is left out (noted by ``lenient``).
    """
    container = lenient.read(child, root, _DOCUMENTS, _ROOT)
    if container is None:
        return ()
    found = (
        lenient.read(_document, element, f"{_DOCUMENTS}/DocumentPDF[{index}]", index)
        for index, element in enumerate(children(container, "DocumentPDF"), start=1)
    )
    return tuple(document for document in found if document is not None)


def _document(element: XmlElement, path: str, position: int) -> DocumentRef:
    """One ``DocumentPDF``; without ``DocumentID`` see ``fallback_document_id``."""
    kind = child_text(element, "DocumentType", path)
    document_type = kind.lower() if kind is not None else None
    document_id = identifier(
        child_text(element, "DocumentID", path), f"XML: {path}/DocumentID"
    ) or fallback_document_id(document_type, position)
    encoded = child_text(element, "PDFBytes", path) or ""
    if not encoded.isascii():
        raise ParseError(f"XML: {path}/PDFBytes is not base64 text")
    return DocumentRef(
        document_id=document_id,
        name=child_text(element, "Name", path),
        document_type=document_type,
        encoded_size=len(encoded),
        _encoded=encoded,
    )
