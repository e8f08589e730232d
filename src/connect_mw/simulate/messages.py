"""Simulated messages: a lifecycle moment rendered in one format, signed like DocuSign signs.

A :class:`SimulatedMessage` is one *logical* Connect event. Its body is rendered per attempt:
JSON SIM bodies carry the attempt's ``retryCount`` (so a retry is byte-different but the same
event), XML legacy bodies are identical on every attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..http import Request
from ..verify import sign
from .account import Account
from .json_sim import sim_body
from .lifecycles import Lifecycle, Moment
from .xml_legacy import xml_body

#: ``json``: SIM with ``envelopeSummary`` (recipients and custom fields, what the default
#: subscription's ``includeData`` asks for; ``json-summary`` is the same); ``json-minimal``:
#: no ``envelopeSummary``; ``json-documents``: with it and base64 documents; ``xml``: XML
#: legacy with ``TimeZone``/``TimeZoneOffset``; ``xml-no-time-zone``: without them.
FORMATS = ("json", "json-summary", "json-minimal", "json-documents", "xml", "xml-no-time-zone")
#: Formats that carry the envelope's whole recipient list in every message.
FULL_LIST_FORMATS = frozenset(FORMATS) - {"json-minimal"}
#: The legacy XML formats (no template or click events: XML cannot express them).
XML_FORMATS = frozenset({"xml", "xml-no-time-zone"})
DEFAULT_DOCUMENT_SIZE = 64 * 1024
_XML_CONTENT_TYPE = "text/xml; charset=utf-8"


def signed_headers(
    body: bytes, hmac_keys: Sequence[str], account_id: str, content_type: str
) -> dict[str, str]:
    """The headers DocuSign sends: one ``X-DocuSign-Signature-N`` per active key."""
    headers = {
        "Content-Type": content_type,
        "X-DocuSign-AccountId": account_id,
        "X-Authorization-Digest": "HMACSHA256",
    }
    for number, key in enumerate(hmac_keys, start=1):
        headers[f"X-DocuSign-Signature-{number}"] = sign(key, body)
    return headers


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    """One logical Connect event of ``lifecycle``, in ``format`` (one of :data:`FORMATS`)."""

    lifecycle: Lifecycle
    moment: Moment
    format: str = "json"
    account: Account = field(default_factory=Account)
    document_size: int = 0

    @property
    def envelope_id(self) -> str:
        """The envelope the message is about (``""`` for template and click events)."""
        return self.lifecycle.envelope_id

    @property
    def lane(self) -> str:
        """What orders the message: its envelope, or its template or clickwrap."""
        return self.lifecycle.lane

    @property
    def event(self) -> str:
        """DocuSign's event name (XML messages carry none; this says what triggered them)."""
        return self.moment.event

    @property
    def content_type(self) -> str:
        """``application/json`` or ``text/xml``, with the charset."""
        if self.format in XML_FORMATS:
            return _XML_CONTENT_TYPE
        return "application/json; charset=utf-8"

    def body(self, retry_count: int = 0) -> bytes:
        """The body of the attempt whose ``retryCount`` is ``retry_count``."""
        if self.format in XML_FORMATS:
            return xml_body(
                self.lifecycle,
                self.moment,
                self.account,
                document_size=self.document_size,
                time_zone=self.format == "xml",
            )
        return sim_body(
            self.lifecycle,
            self.moment,
            self.account,
            retry_count=retry_count,
            summary=self.format != "json-minimal",
            document_size=self.document_size,
        )

    def headers(self, body: bytes, hmac_keys: Sequence[str]) -> dict[str, str]:
        """Signed headers for ``body``."""
        return signed_headers(body, hmac_keys, self.account.account_id, self.content_type)

    def request(
        self, hmac_keys: Sequence[str], *, path: str = "/docusign/connect", retry_count: int = 0
    ) -> Request:
        """A core :class:`~connect_mw.http.Request`, for ``Receiver.handle`` without HTTP."""
        body = self.body(retry_count)
        headers = {name.lower(): value for name, value in self.headers(body, hmac_keys).items()}
        headers["content-length"] = str(len(body))
        return Request("POST", path, headers, body)


def check_format(payload_format: str) -> str:
    """``payload_format`` when it is one of :data:`FORMATS`."""
    if payload_format not in FORMATS:
        raise ValueError(f"unknown format {payload_format!r}; choose from {', '.join(FORMATS)}")
    return payload_format


def delivered(
    lifecycles: Iterable[Lifecycle], payload_format: str, events: Iterable[str] | None = None
) -> list[Lifecycle]:
    """The lifecycles as a subscription to ``events`` in ``payload_format`` sees them.

    Moments of other events are left out (``None``: every event), and so are template and
    click events in XML; a lifecycle left with no moment is left out.
    """
    wanted = None if events is None else frozenset(events)
    seen = []
    for lifecycle in lifecycles:
        visible = lifecycle.only(wanted)
        if payload_format in XML_FORMATS and not visible.about_envelope:
            continue
        if visible.moments:
            seen.append(visible)
    return seen


def messages_for(
    lifecycles: Iterable[Lifecycle],
    payload_format: str = "json",
    *,
    account: Account | None = None,
    document_size: int | None = None,
    events: Iterable[str] | None = None,
) -> list[SimulatedMessage]:
    """Every moment of every lifecycle as a message, each envelope's in DocuSign order.

    ``events`` limits them to those event names, as a subscription does (``None``: all);
    XML formats leave template and click events out (see :func:`delivered`).
    ``document_size`` (bytes) embeds documents; ``json-documents`` defaults to
    :data:`DEFAULT_DOCUMENT_SIZE`, the other formats to none.
    """
    check_format(payload_format)
    if document_size is None:
        document_size = DEFAULT_DOCUMENT_SIZE if payload_format == "json-documents" else 0
    return [
        SimulatedMessage(lifecycle, moment, payload_format, account or Account(), document_size)
        for lifecycle in delivered(lifecycles, payload_format, events)
        for moment in lifecycle.moments
    ]
