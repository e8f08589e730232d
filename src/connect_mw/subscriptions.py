"""Subscribe to Connect: the JSON bodies DocuSign's REST API takes, ready to send.

Two ways to ask DocuSign for notifications, with different field spellings:

* :func:`event_notification` — per envelope: the ``eventNotification`` object you put in an
  envelope definition when you create the envelope (``requireAcknowledgment``, ``url``,
  ``loggingEnabled``);
* :func:`connect_configuration` — account-wide: the body of
  ``POST /restapi/v2.1/accounts/{accountId}/connect`` (``requiresAcknowledgement``,
  ``urlToPublishTo``, ``allUsers``, ``configurationType``).

Both ask for SIM delivery (one message per event) in ``restv2.1`` JSON with HMAC signatures,
the shape :mod:`connect_mw.parse` reads best; ``legacy_xml=True`` asks for the legacy XML
form instead (``envelopeEvents`` / ``recipientEvents`` status codes, ``includeTimeZone``).
Every one of DocuSign's 26 event triggers can be named (:data:`KNOWN_EVENTS`); template and
click events come only through an account configuration (an envelope's own
``eventNotification`` is about that envelope). Booleans are the strings ``"true"`` and
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
#: Template events (about templates, not envelopes: recorded with ``envelope_id == ""``).
TEMPLATE_EVENTS = ("template-created", "template-modified", "template-deleted")
#: Click events (clickwrap agreements, not envelopes: recorded with ``envelope_id == ""``).
CLICK_EVENTS = ("click-agreed", "click-declined")
#: Every Connect event trigger: 11 envelope, 10 recipient, 3 template and 2 click events.
KNOWN_EVENTS = ENVELOPE_EVENTS + RECIPIENT_EVENTS + TEMPLATE_EVENTS + CLICK_EVENTS
#: The legacy XML form's status codes for the events it can name.
LEGACY_ENVELOPE_CODES = {
    "envelope-sent": "Sent",
    "envelope-delivered": "Delivered",
    "envelope-completed": "Completed",
    "envelope-declined": "Declined",
    "envelope-voided": "Voided",
}
LEGACY_RECIPIENT_CODES = {
    "recipient-sent": "Sent",
    "recipient-delivered": "Delivered",
    "recipient-completed": "Completed",
    "recipient-declined": "Declined",
    "recipient-authenticationfailed": "AuthenticationFailed",
    "recipient-autoresponded": "AutoResponded",
}
#: Connect configuration types: sender-side (the account's senders' envelopes) and
#: recipient-side (envelopes the account's users receive).
CONFIGURATION_TYPES = {"sender": "custom", "recipient": "customrecipient"}
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


def legacy_codes(events: Iterable[str]) -> tuple[list[str], list[str]]:
    """The legacy XML form's envelope and recipient status codes for ``events``.

    Only events that form can name are accepted (see :data:`LEGACY_ENVELOPE_CODES` and
    :data:`LEGACY_RECIPIENT_CODES`); any other is a ``SubscriptionError``.
    """
    names = check_events(events)
    envelope = [LEGACY_ENVELOPE_CODES[n] for n in names if n in LEGACY_ENVELOPE_CODES]
    recipient = [LEGACY_RECIPIENT_CODES[n] for n in names if n in LEGACY_RECIPIENT_CODES]
    other = [n for n in names if n not in LEGACY_ENVELOPE_CODES and n not in LEGACY_RECIPIENT_CODES]
    if other:
        known = ", ".join([*LEGACY_ENVELOPE_CODES, *LEGACY_RECIPIENT_CODES])
        raise SubscriptionError(
            f"event {other[0]!r} has no legacy XML form; the legacy form knows: {known}"
        )
    return envelope, recipient


def _security(sign_with_x509: bool, include_oauth: bool, x509_field: str) -> dict[str, str]:
    """The optional mTLS (``x509_field``) and OAuth flags, present only when asked for."""
    flags: dict[str, str] = {}
    if sign_with_x509:
        flags[x509_field] = "true"
    if include_oauth:
        flags["includeOAuth"] = "true"
    return flags


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
    sign_with_x509: bool = False,
    include_oauth: bool = False,
    legacy_xml: bool = False,
    include_time_zone: bool = True,
) -> dict[str, Any]:
    """The ``eventNotification`` of an envelope definition: SIM, JSON, HMAC-signed.

    ``require_acknowledgment`` makes DocuSign retry messages your listener did not answer
    with a 2xx; ``include_hmac`` signs them with the account's HMAC keys (which must exist:
    see ``docs/docusign-setup.md``); ``sign_with_x509`` (``signMessageWithX509Cert``) has
    DocuSign present its client certificate (mTLS); ``include_oauth`` (``includeOAuth``)
    sends an OAuth bearer token. ``legacy_xml`` asks for the legacy XML form
    (``envelopeEvents``/``recipientEvents``), with ``includeTimeZone`` from
    ``include_time_zone`` (XML times are then read in the account's zone; without it,
    as UTC).
    """
    body: dict[str, Any] = {
        "url": check_url(url, allow_http=allow_http),
        "requireAcknowledgment": _flag(require_acknowledgment),
        "loggingEnabled": _flag(logging_enabled),
        "includeHMAC": _flag(include_hmac),
        **_security(sign_with_x509, include_oauth, "signMessageWithX509Cert"),
    }
    if not legacy_xml:
        _time_zone_only_for_xml(include_time_zone)
        body["deliveryMode"] = "SIM"
        body["events"] = check_events(events)
        body["eventData"] = event_data(include_data)
        return body
    envelope, recipient = legacy_codes(events)
    documents = "documents" in check_include_data(include_data)
    body["envelopeEvents"] = [
        {"envelopeEventStatusCode": code, "includeDocuments": _flag(documents)} for code in envelope
    ]
    body["recipientEvents"] = [
        {"recipientEventStatusCode": code, "includeDocuments": _flag(documents)}
        for code in recipient
    ]
    body["includeDocuments"] = _flag(documents)
    body["includeEnvelopeVoidReason"] = "true"
    body["includeTimeZone"] = _flag(include_time_zone)
    return body


def _time_zone_only_for_xml(include_time_zone: bool) -> None:
    if not include_time_zone:
        raise SubscriptionError(
            "include_time_zone=False only applies to the legacy XML form (JSON times are UTC)"
        )


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
    sign_with_x509: bool = False,
    include_oauth: bool = False,
    recipient_side: bool = False,
    group_ids: Iterable[str] = (),
    legacy_xml: bool = False,
    include_time_zone: bool = True,
) -> dict[str, Any]:
    """The body of ``POST /restapi/v2.1/accounts/{accountId}/connect``: a custom configuration.

    Every user's envelopes are published unless ``user_ids`` names some users
    (``allUsers`` is then ``"false"``); ``group_ids`` (``groupIds``) limits it to users of
    those groups. ``recipient_side`` makes it a recipient-side configuration
    (``configurationType`` ``customrecipient``: envelopes the account's users receive)
    instead of a sender-side one (``custom``). ``sign_with_x509``
    (``signMessageWithX509Certificate``), ``include_oauth``, ``legacy_xml`` and
    ``include_time_zone`` (``includeTimeZoneInformation``) are as for
    :func:`event_notification`.
    """
    if not name.strip():
        raise SubscriptionError("a Connect configuration needs a name")
    users = _unique(user_ids)
    groups = _unique(group_ids)
    body: dict[str, Any] = {
        "name": name.strip(),
        "urlToPublishTo": check_url(url, allow_http=allow_http),
        "allowEnvelopePublish": "true",
        "enableLog": _flag(enable_log),
        "allUsers": _flag(not users and not groups),
        "configurationType": CONFIGURATION_TYPES["recipient" if recipient_side else "sender"],
    }
    if legacy_xml:
        envelope, recipient = legacy_codes(events)
        body["envelopeEvents"] = envelope
        body["recipientEvents"] = recipient
        body["includeDocuments"] = _flag("documents" in check_include_data(include_data))
        body["includeEnvelopeVoidReason"] = "true"
        body["includeTimeZoneInformation"] = _flag(include_time_zone)
    else:
        _time_zone_only_for_xml(include_time_zone)
        body["deliveryMode"] = "SIM"
        body["events"] = check_events(events)
        body["eventData"] = event_data(include_data)
    body["requiresAcknowledgement"] = _flag(requires_acknowledgement)
    body["includeHMAC"] = _flag(include_hmac)
    body.update(_security(sign_with_x509, include_oauth, "signMessageWithX509Certificate"))
    if users:
        body["userIds"] = users
    if groups:
        body["groupIds"] = groups
    return body
