"""An envelope read over the REST API, as the ``Notification`` a Connect message would give.

``listStatusChanges`` (with ``include=recipients``) and ``getEnvelope`` answer the same
envelope object JSON Connect messages carry as their ``envelopeSummary``, so it is read by
the JSON parser's own envelope reader (:func:`connect_mw.parse.json_envelope.read_envelope`):
same fields, same recipient ids, same time zones. The notification's format is
``rest-poll`` and its event ``envelope-<status>``.

A poll is a snapshot, so its ``generated_at`` is the time of the latest activity it shows:
``statusChangedDateTime`` or a recipient's latest sent, delivered, signed or declined time,
whichever is later (DocuSign's own times, never the time of the poll). Polling an envelope
that has not moved gives equal notifications (the same idempotency key); a recipient who
signed meanwhile, even without an envelope status change, makes it a new one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..errors import ParseError
from ..model import Notification, PayloadFormat
from .json_envelope import EnvelopeParts, read_envelope
from .values import required_identifier


def envelope_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The envelope as stored raw bytes: compact JSON, keys sorted (stable across polls)."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("utf-8")


def latest_activity(parts: EnvelopeParts) -> datetime | None:
    """The latest of the status change and the recipients' sent/delivered/signed/declined."""
    stamps = [parts.times.status_changed]
    for recipient in parts.recipients:
        stamps += [recipient.sent_at, recipient.delivered_at, recipient.signed_at]
        stamps.append(recipient.declined_at)
    known = [stamp for stamp in stamps if stamp is not None]
    return max(known) if known else None


def rest_envelope_to_notification(
    envelope: Mapping[str, Any], account_id: str | None = None, raw_size: int | None = None
) -> Notification:
    """The ``Notification`` for a REST ``envelope`` object.

    ``account_id`` is the account it was read from (the object does not carry it);
    ``raw_size`` defaults to the length of :func:`envelope_bytes`. Raises ``ParseError``
    when the object has no ``envelopeId`` or ``status`` or a field is malformed.
    """
    parts = read_envelope(dict(envelope), "")
    envelope_id = required_identifier(parts.envelope_id, "JSON: envelopeId")
    if parts.status is None:
        raise ParseError(f"JSON: envelope {envelope_id} has no status")
    return Notification(
        event=f"envelope-{parts.status.value}",
        envelope_id=envelope_id,
        format=PayloadFormat.REST_POLL,
        account_id=account_id,
        status=parts.status,
        generated_at=latest_activity(parts),
        times=parts.times,
        subject=parts.subject,
        sender=parts.sender,
        recipients=parts.recipients,
        void_reason=parts.void_reason,
        decline_reason=parts.decline_reason,
        custom_fields=parts.custom_fields,
        documents=parts.documents,
        extras=parts.extras,
        raw_size=len(envelope_bytes(envelope)) if raw_size is None else raw_size,
        full_recipient_list=parts.full_recipient_list,
    )


def parse_rest_envelope(raw: bytes, account_id: str | None = None) -> Notification:
    """The notification of a stored ``rest-poll`` body (the bytes of :func:`envelope_bytes`)."""
    try:
        envelope = json.loads(raw)
    except ValueError as exc:
        raise ParseError(f"JSON: stored REST envelope is not JSON ({exc})") from None
    if not isinstance(envelope, dict):
        raise ParseError("JSON: stored REST envelope is not an object")
    return rest_envelope_to_notification(envelope, account_id, len(raw))
