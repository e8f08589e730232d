"""Turning a Connect request body into a ``Notification``.

``parse`` accepts the three body formats Connect sends — XML legacy
(``DocuSignEnvelopeInformation``), JSON SIM (Connect 2.0) and JSON aggregate (a bare REST
envelope object) — and normalizes them into the same model. Every failure, whatever its
cause, is a ``ParseError`` whose ``reason`` says what is wrong in plain words; see
``docs/parsing.md`` for the formats, the field mapping and what is rejected.

Only what identifies a message is strict; a secondary field of an unexpected shape is left
empty, listed in ``Notification.parse_warnings`` and logged as one warning per message
(:mod:`.lenient`).
"""

from __future__ import annotations

import logging

import msgspec

from ..display import display
from ..errors import ParseError
from ..model import Notification
from .json import parse_json
from .lenient import Leniency
from .sniff import BodyKind, sniff
from .xml import parse_xml

log = logging.getLogger("connect_mw")

__all__ = ["UNEXPECTED_FAILURE", "ParseError", "parse"]

#: Reason prefix of a ``ParseError`` raised for a failure no check anticipated (a bug).
UNEXPECTED_FAILURE = "unexpected parser failure"


def parse(body: bytes, content_type: str | None = None, *, warn: bool = True) -> Notification:
    """Parse a Connect body into a ``Notification``.

    ``content_type`` is the request's media type, lower-cased, without parameters
    (``"application/json"``, ``"text/xml"``), or ``None``. The body's first non-whitespace
    byte decides the format (``<`` XML, ``{`` JSON); the content type only breaks ties.

    Secondary fields of an unexpected shape are left empty and listed in the result's
    ``parse_warnings``; with ``warn`` (the default) one WARNING line per message says so.
    The worker, parsing a stored body again, passes ``warn=False``: the receiver already
    logged it.

    Raises ``ParseError`` for every body that is not a Connect envelope notification, and
    ``TypeError`` when ``body`` is not bytes-like (a programming error, not a bad body).
    """
    raw: object = body
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"body must be bytes, not {type(raw).__name__}")
    lenient = Leniency()
    try:
        notification = _parse(raw, content_type, lenient)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("nested too deeply") from None
    except Exception as exc:
        raise ParseError(f"{UNEXPECTED_FAILURE} ({type(exc).__name__})") from exc
    if not lenient.count:
        return notification
    warnings = lenient.summary()
    if warn:
        log.warning(
            "parsed %s envelope=%s with %d secondary field(s) of an unexpected shape left "
            "empty (kept in the raw body): %s",
            display(notification.event),
            display(notification.envelope_id),
            lenient.count,
            display("; ".join(warnings)),  # a reason may quote a key the body holds
        )
    return msgspec.structs.replace(notification, parse_warnings=warnings)


def _parse(body: bytes, content_type: str | None, lenient: Leniency) -> Notification:
    """Sniff the format and hand the body to its parser."""
    sniffed = sniff(body, content_type)
    if sniffed.kind is BodyKind.JSON:
        return parse_json(body, len(body), lenient)
    return parse_xml(sniffed.document, len(body), lenient)
