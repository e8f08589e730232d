"""Objects shaped like DocuSign's (field names and string scalars of the spec extract).

``make_envelope`` builds an ``envelope`` with its ``recipients``, ``customFields`` and
``envelopeDocuments``; ``FakeDocument`` yields a document's bytes lazily, in chunks, so a
multi-megabyte PDF never sits in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

JSONObject = dict[str, Any]
ACCOUNT_ID = "c3d2a1b0-9f8e-4d7c-8b6a-5e4f3a2b1c0d"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def ds_time(moment: datetime) -> str:
    """DocuSign's timestamp shape: UTC, seven fractional digits (``…58.1830000Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def envelope_id(number: int) -> str:
    """A GUID-shaped envelope id, stable per number."""
    return f"{number:08x}-1b2c-4d3e-8f4a-5b6c7d8e9f0a"


@dataclass(frozen=True)
class Party:
    """A recipient to put in an envelope."""

    recipient_id: str
    email: str
    name: str
    status: str
    kind: str = "signers"
    routing_order: int = 1


def _recipient(party: Party, changed: datetime) -> JSONObject:
    recipient: JSONObject = {
        "recipientId": party.recipient_id,
        "recipientIdGuid": f"{int(party.recipient_id):08d}-aaaa-4bbb-8ccc-dddddddddddd",
        "email": party.email,
        "name": party.name,
        "status": party.status,
        "routingOrder": str(party.routing_order),
        "recipientType": "signer" if party.kind == "signers" else "carboncopy",
        "sentDateTime": ds_time(changed - timedelta(minutes=30)),
    }
    if party.status in ("delivered", "completed", "signed"):
        recipient["deliveredDateTime"] = ds_time(changed - timedelta(minutes=20))
    if party.status == "completed" and party.kind == "signers":
        recipient["signedDateTime"] = ds_time(changed)
    if party.status == "declined":
        recipient["declinedDateTime"] = ds_time(changed)
        recipient["declinedReason"] = "Wrong amount"
    return recipient


def _recipients(parties: Sequence[Party], changed: datetime) -> JSONObject:
    lists: JSONObject = {"signers": [], "carbonCopies": []}
    for party in parties:
        lists[party.kind].append(_recipient(party, changed))
    lists["recipientCount"] = str(len(parties))
    lists["currentRoutingOrder"] = "1"
    return lists


def _status_times(status: str, changed: datetime) -> JSONObject:
    times = {"createdDateTime": ds_time(changed - timedelta(hours=1))}
    if status != "created":
        times["sentDateTime"] = ds_time(changed - timedelta(minutes=30))
    if status in ("delivered", "completed"):
        times["deliveredDateTime"] = ds_time(changed - timedelta(minutes=20))
    if status in ("completed", "declined", "voided"):
        times[f"{status}DateTime"] = ds_time(changed)
    return times


def make_envelope(
    number: int,
    status: str,
    changed: datetime,
    parties: Sequence[Party] | None = None,
    subject: str | None = None,
) -> JSONObject:
    """An ``envelope`` as getEnvelope/listStatusChanges answer it with every include."""
    ident = envelope_id(number)
    parties = parties if parties is not None else default_parties(status)
    envelope: JSONObject = {
        "envelopeId": ident,
        "status": status,
        "emailSubject": subject or f"Please sign contract {number}",
        "envelopeUri": f"/envelopes/{ident}",
        "statusChangedDateTime": ds_time(changed),
        "lastModifiedDateTime": ds_time(changed),
        "documentsUri": f"/envelopes/{ident}/documents",
        "recipientsUri": f"/envelopes/{ident}/recipients",
        "certificateUri": f"/envelopes/{ident}/documents/certificate",
        "documentsCombinedUri": f"/envelopes/{ident}/documents/combined",
        "sender": {"userName": "Ada Sender", "email": "ada@example.com", "userId": "5d4c3b2a"},
        "customFields": {
            "textCustomFields": [{"fieldId": "1", "name": "orderId", "value": f"A-{number}"}],
            "listCustomFields": [],
        },
        "recipients": _recipients(parties, changed),
        "envelopeDocuments": [
            {"documentId": "1", "name": "Contract.pdf", "type": "content", "order": "1"},
        ],
        **_status_times(status, changed),
    }
    if status == "voided":
        envelope["voidedReason"] = "Sent by mistake"
    return envelope


