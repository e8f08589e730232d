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
* Click events (``click-agreed``, ``click-declined``) concern clickwrap agreements, not
  envelopes: they are rejected with ``ParseError("not an envelope event: ...")``, as is any
  other event that carries no envelope id (``template-*``).

**Aggregate** messages are a REST envelope object without the ``event`` wrapper: they need a
top-level ``envelopeId`` and ``status``; the event is derived (``envelope-<status>``).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ParseError
from ..model import EnvelopeStatus, Notification, PayloadFormat, Recipient, RecipientStatus
from .json_access import get_count, get_id, get_object, get_text, get_time
from .json_envelope import EnvelopeParts, read_envelope, read_status
from .json_load import JSONObject, load_object
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
_PRINTABLE_EVENT = re.compile(r"[a-z0-9_.-]{1,64}")
_SUMMARY = "data.envelopeSummary"


def parse_json(body: bytes, raw_size: int, lenient: Leniency) -> Notification:
    """Parse a JSON SIM message or aggregate envelope object into a ``Notification``.

    ``raw_size`` is the length of the body as received, kept on the notification;
    secondary fields of an unexpected shape are left empty and noted in ``lenient``.
    """
    top = load_object(body)
    if "event" in top:
        return _sim(top, raw_size, lenient)
    return _aggregate(top, raw_size, lenient)


def _sim(top: JSONObject, raw_size: int, lenient: Leniency) -> Notification:
    """A Connect 2.0 SIM message."""
    event = required_identifier(get_id(top, "event", ""), "JSON: event").lower()
    if event.startswith("click-"):
        raise ParseError(f"not an envelope event: {_shown(event)} (click events carry no envelope)")
    data = get_object(top, "data", "") or {}
    read = lenient.read
    summary = read(get_object, data, "envelopeSummary", "data")
    parts = read_envelope(summary, _SUMMARY, lenient) if summary is not None else None
    recipient_id = read(get_id, data, "recipientId", "data")
    status = parts.status if parts is not None else None
    if status is None:
        named = _ENVELOPE_EVENT_STATUS.get(event)
        status = EnvelopeStatus(named) if named is not None else None
    return Notification(
        event=event,
        envelope_id=_sim_envelope_id(top, data, parts, event),
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


def _shown(event: str) -> str:
    """The event name for an error reason, when it is a plain token."""
    return event if _PRINTABLE_EVENT.fullmatch(event) else "(unprintable name)"


def _sim_envelope_id(
    top: JSONObject, data: JSONObject, parts: EnvelopeParts | None, event: str
) -> str:
    """The envelope id from ``data`` or the summary (which must agree), else from ``uri``."""
    candidates = [
        get_id(data, "envelopeId", "data"),
        parts.envelope_id if parts is not None else None,
    ]
    present = [candidate for candidate in candidates if candidate is not None]
    uri_id = _uri_envelope_id(top)
    if not present and uri_id is not None:
        return uri_id
    if not present:
        if not event.startswith(("envelope-", "recipient-")):
            raise ParseError(f"not an envelope event: {_shown(event)} (no envelope id)")
        raise ParseError(
            "JSON: data.envelopeId is missing (and neither data.envelopeSummary.envelopeId "
            "nor uri names an envelope)"
        )
    if len({candidate.lower() for candidate in present}) > 1:
        raise ParseError("JSON: data.envelopeId and data.envelopeSummary.envelopeId disagree")
    return present[0]


def _uri_envelope_id(top: JSONObject) -> str | None:
    """The segment after the last ``/envelopes/`` of ``uri``, if any."""
    uri = get_text(top, "uri", "")
    if uri is None:
        return None
    matches = _URI_ENVELOPE.findall(uri)
    return identifier(matches[-1], "JSON: uri envelope id") if matches else None


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
    status = read_status(top, "")  # the event is derived from it: strict
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
