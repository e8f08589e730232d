"""JSON bodies: Connect 2.0 SIM messages and legacy aggregate envelope objects.

**SIM** messages have an ``event`` (kept lower-cased; unknown names pass through),
``apiVersion``, ``uri``, ``retryCount``, ``configurationId``, ``generatedDateTime`` and
``data{accountId, userId, envelopeId, recipientId, envelopeSummary}``.

* The envelope id is ``data.envelopeId``, else ``data.envelopeSummary.envelopeId``, else the
  ``uri`` segment after ``/envelopes/``; when several are present they must agree.
* The status is ``envelopeSummary.status`` when present, else the one the event names
  (``envelope-sent`` → ``sent``; only created, sent, delivered, completed, declined, voided
  and deleted count); any other event (``envelope-resent``, ``recipient-*``...) leaves it
  ``None``.
* Without ``envelopeSummary`` a ``recipient-*`` event yields one ``Recipient`` with
  ``data.recipientId`` and the status the event names (sent, delivered, completed,
  declined, autoresponded; otherwise ``None``). Such a message does not carry the full
  recipient list (``full_recipient_list`` is ``False``); a summary with a ``recipients``
  object does.
* Events that are not about an envelope — ``template-*``, ``click-*``, and any other event
  that names no envelope — become a notification with ``envelope_id=""``, their
  ``subject_id`` (``data.templateId`` / ``data.clickwrapId``, the ``uri`` segment after
  ``/templates/`` or ``/clickwraps/``, else ``data.agreementId``), empty status fields and
  the message's ``data`` object as it came in ``extras["data"]``.
* An envelope id read from ``uri`` (no ``data.envelopeId`` and no summary id) must be a
  GUID, as DocuSign's envelope ids are; anything else is a ``ParseError``, never a made-up
  envelope.

**Aggregate** messages are a REST envelope object without the ``event`` wrapper: they need a
top-level ``envelopeId`` and ``status``; the event is derived (``envelope-<status>``).
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from ..errors import ParseError
from ..model import EnvelopeStatus, Notification, PayloadFormat, Recipient, RecipientStatus
from .json_access import get_count, get_id, get_object, get_text, get_time
from .json_envelope import EnvelopeParts, read_envelope, read_status
from .json_load import JSONObject, load_object, plain
from .lenient import Leniency
from .values import identifier, required_identifier

_ENVELOPE_EVENT_STATUS = {
    f"envelope-{status}": status
    for status in ("created", "sent", "delivered", "completed", "declined", "voided", "deleted")
}
_RECIPIENT_EVENT_STATUS = {
    f"recipient-{status}": status
    for status in ("sent", "delivered", "completed", "declined", "autoresponded")
}
_URI_ENVELOPE = re.compile(r"/envelopes/([^/?#]+)")
_URI_SUBJECT = re.compile(r"/(?:templates|clickwraps)/([^/?#]+)")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
#: Event name prefixes that are never about an envelope.
_NOT_ENVELOPE = ("template-", "click-")
#: ``data`` keys naming what a non-envelope event is about, in order of preference.
_SUBJECT_KEYS = ("templateId", "clickwrapId")
_SUMMARY = "data.envelopeSummary"


def parse_json(body: bytes, raw_size: int, lenient: Leniency) -> Notification:
    """Parse a JSON SIM message or aggregate envelope object into a ``Notification``.

    ``raw_size`` is the length of the body as received, kept on the notification;
    secondary fields of an unexpected shape are left empty and noted in ``lenient``.
    """
    top = load_object(body, keep_unreadable=not lenient.strict)
    if "event" in top:
        return _sim(top, raw_size, lenient)
    return _aggregate(top, raw_size, lenient)


def _sim(top: JSONObject, raw_size: int, lenient: Leniency) -> Notification:
    """A Connect 2.0 SIM message."""
    event = required_identifier(get_id(top, "event", ""), "JSON: event").lower()
    data = get_object(top, "data", "") or {}
    read = lenient.read
    if event.startswith(_NOT_ENVELOPE) or not _names_an_envelope(top, data, event):
        return _not_about_an_envelope(top, data, event, raw_size, lenient)
    summary = read(get_object, data, "envelopeSummary", "data")
    parts = read_envelope(summary, _SUMMARY, lenient) if summary is not None else None
    recipient_id = read(get_id, data, "recipientId", "data")
    status = parts.status if parts is not None else None
    if status is None:
        named = _ENVELOPE_EVENT_STATUS.get(event)
        status = EnvelopeStatus(named) if named is not None else None
    return Notification(
        event=event,
        envelope_id=_sim_envelope_id(top, data, parts),
        format=PayloadFormat.JSON_SIM,
        account_id=read(get_id, data, "accountId", "data"),
        status=status,
        generated_at=get_time(top, "generatedDateTime", ""),
        recipient_id=recipient_id,
        retry_count=read(get_count, top, "retryCount", ""),
        configuration_id=read(get_count, top, "configurationId", ""),
        user_id=read(get_id, data, "userId", "data"),
        api_version=read(get_id, top, "apiVersion", ""),
        raw_size=raw_size,
        **_envelope_fields(parts, _event_recipients(event, recipient_id)),
    )


def _names_an_envelope(top: JSONObject, data: JSONObject, event: str) -> bool:
    """Whether the message is about an envelope.

    An envelope or recipient event is; so is any event whose body names an envelope
    (``data.envelopeId``, a summary, an envelope ``uri``).
    """
    if event.startswith(("envelope-", "recipient-")):
        return True
    if data.get("envelopeId") is not None or data.get("envelopeSummary") is not None:
        return True
    uri = top.get("uri")
    return isinstance(uri, str) and "/envelopes/" in uri


def _not_about_an_envelope(
    top: JSONObject, data: JSONObject, event: str, raw_size: int, lenient: Leniency
) -> Notification:
    """A template, click or other event about no envelope: recorded, never folded."""
    read = lenient.read
    return Notification(
        event=event,
        envelope_id="",
        format=PayloadFormat.JSON_SIM,
        account_id=read(get_id, data, "accountId", "data"),
        generated_at=get_time(top, "generatedDateTime", ""),
        retry_count=read(get_count, top, "retryCount", ""),
        configuration_id=read(get_count, top, "configurationId", ""),
        user_id=read(get_id, data, "userId", "data"),
        api_version=read(get_id, top, "apiVersion", ""),
        raw_size=raw_size,
        subject_id=read(_subject_id, top, data),
        extras=MappingProxyType({"data": plain(data)}),
    )


def _subject_id(top: JSONObject, data: JSONObject) -> str | None:
    """What a non-envelope event is about: its template or clickwrap (see the docstring)."""
    for key in _SUBJECT_KEYS:
        found = get_id(data, key, "data")
        if found is not None:
            return found
    uri = get_text(top, "uri", "")
    matches = _URI_SUBJECT.findall(uri) if uri is not None else []
    if matches:
        return identifier(matches[-1], "JSON: uri subject id")
    return get_id(data, "agreementId", "data")


def _sim_envelope_id(top: JSONObject, data: JSONObject, parts: EnvelopeParts | None) -> str:
    """The envelope id from ``data`` or the summary (which must agree), else from ``uri``.

    Only an id from ``uri`` must be a GUID: ids the body gives directly are kept as they are.
    """
    candidates = [
        get_id(data, "envelopeId", "data"),
        parts.envelope_id if parts is not None else None,
    ]
    present = [candidate for candidate in candidates if candidate is not None]
    uri_id = None if present else _uri_envelope_id(top)
    if uri_id is not None:
        return uri_id
    if not present:
        raise ParseError(
            "JSON: data.envelopeId is missing (and neither data.envelopeSummary.envelopeId "
            "nor uri names an envelope)"
        )
    if len({candidate.lower() for candidate in present}) > 1:
        raise ParseError("JSON: data.envelopeId and data.envelopeSummary.envelopeId disagree")
    return present[0]


def _uri_envelope_id(top: JSONObject) -> str | None:
    """The segment after the last ``/envelopes/`` of ``uri``, if any; it must be a GUID."""
    uri = get_text(top, "uri", "")
    if uri is None:
        return None
    matches = _URI_ENVELOPE.findall(uri)
    if not matches:
        return None
    found = identifier(matches[-1], "JSON: uri envelope id")
    if found is not None and not _GUID.fullmatch(found):
        raise ParseError("JSON: the envelope id in uri is not a GUID (and the body names no other)")
    return found


def _event_recipients(event: str, recipient_id: str | None) -> tuple[Recipient, ...]:
    """For a recipient event without summary: the one recipient the event is about."""
    if recipient_id is None or not event.startswith("recipient-"):
        return ()
    named = _RECIPIENT_EVENT_STATUS.get(event)
    status = RecipientStatus(named) if named is not None else None
    return (Recipient(recipient_id=recipient_id, status=status),)


def _envelope_fields(
    parts: EnvelopeParts | None, recipients: tuple[Recipient, ...] = ()
) -> dict[str, Any]:
    """The ``Notification`` fields the envelope object gives (``recipients`` without one)."""
    if parts is None:
        return {"recipients": recipients}
    return {
        "subject": parts.subject,
        "sender": parts.sender,
        "times": parts.times,
        "recipients": parts.recipients,
        "void_reason": parts.void_reason,
        "decline_reason": parts.decline_reason,
        "custom_fields": parts.custom_fields,
        "documents": parts.documents,
        "full_recipient_list": parts.full_recipient_list,
        "extras": parts.extras,
    }


def _aggregate(top: JSONObject, raw_size: int, lenient: Leniency) -> Notification:
    """A legacy aggregate message: a REST envelope object without the ``event`` wrapper."""
    missing = [key for key in ("envelopeId", "status") if top.get(key) is None]
    if len(missing) == 2:
        raise ParseError(
            "JSON: neither a Connect event message (no 'event') "
            "nor an envelope object (no 'envelopeId' and 'status')"
        )
    if missing:
        raise ParseError(f"JSON: envelope object without 'event' is missing '{missing[0]}'")
    status = read_status(top, "", EnvelopeStatus)  # the event is derived from it: strict
    parts = read_envelope(top, "", lenient)
    envelope_id = required_identifier(parts.envelope_id, "JSON: envelopeId")
    if status is None:
        raise ParseError("JSON: envelope object without 'event' is missing 'status'")
    return Notification(
        event=f"envelope-{status.value}",
        envelope_id=envelope_id,
        format=PayloadFormat.JSON_AGGREGATE,
        status=status,
        raw_size=raw_size,
        **_envelope_fields(parts),
    )
