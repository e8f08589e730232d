"""Conventions shared by the XML and JSON parsers.

A summary document (the certificate of completion) that comes without an id gets the id
``certificate``, the one JSON messages give it.

Recipient types are normalized to snake_case names whatever the format says:

=================  ===================  ======================
XML ``Type``       JSON list            ``recipient_type``
=================  ===================  ======================
Signer             signers              ``signer``
CarbonCopy         carbonCopies         ``carbon_copy``
CertifiedDelivery  certifiedDeliveries  ``certified_delivery``
InPersonSigner     inPersonSigners      ``in_person_signer``
Agent              agents               ``agent``
Editor             editors              ``editor``
Intermediary       intermediaries       ``intermediary``
Witness            witnesses            ``witness``
Notary             notaries             ``notary``
Seal               seals                ``seal``
=================  ===================  ======================

An XML type not in this table becomes the snake_case of its name (``SigningHost`` →
``signing_host``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ParseError
from ..model import Recipient, RecipientStatus
from .values import clean_text

#: ``document_id`` of a summary document (certificate of completion) sent without an id.
CERTIFICATE_DOCUMENT_ID = "certificate"


def fallback_document_id(document_type: str | None, position: int) -> str:
    """The id of a document listed without one.

    ``certificate`` for the summary, else ``document-<position>`` (1-based, message order).
    """
    return CERTIFICATE_DOCUMENT_ID if document_type == "summary" else f"document-{position}"


def fallback_recipient_id(
    recipient_type: str | None, routing_order: int | None, email: str | None, name: str | None
) -> str:
    """A stable id for a recipient listed without one (old or hand-made messages).

    Built from what identifies a recipient across messages of one envelope: type, routing
    order and email (or name), so later messages about the same recipient fold into it.
    """
    who = (email or name or "").strip().lower()
    return f"{recipient_type or 'recipient'}:{routing_order or 0}:{who}"


#: JSON ``recipients`` list names and the type each list's members have, in DocuSign's order.
JSON_RECIPIENT_LISTS: dict[str, str] = {
    "signers": "signer",
    "agents": "agent",
    "editors": "editor",
    "intermediaries": "intermediary",
    "carbonCopies": "carbon_copy",
    "certifiedDeliveries": "certified_delivery",
    "inPersonSigners": "in_person_signer",
    "seals": "seal",
    "witnesses": "witness",
    "notaries": "notary",
}

_XML_TYPES = {
    "signer": "signer",
    "carboncopy": "carbon_copy",
    "certifieddelivery": "certified_delivery",
    "inpersonsigner": "in_person_signer",
    "agent": "agent",
    "editor": "editor",
    "intermediary": "intermediary",
    "witness": "witness",
    "notary": "notary",
    "seal": "seal",
}
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\s-]+")
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def recipient_type(value: str | None, where: str) -> str | None:
    """Normalize an XML recipient ``Type`` (``CarbonCopy`` → ``carbon_copy``)."""
    text = clean_text(value, where)
    if text is None:
        return None
    known = _XML_TYPES.get(text.lower())
    if known is not None:
        return known
    snake = _SEPARATORS.sub("_", _WORD_BOUNDARY.sub("_", text)).lower()
    if not _TYPE_NAME.fullmatch(snake):
        raise ParseError(f"{where} is not a recipient type name")
    return snake


def envelope_decline_reason(recipients: Iterable[Recipient]) -> str | None:
    """The reason the envelope was declined: the declining recipient's decline reason.

    The first recipient with status ``declined`` and a reason wins; failing that, the first
    recipient that gives a reason at all.
    """
    reasons = [r for r in recipients if r.decline_reason is not None]
    for recipient in reasons:
        if recipient.status is RecipientStatus.DECLINED:
            return recipient.decline_reason
    return reasons[0].decline_reason if reasons else None