def default_parties(status: str) -> list[Party]:
    """One signer in the state matching the envelope's, and one carbon copy."""
    signer = {"completed": "completed", "declined": "declined", "delivered": "delivered"}
    return [
        Party("1", "bob@example.com", "Bob Signer", signer.get(status, "sent")),
        Party(
            "2",
            "carol@example.com",
            "Carol Copy",
            "completed" if status == "completed" else "created",
            kind="carbonCopies",
            routing_order=2,
        ),
    ]


@dataclass(frozen=True)
class FakeDocument:
    """A document of ``size`` bytes, produced ``chunk_size`` bytes at a time."""

    document_id: str
    name: str
    size: int
    chunk_size: int = 64 * 1024
    kind: str = "content"
    break_after: int | None = None  # chunks sent before the connection breaks

    def _block(self) -> bytes:
        seed = hashlib.sha256(self.document_id.encode()).digest()
        return (seed * (self.chunk_size // len(seed) + 1))[: self.chunk_size]

    def chunks(self) -> Iterator[bytes]:
        """The bytes, chunk by chunk: ``%PDF-1.4`` then a pattern derived from the id."""
        block = b"%PDF-1.4\n" + self._block()[9:]
        sent = 0
        while sent < self.size:
            if self.break_after is not None and sent >= self.break_after * self.chunk_size:
                raise ConnectionResetError("the fake breaks the connection mid-document")
            piece = block[: min(self.chunk_size, self.size - sent)]
            sent += len(piece)
            yield piece
            block = self._block()

    def digest(self) -> str:
        """The SHA-256 of the whole document, computed chunk by chunk."""
        hasher = hashlib.sha256()
        for chunk in self.chunks():
            hasher.update(chunk)
        return hasher.hexdigest()

    def listing(self, envelope: str, order: int) -> JSONObject:
        """This document as an ``envelopeDocument`` entry."""
        return {
            "documentId": self.document_id,
            "documentIdGuid": f"{order:08d}-dddd-4eee-8fff-000000000000",
            "name": self.name,
            "type": self.kind,
            "uri": f"/envelopes/{envelope}/documents/{self.document_id}",
            "order": str(order),
            "pages": [{"pageId": f"p{order}", "sequence": "1", "height": "792", "width": "612"}],
            "sizeBytes": str(self.size),
            "display": "inline",
            "includeInDownload": "true",
            "signerMustAcknowledge": "no_interaction",
        }


def make_failure(
    number: int, created: datetime, error: str = "The server did not respond"
) -> JSONObject:
    """A ``connectLog`` entry of the failure log."""
    ident = envelope_id(number)
    return {
        "failureId": f"f{number:04d}",
        "failureUri": f"/connect/failures/f{number:04d}",
        "retryUri": f"/connect/envelopes/{ident}/retry_queue",
        "accountId": ACCOUNT_ID,
        "envelopeId": ident,
        "connectId": "1234",
        "configUrl": "https://listener.example.com/docusign/connect",
        "created": ds_time(created),
        "lastTry": ds_time(created + timedelta(hours=1)),
        "retryCount": "2",
        "status": "completed",
        "error": error,
        "email": "ada@example.com",
        "userName": "Ada Sender",
        "subject": f"Please sign contract {number}",
    }


def make_configuration() -> JSONObject:
    """A ``connectCustomConfiguration`` as GET /connect lists it."""
    return {
        "connectId": "1234",
        "name": "connect-mw listener",
        "urlToPublishTo": "https://listener.example.com/docusign/connect",
        "configurationType": "custom",
        "allUsers": "true",
        "allowEnvelopePublish": "true",
        "requiresAcknowledgement": "true",
        "includeHMAC": "true",
        "enableLog": "true",
        "deliveryMode": "SIM",
        "events": ["envelope-sent", "envelope-completed", "recipient-completed"],
        "eventData": {"version": "restv2.1", "format": "json", "includeData": ["recipients"]},
    }


def make_form_data(envelope: JSONObject) -> JSONObject:
    """The ``envelopeFormData`` of an envelope."""
    return {
        "envelopeId": envelope["envelopeId"],
        "emailSubject": envelope["emailSubject"],
        "status": envelope["status"],
        "sentDateTime": envelope.get("sentDateTime", ""),
        "formData": [{"name": "amount", "value": "1200.00", "originalValue": "1000.00"}],
        "recipientFormData": [
            {
                "recipientId": "1",
                "name": "Bob Signer",
                "email": "bob@example.com",
                "formData": [{"name": "amount", "value": "1200.00"}],
                "SentTime": envelope.get("sentDateTime", ""),
                "SignedTime": envelope.get("completedDateTime", ""),
            }
        ],
    }
