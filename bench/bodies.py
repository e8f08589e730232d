"""Signed Connect bodies for the benchmark: every body is a distinct event.

``json`` bodies are JSON SIM messages of about 2 KB (an ``envelopeSummary`` with two
signers), ``xml`` bodies XML legacy messages of about 5 KB (four recipients). Each body has
its own envelope id and generation time, so each is recorded as a new event. Bodies are
written to a file that ``wrk_bodies.lua`` reads: per body one line
``<length> <signature> <content type>`` followed by exactly ``length`` bytes.

``large_body`` builds the 25 MB / 50 MB notifications carrying two PDFs (random bytes,
base64), for ``large.py``.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from connect_mw.verify import sign

KEY = "bench-hmac-key-Yk3pX0tGm7sQ2vRzL9wN4cHb8dJf6aE1="
ACCOUNT = "7ed99888-4cf3-42ad-b3d5-5b0f016a294a"
PATH = "/docusign/connect"
CONTENT_TYPES = {"json": "application/json", "xml": "text/xml"}
_BASE = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
_NS = (
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://www.docusign.net/API/3.0"'
)


def envelope_id(index: int, salt: int = 0) -> str:
    """A distinct, stable envelope id per index."""
    return str(uuid.UUID(int=(salt << 64) | (index + 1), version=4))


def _stamp(index: int) -> datetime:
    return _BASE + timedelta(milliseconds=index)


def _sim_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def _signer(number: int, status: str, moment: datetime) -> dict[str, Any]:
    return {
        "name": f"Signer Number{number}",
        "email": f"signer{number}@example.com",
        "recipientId": str(number),
        "recipientIdGuid": str(uuid.UUID(int=number, version=4)),
        "requireIdLookup": "false",
        "userId": str(uuid.UUID(int=1000 + number, version=4)),
        "routingOrder": str(number),
        "status": status,
        "completedCount": "1" if status == "completed" else "0",
        "deliveryMethod": "email",
        "sentDateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.5Z",
        "deliveredDateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.8Z",
        "recipientType": "signer",
    }


def json_body(index: int, salt: int = 0) -> bytes:
    """A JSON SIM ``envelope-completed`` / ``envelope-sent`` body of about 2 KB."""
    envelope = envelope_id(index, salt)
    moment = _stamp(index)
    status = "completed" if index % 2 else "sent"
    summary = {
        "status": status,
        "emailSubject": "Please sign: framework agreement",
        "envelopeId": envelope,
        "signingLocation": "online",
        "createdDateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.1Z",
        "sentDateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.2Z",
        "statusChangedDateTime": f"{moment:%Y-%m-%dT%H:%M:%S}.3Z",
        "sender": {"userName": "Ada Sender", "email": "ada.sender@example.org"},
        "recipients": {"signers": [_signer(1, status, moment), _signer(2, status, moment)]},
    }
    message = {
        "event": f"envelope-{status}",
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/{envelope}",
        "retryCount": 0,
        "configurationId": 10502729,
        "generatedDateTime": _sim_time(moment),
        "data": {
            "accountId": ACCOUNT,
            "userId": "c0ffee00-1234-4abc-8def-0123456789ab",
            "envelopeId": envelope,
            "envelopeSummary": summary,
        },
    }
    return json.dumps(message, indent=2).encode()


def _xml_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}7"


def _xml_recipient(number: int, status: str, moment: datetime) -> str:
    stamp = _xml_time(moment)
    return (
        "    <RecipientStatus>\n"
        "      <Type>Signer</Type>\n"
        f"      <Email>signer{number}@example.com</Email>\n"
        f"      <UserName>Signer Number{number}</UserName>\n"
        f"      <RoutingOrder>{number}</RoutingOrder>\n"
        f"      <Sent>{stamp}</Sent>\n"
        f"      <Delivered>{stamp}</Delivered>\n"
        '      <DeclineReason xsi:nil="true" />\n'
        f"      <Status>{status}</Status>\n"
        "      <RecipientIPAddress>198.51.100.23</RecipientIPAddress>\n"
        "      <CustomFields><CustomField>Department: Legal</CustomField></CustomFields>\n"
        "      <TabStatuses><TabStatus><TabType>SignHere</TabType><Status>Signed</Status>"
        "<XPosition>120</XPosition><YPosition>640</YPosition><TabLabel>Signature 1</TabLabel>"
        f"<TabName>SignHere</TabName><DocumentID>1</DocumentID><PageNumber>{number}</PageNumber>"
        "</TabStatus></TabStatuses>\n"
        "      <AccountStatus>Active</AccountStatus>\n"
        f"      <RecipientId>{uuid.UUID(int=number, version=4)}</RecipientId>\n"
        "    </RecipientStatus>\n"
    )


def xml_body(
    index: int, salt: int = 0, *, documents: tuple[str, ...] = (), recipients: int = 4
) -> bytes:
    """An XML legacy body of about 5 KB; ``documents`` are base64 ``PDFBytes`` to embed."""
    moment = _stamp(index)
    status = "Completed" if index % 2 else "Sent"
    people = "".join(_xml_recipient(n, status, moment) for n in range(1, recipients + 1))
    stamp = _xml_time(moment)
    pdfs = "".join(
        f"<DocumentPDF><Name>document{n}.pdf</Name><PDFBytes>{encoded}</PDFBytes>"
        f"<DocumentID>{n}</DocumentID><DocumentType>CONTENT</DocumentType></DocumentPDF>"
        for n, encoded in enumerate(documents, start=1)
    )
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<DocuSignEnvelopeInformation {_NS}>\n"
        "  <EnvelopeStatus>\n"
        f"  <RecipientStatuses>\n{people}  </RecipientStatuses>\n"
        f"    <TimeGenerated>{stamp}</TimeGenerated>\n"
        f"    <EnvelopeID>{envelope_id(index, salt)}</EnvelopeID>\n"
        "    <Subject>Please sign: framework agreement</Subject>\n"
        "    <UserName>Ada Sender</UserName>\n"
        "    <Email>ada.sender@example.org</Email>\n"
        f"    <Status>{status}</Status>\n"
        f"    <Created>{stamp}</Created>\n"
        f"    <Sent>{stamp}</Sent>\n"
        "    <ACStatus>Original</ACStatus>\n"
        "    <SenderIPAddress>203.0.113.7</SenderIPAddress>\n"
        "    <CustomFields><CustomField><Name>ContractNumber</Name><Show>True</Show>"
        "<Required>False</Required><Value>RV-2024-031</Value>"
        "<CustomFieldType>Text</CustomFieldType></CustomField></CustomFields>\n"
        "  </EnvelopeStatus>\n"
        f"  <DocumentPDFs>{pdfs}</DocumentPDFs>\n"
        "  <TimeZone>Pacific Standard Time</TimeZone>\n"
        "  <TimeZoneOffset>-8</TimeZoneOffset>\n"
        "</DocuSignEnvelopeInformation>\n"
    )
    return text.encode()


def body(kind: str, index: int, salt: int = 0) -> bytes:
    """The ``index``-th ``json`` or ``xml`` benchmark body."""
    return json_body(index, salt) if kind == "json" else xml_body(index, salt)


def headers(kind: str, payload: bytes) -> dict[str, str]:
    """The headers DocuSign sends with ``payload`` (lower-case names)."""
    return {
        "content-type": CONTENT_TYPES[kind],
        "x-docusign-signature-1": sign(KEY, payload),
        "x-authorization-digest": "HMACSHA256",
        "x-docusign-accountid": ACCOUNT,
    }


def write_bodies(path: Path, kind: str, count: int, salt: int) -> int:
    """Write ``count`` distinct signed bodies for ``wrk_bodies.lua``; return their mean size."""
    total = 0
    with path.open("wb") as out:
        for index in range(count):
            payload = body(kind, index, salt)
            total += len(payload)
            line = f"{len(payload)} {sign(KEY, payload)} {CONTENT_TYPES[kind]}\n"
            out.write(line.encode("ascii"))
            out.write(payload)
    return total // max(count, 1)


def random_pdf_base64(size: int) -> str:
    """``size`` random bytes, base64-encoded (incompressible, like a real PDF's streams)."""
    return base64.b64encode(os.urandom(size)).decode("ascii")


def large_body(kind: str, total: int, salt: int = 0) -> bytes:
    """A notification of about ``total`` bytes whose bulk is two PDFs (base64)."""
    each = (total * 3 // 4) // 2  # raw PDF bytes per document: base64 adds a third
    documents = (random_pdf_base64(each), random_pdf_base64(each))
    if kind == "xml":
        return xml_body(1, salt, documents=documents)
    message = json.loads(json_body(1, salt))
    message["data"]["envelopeSummary"]["envelopeDocuments"] = [
        {
            "documentId": str(number),
            "name": f"document{number}.pdf",
            "type": "content",
            "PDFBytes": encoded,
        }
        for number, encoded in enumerate(documents, start=1)
    ]
    return json.dumps(message, indent=2).encode()
