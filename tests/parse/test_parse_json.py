"""JSON SIM and JSON aggregate parsing: field mapping and rejections."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import msgspec
import pytest

from connect_mw.errors import ParseError
from connect_mw.model import (
    CustomField,
    DocumentRef,
    EnvelopeStatus,
    EnvelopeTimes,
    Notification,
    PayloadFormat,
    Recipient,
    RecipientStatus,
    Sender,
)
from connect_mw.parse import parse
from connect_mw.parse.json_load import load_object
from support.payloads import fixture_bytes

UTC = timezone.utc
ACCOUNT = "5d1c8f3a-2b47-4e9a-9c31-7f0e6a2d4b18"
USER = "c0ffee00-1234-4abc-8def-0123456789ab"
MINIMAL_ENVELOPE = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a"
FULL_ENVELOPE = "8e9f0a1b-2c3d-4e4f-8a5b-6c7d8e9f0a1b"
SENDER = Sender(
    name="Ada Sender", email="ada.sender@example.org", user_id=USER, ip_address="203.0.113.7"
)


def load(name: str) -> dict[str, Any]:
    value = json.loads(fixture_bytes(name))
    assert isinstance(value, dict)
    return value


def encode(message: object) -> bytes:
    """UTF-8 JSON; lone surrogates (not encodable) are written as ASCII escapes."""
    text = json.dumps(message, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(message).encode("ascii")


def parse_message(message: object) -> Notification:
    return parse(encode(message), "application/json")


def rejects(body: bytes, *fragments: str) -> str:
    with pytest.raises(ParseError) as caught:
        parse(body, "application/json")
    reason = caught.value.reason
    for fragment in fragments:
        assert fragment in reason, reason
    return reason


def full_with(path: str, value: object) -> bytes:
    """The full SIM fixture with the dotted ``path`` (list indexes allowed) set to ``value``."""
    message = load("sim_envelope_completed_full.json")
    target: Any = message
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return encode(message)


_DELETE = object()


# --- SIM fixtures -------------------------------------------------------------------------


def test_minimal_envelope_sent() -> None:
    body = fixture_bytes("sim_envelope_sent_minimal.json")
    n = parse(body, "application/json")
    assert n == Notification(
        event="envelope-sent",
        envelope_id=MINIMAL_ENVELOPE,
        format=PayloadFormat.JSON_SIM,
        account_id=ACCOUNT,
        status=EnvelopeStatus.SENT,
        generated_at=datetime(2024, 3, 5, 17, 21, 9, 123456, tzinfo=UTC),
        retry_count=0,
        configuration_id=10011234,
        user_id=USER,
        api_version="v2.1",
        raw_size=len(body),
    )


def test_minimal_envelope_completed() -> None:
    n = parse(fixture_bytes("sim_envelope_completed_minimal.json"))
    assert n.event == "envelope-completed"
    assert n.status is EnvelopeStatus.COMPLETED
    assert n.envelope_id == MINIMAL_ENVELOPE
    assert n.generated_at == datetime(2024, 3, 5, 18, 2, 44, 900000, tzinfo=UTC)
    assert n.times == EnvelopeTimes()
    assert n.recipients == ()
    assert n.subject is None
    assert n.sender is None


def test_full_envelope_summary_envelope_fields() -> None:
    n = parse(fixture_bytes("sim_envelope_completed_full.json"))
    assert n.event == "envelope-completed"
    assert n.format is PayloadFormat.JSON_SIM
    assert n.envelope_id == FULL_ENVELOPE
    assert n.status is EnvelopeStatus.COMPLETED
    assert n.subject == "Bitte unterschreiben: Rahmenvertrag 渡辺/Müller"
    assert n.sender == SENDER
    assert n.generated_at == datetime(2024, 3, 6, 10, 15, 32, 447190, tzinfo=UTC)
    assert n.times == EnvelopeTimes(
        created=datetime(2024, 3, 6, 9, 58, 1, 120000, tzinfo=UTC),
        sent=datetime(2024, 3, 6, 9, 58, 41, 70000, tzinfo=UTC),
        delivered=datetime(2024, 3, 6, 10, 12, 9, 500000, tzinfo=UTC),
        completed=datetime(2024, 3, 6, 10, 15, 31, 873000, tzinfo=UTC),
        status_changed=datetime(2024, 3, 6, 10, 15, 31, 873000, tzinfo=UTC),
    )
    assert n.custom_fields == (
        CustomField(
            name="ContractNumber",
            value="RV-2024-031",
            field_type="text",
            show=True,
            required=False,
        ),
        CustomField(name="Region", value="APAC", field_type="list", show=False, required=True),
    )
    assert n.void_reason is None
    assert n.decline_reason is None
    assert n.recipient_id is None


def test_full_envelope_summary_recipients() -> None:
    n = parse(fixture_bytes("sim_envelope_completed_full.json"))
    untabbed = tuple(
        msgspec.structs.replace(r, tabs=()) for r in n.recipients
    )  # tests/parse/test_tabs.py
    assert untabbed == (
        Recipient(
            recipient_id="1",
            recipient_type="signer",
            status=RecipientStatus.COMPLETED,
            email="zoe.mueller@example.com",
            name="Zoë Müller",
            routing_order=1,
            recipient_id_guid="11111111-aaaa-4bbb-8ccc-000000000001",
            sent_at=datetime(2024, 3, 6, 9, 58, 41, 300000, tzinfo=UTC),
            delivered_at=datetime(2024, 3, 6, 10, 4, 58, 610000, tzinfo=UTC),
            signed_at=datetime(2024, 3, 6, 10, 5, 44, 200000, tzinfo=UTC),
            custom_fields=(CustomField(name="cost-center=4711"),),
        ),
        Recipient(
            recipient_id="2",
            recipient_type="signer",
            status=RecipientStatus.COMPLETED,
            email="ken.watanabe@example.jp",
            name="渡辺 健",
            routing_order=2,  # given as a JSON integer
            recipient_id_guid="11111111-aaaa-4bbb-8ccc-000000000002",
            client_user_id="emb-7731",
            sent_at=datetime(2024, 3, 6, 10, 5, 45, 10000, tzinfo=UTC),
            delivered_at=datetime(2024, 3, 6, 10, 12, 9, 500000, tzinfo=UTC),
            signed_at=datetime(2024, 3, 6, 10, 15, 31, 500000, tzinfo=UTC),
        ),
        Recipient(
            recipient_id="3",
            recipient_type="carbon_copy",
            status=RecipientStatus.COMPLETED,
            email="archive@example.org",
            name="Legal Archive",
            routing_order=3,
            recipient_id_guid="11111111-aaaa-4bbb-8ccc-000000000003",
            sent_at=datetime(2024, 3, 6, 10, 15, 32, 10000, tzinfo=UTC),
        ),
    )


def test_full_envelope_summary_documents_without_bytes() -> None:
    n = parse(fixture_bytes("sim_envelope_completed_full.json"))
    assert n.documents == (
        DocumentRef(document_id="1", name="Rahmenvertrag.pdf", document_type="content"),
        DocumentRef(document_id="certificate", name="Summary", document_type="summary"),
    )
    assert not n.documents[0].has_content
    with pytest.raises(ValueError, match="without its bytes"):
        n.documents[0].content()


def test_documents_with_pdf_bytes_decode_lazily() -> None:
    n = parse(fixture_bytes("sim_envelope_completed_documents.json"))
    contract, certificate = n.documents
    assert (contract.document_id, contract.document_type) == ("1", "content")
    assert (certificate.document_id, certificate.document_type) == ("certificate", "summary")
    assert contract.encoded_size == 520
    assert certificate.encoded_size == 536
    assert contract.content() == fixture_bytes("fake_contract.pdf")
    assert certificate.content() == fixture_bytes("fake_certificate.pdf")
    assert n.generated_at == datetime(2024, 3, 5, 9, 22, 50, 0, tzinfo=UTC)


def test_recipient_completed_retry_with_summary() -> None:
    n = parse(fixture_bytes("sim_recipient_completed_retry.json"))
    assert n.event == "recipient-completed"
    assert n.recipient_id == "1"
    assert n.retry_count == 1
    assert n.configuration_id == 10011234  # given as a numeric string
    assert n.status is EnvelopeStatus.SENT  # from envelopeSummary, not from the event
    assert n.generated_at == datetime(2024, 2, 14, 5, 3, 8, 675915, tzinfo=UTC)
    assert n.times.status_changed == datetime(2024, 2, 14, 5, 1, 7, 390000, tzinfo=UTC)
    first, second = n.recipients
    assert (first.recipient_id, first.status, first.routing_order) == (
        "1",
        RecipientStatus.COMPLETED,
        1,
    )
    assert first.signed_at == datetime(2024, 2, 14, 5, 3, 8, 467000, tzinfo=UTC)
    assert (second.recipient_id, second.status, second.routing_order) == (
        "2",
        RecipientStatus.SENT,
        2,
    )
    assert second.recipient_id_guid == "22222222-bbbb-4ccc-9ddd-000000000002"


def test_recipient_sent_minimal_yields_the_one_recipient() -> None:
    n = parse(fixture_bytes("sim_recipient_sent_minimal.json"))
    assert n.event == "recipient-sent"
    assert n.status is None
    assert n.recipient_id == "2"
    assert n.recipients == (Recipient(recipient_id="2", status=RecipientStatus.SENT),)
    assert n.envelope_id == MINIMAL_ENVELOPE


# --- aggregate ----------------------------------------------------------------------------


def test_aggregate_envelope_object() -> None:
    body = fixture_bytes("aggregate_envelope.json")
    n = parse(body, "application/json")
    assert n.format is PayloadFormat.JSON_AGGREGATE
    assert n.event == "envelope-declined"
    assert n.envelope_id == "f0e1d2c3-b4a5-4968-8776-a5b4c3d2e1f0"
    assert n.status is EnvelopeStatus.DECLINED
    assert n.subject == "Änderungsvereinbarung"
    assert n.decline_reason == "Falscher Betrag in §3."
    assert n.account_id is None
    assert n.generated_at is None
    assert n.retry_count is None
    assert n.occurred_at == datetime(2024, 8, 20, 12, 31, 45, 123000, tzinfo=UTC)
    assert n.times.declined == datetime(2024, 8, 20, 12, 31, 45, 123000, tzinfo=UTC)
    assert n.custom_fields == (
        CustomField(name="Ticket", value="OPS-5521", field_type="text", show=True, required=False),
    )
    signer, certified = n.recipients
    assert signer.recipient_type == "signer"
    assert signer.status is RecipientStatus.DECLINED
    assert signer.declined_at == datetime(2024, 8, 20, 12, 31, 45, 100000, tzinfo=UTC)
    assert certified.recipient_type == "certified_delivery"
    assert certified.status is RecipientStatus.CREATED
    assert n.documents == (
        DocumentRef(document_id="1", name="Aenderung.pdf", document_type="content"),
    )
    assert n.raw_size == len(body)


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ({"status": "sent"}, "missing 'envelopeId'"),
        ({"envelopeId": "abc"}, "missing 'status'"),
        ({"envelopeId": "abc", "status": None}, "missing 'status'"),
        ({"envelopeId": "  ", "status": "sent"}, "JSON: envelopeId is missing"),
        ({"foo": 1}, "neither a Connect event message"),
        ({}, "neither a Connect event message"),
        ({"envelopeId": 7, "status": "sent"}, "JSON: envelopeId must be a string"),
    ],
)
def test_aggregate_that_is_not_an_envelope(message: object, fragment: str) -> None:
    rejects(encode(message), fragment)


def test_minimal_aggregate() -> None:
    n = parse_message({"envelopeId": "abc", "status": "Completed"})
    assert (n.event, n.status, n.format) == (
        "envelope-completed",
        EnvelopeStatus.COMPLETED,
        PayloadFormat.JSON_AGGREGATE,
    )


# --- events and status --------------------------------------------------------------------


def minimal(event: str, **data: object) -> dict[str, Any]:
    message = load("sim_envelope_sent_minimal.json")
    message["event"] = event
    message["data"].update(data)
    return message


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("envelope-created", "created"),
        ("envelope-sent", "sent"),
        ("envelope-delivered", "delivered"),
        ("envelope-completed", "completed"),
        ("envelope-declined", "declined"),
        ("envelope-voided", "voided"),
        ("envelope-deleted", "deleted"),
        ("envelope-resent", None),
        ("envelope-corrected", None),
        ("envelope-purge", None),
        ("envelope-discard", None),
        ("recipient-completed", None),
        ("brand-new-event", None),
    ],
)
def test_status_from_event_without_summary(event: str, status: str | None) -> None:
    n = parse_message(minimal(event))
    assert n.event == event
    assert n.status == (EnvelopeStatus(status) if status is not None else None)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("recipient-sent", RecipientStatus.SENT),
        ("recipient-delivered", RecipientStatus.DELIVERED),
        ("recipient-completed", RecipientStatus.COMPLETED),
        ("recipient-declined", RecipientStatus.DECLINED),
        ("recipient-autoresponded", RecipientStatus.AUTORESPONDED),
        ("recipient-resent", None),
        ("recipient-authenticationfailed", None),
        ("recipient-reassign", None),
        ("recipient-delegate", None),
        ("recipient-finish-later", None),
    ],
)
def test_recipient_events_without_summary(event: str, status: RecipientStatus | None) -> None:
    n = parse_message(minimal(event, recipientId="7"))
    assert n.recipients == (Recipient(recipient_id="7", status=status),)
    assert n.recipient_id == "7"
    assert n.status is None


def test_recipient_event_without_recipient_id_has_no_recipients() -> None:
    n = parse_message(minimal("recipient-sent"))
    assert n.recipients == ()
    assert n.recipient_id is None


def test_envelope_event_with_recipient_id_lists_no_recipient() -> None:
    n = parse_message(minimal("envelope-sent", recipientId="1"))
    assert n.recipients == ()
    assert n.recipient_id == "1"


def test_event_name_is_lower_cased() -> None:
    n = parse_message(minimal(" Envelope-Completed "))
    assert n.event == "envelope-completed"
    assert n.status is EnvelopeStatus.COMPLETED


def test_summary_without_status_falls_back_to_the_event() -> None:
    message = minimal("envelope-voided", envelopeSummary={"voidedReason": "typo in name"})
    n = parse_message(message)
    assert n.status is EnvelopeStatus.VOIDED
    assert n.void_reason == "typo in name"


@pytest.mark.parametrize("event", ["click-agreed", "click-declined"])
def test_click_events_are_about_no_envelope(event: str) -> None:
    message = {"event": event, "apiVersion": "v2.1", "data": {"agreementId": "a-1"}}
    n = parse_message(message)
    assert (n.event, n.envelope_id, n.about_envelope, n.subject_id) == (event, "", False, "a-1")
    assert (n.status, n.recipients, n.times) == (None, (), EnvelopeTimes())
    assert n.extras["data"] == {"agreementId": "a-1"}


def test_a_click_event_names_its_clickwrap() -> None:
    message = {"event": "click-agreed", "data": {"clickwrapId": "c-1", "agreementId": "a-1"}}
    assert parse_message(message).subject_id == "c-1"
    message = {"event": "click-agreed", "uri": "/clickapi/v1/accounts/x/clickwraps/c-2/users"}
    assert parse_message(message).subject_id == "c-2"


def test_template_events_are_about_no_envelope() -> None:
    message = {"event": "template-created", "data": {"templateId": "t-1", "accountId": ACCOUNT}}
    n = parse_message(message)
    assert (n.envelope_id, n.subject_id, n.account_id) == ("", "t-1", ACCOUNT)
    message = {"event": "template-deleted", "uri": "/restapi/v2.1/accounts/x/templates/t-2"}
    assert parse_message(message).subject_id == "t-2"


def test_a_template_event_ignores_an_envelope_id() -> None:
    message = {"event": "template-modified", "data": {"templateId": "t-1", "envelopeId": "e"}}
    assert parse_message(message).envelope_id == ""


def test_an_unknown_event_is_about_an_envelope_only_when_it_names_one() -> None:
    assert parse_message({"event": "brand-new-event", "data": {}}).about_envelope is False
    n = parse_message({"event": "brand-new-event", "data": {"envelopeId": MINIMAL_ENVELOPE}})
    assert (n.envelope_id, n.status) == (MINIMAL_ENVELOPE, None)


@pytest.mark.parametrize("event", [None, "", "   ", 5, ["envelope-sent"]])
def test_missing_or_wrong_event(event: object) -> None:
    message = minimal("envelope-sent")
    message["event"] = event
    rejects(encode(message), "JSON: event")


# --- envelope id sources ------------------------------------------------------------------


def test_envelope_id_from_summary_when_data_has_none() -> None:
    message = load("sim_envelope_completed_full.json")
    del message["data"]["envelopeId"]
    message["uri"] = "/restapi/v2.1/accounts/x"
    assert parse_message(message).envelope_id == FULL_ENVELOPE


def test_envelope_id_from_uri_when_data_has_none() -> None:
    message = minimal("envelope-sent")
    del message["data"]
    n = parse_message(message)
    assert n.envelope_id == MINIMAL_ENVELOPE
    assert n.account_id is None


def test_envelope_id_in_data_and_summary_must_agree() -> None:
    other = "11111111-2222-3333-4444-555555555555"
    message = minimal("envelope-sent", envelopeSummary={"status": "sent", "envelopeId": other})
    rejects(encode(message), "disagree")


def test_uri_is_only_a_fallback_for_the_envelope_id() -> None:
    message = minimal("envelope-sent", envelopeId="11111111-2222-3333-4444-555555555555")
    assert parse_message(message).envelope_id == "11111111-2222-3333-4444-555555555555"


def test_envelope_id_sources_compare_case_insensitively() -> None:
    message = minimal("envelope-sent", envelopeId=MINIMAL_ENVELOPE.upper())
    assert parse_message(message).envelope_id == MINIMAL_ENVELOPE.upper()


def test_missing_envelope_id() -> None:
    message = minimal("envelope-sent")
    del message["data"]["envelopeId"]
    del message["uri"]
    rejects(encode(message), "JSON: data.envelopeId is missing")


@pytest.mark.parametrize("segment", ["x", "not-a-guid", "4d5e6f7a8b9c4d0e9f1a2b3c4d5e6f7a"])
def test_an_envelope_id_from_uri_must_be_a_guid(segment: str) -> None:
    message = minimal("envelope-sent")
    message["data"]["envelopeId"] = None
    message["uri"] = f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/{segment}"
    rejects(encode(message), "uri is not a GUID")


def test_an_envelope_id_given_directly_need_not_be_a_guid() -> None:
    message = minimal("envelope-sent", envelopeId="x")
    message["uri"] = f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/x"
    assert parse_message(message).envelope_id == "x"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (123, "JSON: data.envelopeId must be a string"),
        ("a" * 257, "JSON: data.envelopeId is longer than 256 characters"),
        ("abc\ndef", "JSON: data.envelopeId contains control characters"),
        ("abc\u0000", "JSON: data.envelopeId contains a NUL character"),
        ("abc\ud800", "JSON: data.envelopeId contains a lone surrogate"),
    ],
)
def test_bad_envelope_ids(value: object, fragment: str) -> None:
    message = minimal("envelope-sent", envelopeId=value)
    del message["uri"]
    body = json.dumps(message).encode()  # ASCII escapes keep the lone surrogate encodable
    rejects(body, fragment)


# --- strict JSON --------------------------------------------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_rejected(constant: str) -> None:
    body = fixture_bytes("sim_envelope_sent_minimal.json").replace(
        b'"retryCount": 0', f'"retryCount": {constant}'.encode()
    )
    assert constant.encode() in body
    rejects(body, f"JSON: {constant} is not a valid JSON number")


TOO_LARGE = [(b"1e999", "too large"), (b"-" + b"9" * 31, "more than 30 digits"),
             (b"1" * 100_000, "30 digits"), (b"0." + b"1" * 200, "longer")]  # fmt: skip


@pytest.mark.parametrize(("literal", "reason"), TOO_LARGE, ids=lambda v: str(v)[:12])
def test_numbers_too_large_to_read_are_refused_by_the_strict_loader(
    literal: bytes, reason: str
) -> None:
    """``load_object`` as ``Delivery.body`` uses it: no huge number is ever converted."""
    with pytest.raises(ParseError, match=reason):
        load_object(b'{"envelopeId": "e", "status": "sent", "x": ' + literal + b"}")


@pytest.mark.parametrize(("literal", "reason"), TOO_LARGE, ids=lambda v: str(v)[:12])
def test_numbers_too_large_to_read_in_ignored_keys_keep_the_message(
    literal: bytes, reason: str
) -> None:
    """Valid JSON: the parser leaves them unconverted (tests/parse/test_parse_lenient.py)."""
    ok = b'{"envelopeId": "e", "status": "sent", "x": ' + b"9" * 30 + b"}"
    assert parse(ok).envelope_id == "e"
    body = b'{"envelopeId": "e", "status": "sent", "x": ' + literal + b"}"
    assert parse(body).envelope_id == "e"


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "envelope-sent", "event": "envelope-completed"}',
        b'{"envelopeId": "e", "status": "sent", "sender": {"email": "a", "email": "b"}}',
        b'{"envelopeId": "e", "status": "sent", "x": [{"k": 1, "k": 1}]}',
    ],
)
def test_duplicate_keys_are_rejected(body: bytes) -> None:
    rejects(body, "same key twice")


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[]", "an array"),
        (b'["envelope-sent"]', "an array"),
    ],
)
def test_non_object_top_level(body: bytes, kind: str) -> None:
    rejects(body, f"top level must be an object, not {kind}")


@pytest.mark.parametrize("body", [b'"text"', b"42", b"null", b"true"])
def test_scalar_top_level_with_json_content_type(body: bytes) -> None:
    rejects(body, "JSON: top level must be an object")


def test_deep_nesting_is_rejected() -> None:
    depth = 100_000
    body = b'{"envelopeId": "e", "status": "sent", "x": ' + b"[" * depth + b"]" * depth + b"}"
    rejects(body, "nested too deeply")
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    rejects(objects, "nested too deeply")


def test_moderate_nesting_in_ignored_keys_is_fine() -> None:
    depth = 200
    body = b'{"envelopeId": "e", "status": "sent", "x": ' + b"[" * depth + b"]" * depth + b"}"
    assert parse(body).envelope_id == "e"


def test_malformed_json() -> None:
    rejects(b'{"event": "envelope-sent",}', "JSON: malformed")
    rejects(b'{"event": "envelope-sent"} trailing', "JSON: malformed")


def test_invalid_utf8_is_rejected() -> None:
    rejects(b'{"envelopeId": "\xff\xfe\xfd", "status": "sent"}', "not valid UTF-8")
    rejects(b'{"envelopeId": "\xed\xa0\x80", "status": "sent"}', "not valid UTF-8")


def leaves_empty(body: bytes, fragment: str) -> Notification:
    """``body`` parses, its identity intact, with ``fragment`` among its parse warnings."""
    notification = parse(body, "application/json")
    assert any(fragment in warning for warning in notification.parse_warnings), (
        notification.parse_warnings
    )
    return notification


def test_lone_surrogate_in_kept_text_is_left_empty() -> None:
    body = full_with("data.envelopeSummary.emailSubject", "Hi \ud83d")
    assert leaves_empty(body, "lone surrogate").subject is None
    body = json.dumps({"envelopeId": "e", "status": "sent", "emailSubject": "a\udc00"}).encode()
    n = leaves_empty(body, "JSON: emailSubject contains a lone surrogate")
    assert (n.envelope_id, n.subject) == ("e", None)


def test_lone_surrogate_in_an_identity_field_is_rejected() -> None:
    rejects(full_with("data.envelopeId", "e\ud83d"), "lone surrogate")


def test_lone_surrogate_in_ignored_text_is_tolerated() -> None:
    body = json.dumps({"envelopeId": "e", "status": "sent", "note": "a\udc00"}).encode()
    assert parse(body).envelope_id == "e"


def test_nul_in_kept_text_is_left_empty() -> None:
    body = full_with("data.envelopeSummary.recipients.signers.0.name", "Zoë\u0000")
    assert leaves_empty(body, "signers[0].name contains a NUL character").recipients[0].name is None


def test_surrogate_pair_escapes_are_fine() -> None:
    body = full_with("data.envelopeSummary.emailSubject", "Signed \U0001f58a")
    assert parse(json.dumps(json.loads(body)).encode()).subject == "Signed \U0001f58a"


# --- wrong types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("data", "envelope", "JSON: data must be an object"),
        ("generatedDateTime", "06.03.2024 10:15", "JSON: generatedDateTime is not an ISO-8601"),
        ("generatedDateTime", 5, "JSON: generatedDateTime must be a string"),
        ("data.envelopeId", 5, "JSON: data.envelopeId must be a string"),
        ("data.envelopeSummary.envelopeId", ["x"], "envelopeSummary.envelopeId must be a string"),
        ("event", {}, "JSON: event must be a string"),
    ],
)
def test_identity_fields_of_the_wrong_type_are_rejected(
    path: str, value: object, fragment: str
) -> None:
    rejects(full_with(path, value), fragment)


_SIGNER = "data.envelopeSummary.recipients.signers.0"


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("data.envelopeSummary", [], "JSON: data.envelopeSummary must be an object"),
        ("data.envelopeSummary", "completed", "JSON: data.envelopeSummary must be an object"),
        ("data.envelopeSummary.recipients", "signers", "envelopeSummary.recipients must be an"),
        ("data.envelopeSummary.recipients.signers", {}, "recipients.signers must be an array"),
        (f"{_SIGNER}", "x", "recipients.signers[0] must be an"),
        (f"{_SIGNER}.routingOrder", "abc", "signers[0].routingOrder"),
        (f"{_SIGNER}.routingOrder", -1, "signers[0].routingOrder"),
        (f"{_SIGNER}.routingOrder", True, "signers[0].routingOrder"),
        (f"{_SIGNER}.routingOrder", 1.0, "signers[0].routingOrder"),
        (f"{_SIGNER}.recipientId", 1, "recipientId must be a string"),
        (f"{_SIGNER}.status", "done!", "is not a status name"),
        (f"{_SIGNER}.customFields", "x", "customFields must be an"),
        (f"{_SIGNER}.customFields", [3], "customFields[0] must be"),
        (f"{_SIGNER}.signedDateTime", "yesterday", "signedDateTime"),
        ("data.envelopeSummary.status", 3, "JSON: data.envelopeSummary.status must be a string"),
        ("data.envelopeSummary.emailSubject", 5, "emailSubject must be a string"),
        ("data.envelopeSummary.sentDateTime", "2024-13-01T00:00:00Z", "Summary.sentDateTime"),
        ("data.envelopeSummary.sender", "ada", "JSON: data.envelopeSummary.sender must be an"),
        ("data.envelopeSummary.customFields.textCustomFields.0.show", "maybe", "show must be"),
        ("data.envelopeSummary.customFields.textCustomFields", {}, "textCustomFields must be an"),
        ("data.envelopeSummary.envelopeDocuments", "docs", "envelopeDocuments must be an array"),
        ("data.envelopeSummary.envelopeDocuments.0.PDFBytes", "Zoë", "PDFBytes is not base64"),
        ("retryCount", "x", "JSON: retryCount must be a non-negative integer"),
        ("retryCount", 1.5, "JSON: retryCount must be a non-negative integer"),
        ("configurationId", [1], "JSON: configurationId must be a non-negative integer"),
        ("data.accountId", {}, "JSON: data.accountId must be a string"),
        ("data.recipientId", 7, "JSON: data.recipientId must be a string"),
    ],
)
def test_secondary_fields_of_the_wrong_type_are_left_empty_naming_the_field(
    path: str, value: object, fragment: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="connect_mw")
    n = leaves_empty(full_with(path, value), fragment)
    assert (n.envelope_id, n.event) == (FULL_ENVELOPE, "envelope-completed")
    assert n.generated_at is not None
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and fragment in warnings[0].getMessage()


def test_routing_order_abc_leaves_only_that_field_empty() -> None:
    n = leaves_empty(full_with(f"{_SIGNER}.routingOrder", "abc"), "routingOrder")
    reference = parse(fixture_bytes("sim_envelope_completed_full.json"))
    assert n.recipients[0].routing_order is None
    assert msgspec.structs.replace(n.recipients[0], routing_order=1) == reference.recipients[0]
    assert n.status is reference.status and n.recipients[1:] == reference.recipients[1:]


def test_a_summary_of_the_wrong_type_falls_back_to_the_event() -> None:
    n = leaves_empty(full_with("data.envelopeSummary", "completed"), "envelopeSummary")
    assert (n.status, n.recipients, n.full_recipient_list) == (EnvelopeStatus.COMPLETED, (), False)


def test_recipients_of_the_wrong_type_are_not_a_full_list() -> None:
    n = leaves_empty(full_with("data.envelopeSummary.recipients", "all"), "recipients")
    assert (n.recipients, n.full_recipient_list) == ((), False)


def test_warn_false_parses_the_same_without_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="connect_mw")
    body = full_with(f"{_SIGNER}.routingOrder", "abc")
    quiet = parse(body, warn=False)
    assert caplog.records == []
    assert quiet == parse(body) and quiet.parse_warnings == parse(body).parse_warnings


def test_many_bad_fields_are_one_warning_with_a_bounded_list(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING", logger="connect_mw")
    message = load("sim_envelope_completed_full.json")
    signer = message["data"]["envelopeSummary"]["recipients"]["signers"][0]
    message["data"]["envelopeSummary"]["recipients"]["signers"] = [
        dict(signer, routingOrder="abc", recipientId=str(n)) for n in range(50)
    ]
    n = parse(encode(message))
    signers = [r for r in n.recipients if r.recipient_type == "signer"]
    assert len(signers) == 50 and all(r.routing_order is None for r in signers)
    assert len(n.parse_warnings) == 11 and n.parse_warnings[-1] == "and 40 more"
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


def test_aggregate_status_is_the_event_so_stays_strict() -> None:
    body = json.dumps({"envelopeId": "e", "status": "done!"}).encode()
    rejects(body, "JSON: status is not a status name")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("data.envelopeSummary.recipients.signers", None),
        ("data.envelopeSummary.recipients.signers.0.routingOrder", ""),
        ("data.envelopeSummary.recipients.signers.0.routingOrder", None),
        ("data.envelopeSummary.sentDateTime", ""),
        ("data.envelopeSummary.customFields.textCustomFields.0.show", True),
        ("data.envelopeSummary.recipients.recipientCount", 3),
        ("retryCount", "2"),
        ("configurationId", None),
    ],
)
def test_tolerated_values(path: str, value: object) -> None:
    assert parse(full_with(path, value)).envelope_id == FULL_ENVELOPE


def test_summary_document_without_id_is_the_certificate() -> None:
    n = parse(full_with("data.envelopeSummary.envelopeDocuments.1.documentId", _DELETE))
    assert n.documents[1].document_id == "certificate"


def test_content_document_without_id_gets_its_position() -> None:
    n = parse(full_with("data.envelopeSummary.envelopeDocuments.0.documentId", _DELETE))
    assert n.documents[0].document_id == "document-1"


def test_recipient_without_id_falls_back_to_guid_then_identity() -> None:
    n = parse(full_with("data.envelopeSummary.recipients.signers.0.recipientId", _DELETE))
    assert n.recipients[0].recipient_id == "11111111-aaaa-4bbb-8ccc-000000000001"
    message = json.loads(
        full_with("data.envelopeSummary.recipients.signers.0.recipientId", _DELETE)
    )
    del message["data"]["envelopeSummary"]["recipients"]["signers"][0]["recipientIdGuid"]
    first = parse_message(message).recipients[0]
    assert first.recipient_id == f"signer:{first.routing_order}:{first.email}"


def test_in_person_signer_falls_back_to_signer_name_and_email() -> None:
    message = minimal(
        "envelope-sent",
        envelopeSummary={
            "status": "sent",
            "recipients": {
                "inPersonSigners": [
                    {
                        "recipientId": "1",
                        "hostName": "Front Desk",
                        "signerName": "Visitor Vera",
                        "signerEmail": "vera@example.com",
                        "status": "sent",
                    }
                ],
                "notaries": [{"recipientId": "2", "name": "Nora Notary", "routingOrder": "2"}],
                "unknownKind": [{"recipientId": "3"}],
            },
        },
    )
    signer, notary = parse_message(message).recipients
    assert (signer.recipient_type, signer.name, signer.email) == (
        "in_person_signer",
        "Visitor Vera",
        "vera@example.com",
    )
    assert (notary.recipient_type, notary.name, notary.routing_order) == (
        "notary",
        "Nora Notary",
        2,
    )


def test_auto_responded_and_declined_reasons() -> None:
    message = minimal(
        "envelope-declined",
        envelopeSummary={
            "status": "declined",
            "recipients": {
                "signers": [
                    {
                        "recipientId": "1",
                        "status": "autoresponded",
                        "autoRespondedReason": "bounce",
                    },
                    {"recipientId": "2", "status": "declined", "declinedReason": " no thanks "},
                ]
            },
        },
    )
    n = parse_message(message)
    bounced, declined = n.recipients
    assert bounced.auto_responded_reason == "bounce"
    assert bounced.status is RecipientStatus.AUTORESPONDED
    assert declined.decline_reason == "no thanks"
    assert n.decline_reason == "no thanks"


def test_fixture_is_unchanged_by_helpers() -> None:
    original = load("sim_envelope_completed_full.json")
    snapshot = copy.deepcopy(original)
    full_with("data.envelopeSummary.status", "sent")
    assert load("sim_envelope_completed_full.json") == snapshot
