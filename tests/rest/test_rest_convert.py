"""REST envelopes (listStatusChanges with include=recipients) as ``rest-poll`` notifications."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from msgspec.structs import replace

from connect_mw.errors import ParseError
from connect_mw.keys import default_key
from connect_mw.model import EnvelopeStatus, PayloadFormat, RecipientStatus
from connect_mw.parse.json import parse_json
from connect_mw.parse.lenient import Leniency
from connect_mw.parse.rest import envelope_bytes
from connect_mw.rest import rest_envelope_to_notification
from connect_mw.state import fold

from .fake_data import T0, ds_time, envelope_id, make_envelope
from .spec_check import schema_errors

#: An envelope as listStatusChanges answers it with include=recipients,custom_fields.
COMPLETED: dict[str, Any] = {
    "envelopeId": "4b728be4-4f9a-4d3b-9a57-1e2c8f0b7d61",
    "status": "completed",
    "emailSubject": "Please DocuSign: NDA.pdf",
    "envelopeUri": "/envelopes/4b728be4-4f9a-4d3b-9a57-1e2c8f0b7d61",
    "createdDateTime": "2016-10-05T01:00:58.1830000Z",
    "sentDateTime": "2016-10-05T01:04:58.1830000Z",
    "deliveredDateTime": "2016-10-05T01:10:02.4470000Z",
    "completedDateTime": "2016-10-05T01:12:40.9630000Z",
    "statusChangedDateTime": "2016-10-05T01:12:40.9630000Z",
    "lastModifiedDateTime": "2016-10-05T01:04:58.1830000Z",
    "sender": {"userName": "Ada Sender", "userId": "5d4c3b2a", "email": "ada@example.com"},
    "customFields": {
        "textCustomFields": [
            {"fieldId": "1", "name": "orderId", "value": "A-7", "show": "true", "required": "false"}
        ]
    },
    "recipients": {
        "signers": [
            {
                "recipientId": "1",
                "recipientIdGuid": "a1b2c3d4-0000-4000-8000-000000000001",
                "email": "bob@example.com",
                "name": "Bob Signer",
                "status": "completed",
                "routingOrder": "1",
                "sentDateTime": "2016-10-05T01:04:58.1830000Z",
                "deliveredDateTime": "2016-10-05T01:10:02.4470000Z",
                "signedDateTime": "2016-10-05T01:12:40.9630000Z",
            }
        ],
        "inPersonSigners": [
            {
                "recipientId": "3",
                "hostName": "Ada Sender",
                "signerName": "Dan Walkin",
                "signerEmail": "dan@example.com",
                "status": "completed",
                "routingOrder": "1",
            }
        ],
        "carbonCopies": [
            {
                "recipientId": "2",
                "email": "carol@example.com",
                "name": "Carol Copy",
                "status": "completed",
                "routingOrder": "2",
            }
        ],
        "recipientCount": "3",
        "currentRoutingOrder": "2",
    },
}


def test_the_sample_is_shaped_like_the_spec() -> None:
    assert schema_errors(COMPLETED, {"$ref": "#/definitions/envelope"}) == []


def test_a_completed_envelope() -> None:
    n = rest_envelope_to_notification(COMPLETED, account_id="acc-1")
    assert (n.event, n.envelope_id, n.format, n.status) == (
        "envelope-completed",
        COMPLETED["envelopeId"],
        PayloadFormat.REST_POLL,
        EnvelopeStatus.COMPLETED,
    )
    assert n.account_id == "acc-1" and n.subject == "Please DocuSign: NDA.pdf"
    assert n.sender is not None and n.sender.email == "ada@example.com"
    changed = datetime(2016, 10, 5, 1, 12, 40, 963000, tzinfo=timezone.utc)
    assert n.times.completed == n.times.status_changed == n.occurred_at == changed
    assert n.generated_at == changed  # the latest activity: the signature and the completion
    assert [(r.recipient_id, r.recipient_type, r.status, r.email) for r in n.recipients] == [
        ("1", "signer", RecipientStatus.COMPLETED, "bob@example.com"),
        ("2", "carbon_copy", RecipientStatus.COMPLETED, "carol@example.com"),
        ("3", "in_person_signer", RecipientStatus.COMPLETED, "dan@example.com"),
    ]
    assert n.recipients[0].signed_at == changed
    assert [(f.name, f.value, f.show) for f in n.custom_fields] == [("orderId", "A-7", True)]
    assert n.raw_size == len(envelope_bytes(COMPLETED))


def test_the_mapping_is_the_json_parsers_own() -> None:
    for envelope in (COMPLETED, make_envelope(4, "declined", T0), make_envelope(5, "voided", T0)):
        raw = envelope_bytes(envelope)
        parsed = parse_json(raw, len(raw), Leniency())
        expected = replace(
            parsed, format=PayloadFormat.REST_POLL, generated_at=parsed.times.status_changed
        )
        assert rest_envelope_to_notification(envelope) == expected


def test_voided_and_declined_reasons_and_listed_documents() -> None:
    voided = rest_envelope_to_notification(make_envelope(5, "voided", T0))
    assert (voided.event, voided.void_reason) == ("envelope-voided", "Sent by mistake")
    declined = rest_envelope_to_notification(make_envelope(4, "declined", T0))
    assert declined.decline_reason == "Wrong amount"
    (document,) = declined.documents
    assert (document.document_id, document.name, document.has_content) == (
        "1",
        "Contract.pdf",
        False,
    )


def test_the_same_envelope_polled_twice_is_the_same_notification() -> None:
    first = rest_envelope_to_notification(json.loads(json.dumps(COMPLETED)))
    reordered = dict(reversed(list(COMPLETED.items())))
    second = rest_envelope_to_notification(reordered)
    assert first == second and default_key(first) == default_key(second)
    later = {**COMPLETED, "statusChangedDateTime": "2016-10-06T00:00:00.0000000Z"}
    assert default_key(rest_envelope_to_notification(later)) != default_key(first)


def test_a_signature_without_a_status_change_is_a_new_poll() -> None:
    before = make_envelope(1, "delivered", T0)
    after = json.loads(json.dumps(before))
    signer = after["recipients"]["signers"][0]
    signer["status"], signer["signedDateTime"] = "completed", ds_time(T0 + timedelta(hours=2))
    first, second = rest_envelope_to_notification(before), rest_envelope_to_notification(after)
    assert first.status == second.status and first.times == second.times
    assert first.generated_at == T0 and second.generated_at == T0 + timedelta(hours=2)
    assert default_key(first) != default_key(second)
    folded = fold(fold(None, first).state, second)
    assert [(t.name, t.recipient_id) for t in folded.transitions] == [("recipient-completed", "1")]


def test_folding_a_poll_fires_what_the_envelope_reached() -> None:
    result = fold(None, rest_envelope_to_notification(make_envelope(1, "completed", T0)))
    names = [t.name for t in result.transitions if t.recipient_id is None]
    assert names == [
        "envelope-created",
        "envelope-sent",
        "envelope-delivered",
        "envelope-completed",
    ]
    assert result.state.status == EnvelopeStatus.COMPLETED
    assert result.state.envelope_id == envelope_id(1)


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ({"status": "sent"}, "JSON: envelopeId"),
        ({"envelopeId": "x"}, "has no status"),
        (
            {"envelopeId": "x", "status": "sent", "recipients": {"signers": "bob"}},
            "must be an array",
        ),
        (  # strict, unlike a Connect message: a REST reply we cannot read is a bug to see
            {
                "envelopeId": "x",
                "status": "sent",
                "recipients": {"signers": [{"routingOrder": "abc"}]},
            },
            "routingOrder must be a non-negative integer",
        ),
    ],
)
def test_envelopes_that_cannot_be_read(envelope: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        rest_envelope_to_notification(envelope)
