"""Subscribe to Connect: the JSON bodies DocuSign's REST API takes, ready to send.

Two ways to ask DocuSign for notifications, with different field spellings:

* :func:`event_notification` — per envelope: the ``eventNotification`` object you put in an
  envelope definition when you create the envelope (``requireAcknowledgment``, ``url``,
  ``loggingEnabled``);
* :func:`connect_configuration` — account-wide: the body of
  ``POST /restapi/v2.1/accounts/{accountId}/connect`` (``requiresAcknowledgement``,
  ``urlToPublishTo``, ``allUsers``, ``configurationType``).

Both ask for SIM delivery (one message per event) in ``restv2.1`` JSON with HMAC signatures,
the shape :mod:`connect_mw.parse` reads best. Booleans are the strings ``"true"`` and
``"false"``, as DocuSign's API defines them. The results are plain dicts: pass them to the
REST API as JSON, or to docusign-esign's models (``EnvelopeDefinition(event_notification=
event_notification(...))``: the SDK serializes dicts as they are).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

#: The ``eventData.includeData`` values DocuSign accepts.
INCLUDE_DATA = (
    "attachments",
    "custom_fields",
    "documents",
    "extensions",
    "folders",
    "payment_tabs",
    "powerform",
    "recipients",
    "tabs",
)
#: Envelope events a SIM subscription can name.
ENVELOPE_EVENTS = (
    "envelope-created",
    "envelope-sent",
    "envelope-resent",
    "envelope-delivered",
    "envelope-completed",
    "envelope-declined",
    "envelope-voided",
    "envelope-corrected",
    "envelope-purge",
    "envelope-deleted",
    "envelope-discard",
)
#: Recipient events a SIM subscription can name.
RECIPIENT_EVENTS = (
    "recipient-sent",
    "recipient-resent",
    "recipient-delivered",
    "recipient-completed",
    "recipient-declined",
    "recipient-authenticationfailed",
    "recipient-autoresponded",
    "recipient-reassign",
    "recipient-delegate",
    "recipient-finish-later",
)
KNOWN_EVENTS = ENVELOPE_EVENTS + RECIPIENT_EVENTS
#: What the builders subscribe to unless told otherwise: the envelope lifecycle and the
#: recipient events that drive recipient callbacks.
DEFAULT_EVENTS = (
    "envelope-sent",
    "envelope-delivered",
    "envelope-completed",
    "envelope-declined",
    "envelope-voided",
    "recipient-sent",
    "recipient-delivered",
    "recipient-completed",
    "recipient-declined",
    "recipient-autoresponded",
)
#: Asked for by default: enough for statuses, recipient states and reasons, no documents.
DEFAULT_INCLUDE_DATA = ("custom_fields", "recipients")


class SubscriptionError(ConfigurationError):
    """A subscription was asked for with a value DocuSign would reject or misread."""


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value.strip(), None)
    return [value for value in seen if value]


def check_url(url: str, *, allow_http: bool = False) -> str:
    """``url`` when it is an absolute https URL (http too with ``allow_http``)."""
    parts = urlsplit(url.strip())
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        hint = "" if allow_http else " (DocuSign delivers over HTTPS only; allow_http for tests)"
        raise SubscriptionError(f"the listener URL must be an absolute https:// URL{hint}: {url!r}")
    return url.strip()


def check_events(events: Iterable[str]) -> list[str]:
    """The event names, de-duplicated; unknown names are rejected with the known ones listed."""
    names = _unique(events)
    if not names:
        raise SubscriptionError("subscribe to at least one event")
    unknown = [name for name in names if name not in KNOWN_EVENTS]
    if unknown:
        raise SubscriptionError(
            f"unknown event {unknown[0]!r}; known events: {', '.join(KNOWN_EVENTS)}"
        )
    return names


def check_include_data(include_data: Iterable[str]) -> list[str]:
    """The ``includeData`` values, de-duplicated; unknown values are rejected."""
    values = _unique(include_data)
    unknown = [value for value in values if value not in INCLUDE_DATA]
    if unknown:
        raise SubscriptionError(
            f"unknown includeData value {unknown[0]!r}; choose from {', '.join(INCLUDE_DATA)}"
        )
    return values


def event_data(include_data: Iterable[str] = DEFAULT_INCLUDE_DATA) -> dict[str, Any]:
    """The ``eventData`` object: JSON, REST v2.1 shape, with ``include_data``."""
    return {
        "version": "restv2.1",
        "format": "json",
        "includeData": check_include_data(include_data),
    }


def event_notification(
    url: str,
    *,
    events: Iterable[str] = DEFAULT_EVENTS,
    include_data: Iterable[str] = DEFAULT_INCLUDE_DATA,
    require_acknowledgment: bool = True,
    include_hmac: bool = True,
    logging_enabled: bool = True,
    allow_http: bool = False,
) -> dict[str, Any]:
    """The ``eventNotification`` of an envelope definition: SIM, JSON, HMAC-signed.

    ``require_acknowledgment`` makes DocuSign retry messages your listener did not answer
    with a 2xx; ``include_hmac`` signs them with the account's HMAC keys (which must exist:
    see ``docs/docusign-setup.md``).
    """
    return {
        "url": check_url(url, allow_http=allow_http),
        "requireAcknowledgment": _flag(require_acknowledgment),
        "loggingEnabled": _flag(logging_enabled),
        "includeHMAC": _flag(include_hmac),
        "deliveryMode": "SIM",
        "events": check_events(events),
        "eventData": event_data(include_data),
    }


def connect_configuration(
    url: str,
    *,
    name: str,
    events: Iterable[str] = DEFAULT_EVENTS,
    include_data: Iterable[str] = DEFAULT_INCLUDE_DATA,
    user_ids: Iterable[str] = (),
    requires_acknowledgement: bool = True,
    include_hmac: bool = True,
    enable_log: bool = True,
    allow_http: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /restapi/v2.1/accounts/{accountId}/connect``: a custom configuration.

    Every user's envelopes are published unless ``user_ids`` names some users
    (``allUsers`` is then ``"false"``).
    """
    if not name.strip():
        raise SubscriptionError("a Connect configuration needs a name")
    users = _unique(user_ids)
    body: dict[str, Any] = {
        "name": name.strip(),
        "urlToPublishTo": check_url(url, allow_http=allow_http),
        "allowEnvelopePublish": "true",
        "enableLog": _flag(enable_log),
        "allUsers": _flag(not users),
        "configurationType": "custom",
        "deliveryMode": "SIM",
        "events": check_events(events),
        "eventData": event_data(include_data),
        "requiresAcknowledgement": _flag(requires_acknowledgement),
        "includeHMAC": _flag(include_hmac),
    }
    if users:
        body["userIds"] = users
    return body
