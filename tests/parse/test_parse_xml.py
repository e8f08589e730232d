"""XML legacy (DocuSignEnvelopeInformation) parsing: field mapping and rejections."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from msgspec.structs import replace

from connect_mw.errors import ParseError
from connect_mw.model import (
    CustomField,
    EnvelopeStatus,
    EnvelopeTimes,
    Notification,
    PayloadFormat,
    Recipient,
    RecipientStatus,
    Sender,
)
from connect_mw.parse import parse
from support.payloads import fixture_bytes

UTC = timezone.utc
PDT = timezone(timedelta(hours=-7))
SENT_ENVELOPE = "3f2b9c1e-7a4d-4e8b-9c60-1d2e3f4a5b6c"


def parse_fixture(name: str) -> Notification:
    return parse(fixture_bytes(name), "text/xml")


def variant(name: str, old: str, new: str, count: int = 1) -> bytes:
    """The fixture with ``old`` replaced by ``new`` (``old`` must occur ``count`` times)."""
    text = fixture_bytes(name).decode("utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {name}"
    return text.replace(old, new).encode("utf-8")


def rejects(body: bytes, *fragments: str) -> str:
    with pytest.raises(ParseError) as caught:
        parse(body, "text/xml")
    reason = caught.value.reason
    for fragment in fragments:
        assert fragment in reason
    return reason


# --- fixtures, field by field -------------------------------------------------------------


def test_sent_pretty_printed_envelope_fields() -> None:
    body = fixture_bytes("xml_sent_pretty.xml")
    n = parse(body, "text/xml")
    assert n.format is PayloadFormat.XML_LEGACY
    assert n.event == "envelope-sent"
    assert n.envelope_id == SENT_ENVELOPE
    assert n.status is EnvelopeStatus.SENT
    assert n.account_id is None
    assert n.subject == "Bitte unterschreiben: Mietvertrag 2024-118"
    assert n.sender == Sender(
        name="Ada Sender", email="ada.sender@example.org", ip_address="203.0.113.7"
    )
    assert n.generated_at == datetime(2024, 3, 5, 9, 14, 5, 123456, tzinfo=UTC)
    assert n.times == EnvelopeTimes(
        created=datetime(2024, 3, 5, 9, 13, 41, 70000, tzinfo=UTC),
        sent=datetime(2024, 3, 5, 9, 14, 2, 500000, tzinfo=UTC),
    )
    assert n.void_reason is None
    assert n.decline_reason is None
    assert n.documents == ()
    assert n.recipient_id is None
    assert n.retry_count is None
    assert n.configuration_id is None
    assert n.user_id is None
    assert n.api_version is None
    assert n.raw_size == len(body)


def test_sent_pretty_printed_custom_fields() -> None:
    n = parse_fixture("xml_sent_pretty.xml")
    assert n.custom_fields == (
        CustomField(
            name="ContractNumber", value="2024-118", field_type="text", show=True, required=False
        ),
        CustomField(name="Region", value="EMEA", field_type="list", show=False, required=True),
    )


def test_sent_pretty_printed_recipients() -> None:
    n = parse_fixture("xml_sent_pretty.xml")
    assert n.recipients[0].tab("Signature 1") is not None  # tabs: tests/parse/test_tabs.py
    assert tuple(replace(r, tabs=()) for r in n.recipients) == (
        Recipient(
            recipient_id="a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b",
            recipient_type="signer",
            status=RecipientStatus.SENT,
            email="zoe.mueller@example.com",
            name="Zoë Müller",
            routing_order=1,
            recipient_id_guid="a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b",
            client_user_id="1001",
            sent_at=datetime(2024, 3, 5, 9, 14, 2, 483000, tzinfo=UTC),
            custom_fields=(CustomField(name="department=legal"),),
        ),
        Recipient(
            recipient_id="a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a5b",
            recipient_type="carbon_copy",
            status=RecipientStatus.CREATED,
            email="ken.watanabe@example.jp",
            name="渡辺 健",
            routing_order=2,
            recipient_id_guid="a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a5b",
        ),
    )


def test_pretty_printed_and_single_line_bodies_give_equal_notifications() -> None:
    pretty = parse_fixture("xml_sent_pretty.xml")
    single = parse_fixture("xml_sent_single_line.xml")
    assert b"\n" not in fixture_bytes("xml_sent_single_line.xml")
    assert single.raw_size < pretty.raw_size
    assert replace(single, raw_size=0) == replace(pretty, raw_size=0)


def test_documents_are_kept_encoded_and_decode_lazily() -> None:
    n = parse_fixture("xml_completed_documents.xml")
    assert [(d.document_id, d.name, d.document_type) for d in n.documents] == [
        ("1", "Mietvertrag.pdf", "content"),
        ("certificate", "CertificateOfCompletion_7c0e5a62.pdf", "summary"),
    ]
    contract, certificate = n.documents
    assert contract.has_content
    assert certificate.has_content
    assert contract.encoded_size == 520
    assert certificate.encoded_size == 543  # base64 wrapped at 76 columns, newlines kept
    assert contract.content() == fixture_bytes("fake_contract.pdf")
    assert certificate.content() == fixture_bytes("fake_certificate.pdf")


def test_completed_envelope_with_documents_times_and_recipient() -> None:
    n = parse_fixture("xml_completed_documents.xml")
    assert n.event == "envelope-completed"
    assert n.status is EnvelopeStatus.COMPLETED
    assert n.status.is_terminal
    assert n.generated_at == datetime(2024, 3, 5, 9, 22, 50, 0, tzinfo=UTC)
    assert n.times.completed == datetime(2024, 3, 5, 9, 22, 47, 600000, tzinfo=UTC)
    assert n.times.signed == datetime(2024, 3, 5, 9, 22, 47, 600000, tzinfo=UTC)
    assert n.times.delivered == datetime(2024, 3, 5, 9, 20, 12, 13000, tzinfo=UTC)
    (signer,) = n.recipients
    assert signer.status is RecipientStatus.COMPLETED
    assert signer.delivered_at == datetime(2024, 3, 5, 9, 20, 11, 900000, tzinfo=UTC)
    assert signer.signed_at == datetime(2024, 3, 5, 9, 22, 47, 317000, tzinfo=UTC)
    assert signer.client_user_id is None
    assert n.custom_fields == ()


def test_declined_envelope_takes_the_decline_reason_of_the_declining_recipient() -> None:
    n = parse_fixture("xml_declined.xml")
    assert n.event == "envelope-declined"
    assert n.status is EnvelopeStatus.DECLINED
    assert n.decline_reason == "Die Konditionen passen nicht — bitte überarbeiten."
    assert n.times.declined == datetime(2024, 4, 2, 11, 31, 12, 937000, tzinfo=UTC)
    decliner, waiting = n.recipients
    assert decliner.status is RecipientStatus.DECLINED
    assert decliner.decline_reason == n.decline_reason
    assert decliner.declined_at == datetime(2024, 4, 2, 11, 31, 12, 937000, tzinfo=UTC)
    assert decliner.name == "渡辺 健"
    assert waiting.status is RecipientStatus.CREATED
    assert waiting.decline_reason is None
    assert waiting.routing_order == 2


def test_voided_envelope_void_reason() -> None:
    n = parse_fixture("xml_voided.xml")
    assert n.event == "envelope-voided"
    assert n.status is EnvelopeStatus.VOIDED
    assert n.void_reason == "Superseded by envelope for contract 2024-131"
    assert n.decline_reason is None
    assert n.times.voided is None
    (host,) = n.recipients
    assert host.recipient_type == "in_person_signer"
    assert host.status is RecipientStatus.SENT


def test_offset_less_times_are_read_in_the_time_zone_offset() -> None:
    n = parse_fixture("xml_timezone_offset.xml")
    assert n.generated_at == datetime(2024, 7, 1, 17, 5, 3, 441700, tzinfo=PDT)
    assert n.generated_at is not None
    assert n.generated_at.utcoffset() == timedelta(hours=-7)
    assert n.times.created == datetime(2024, 7, 1, 16, 58, 12, 100000, tzinfo=PDT)
    assert n.times.sent == datetime(2024, 7, 1, 17, 0, 0, tzinfo=PDT)
    assert n.times.delivered == datetime(2024, 7, 1, 17, 5, 0, 50000, tzinfo=PDT)
    (signer,) = n.recipients
    assert signer.sent_at == datetime(2024, 7, 1, 16, 59, 59, 990000, tzinfo=PDT)
    assert signer.delivered_at == datetime(2024, 7, 2, 0, 5, 0, tzinfo=UTC)
    assert signer.status is RecipientStatus.DELIVERED
    assert n.sender == Sender(name="Ada Sender", email="ada.sender@example.org")


def test_times_carrying_their_own_offset_keep_it() -> None:
    n = parse_fixture("xml_offset_times.xml")
    assert n.generated_at == datetime(2012, 8, 14, 13, 5, 24, 329641, tzinfo=PDT)
    assert n.generated_at is not None
    assert n.generated_at.utcoffset() == timedelta(hours=-7)
    assert n.times.completed == datetime(2012, 8, 14, 20, 5, 16, 933000, tzinfo=UTC)
    assert n.times.created == datetime(2012, 8, 14, 13, 1, 55, 900000, tzinfo=PDT)
    (signer,) = n.recipients
    assert signer.signed_at == datetime(2012, 8, 14, 13, 5, 16, 900000, tzinfo=PDT)


def test_explicit_offsets_win_over_time_zone_offset() -> None:
    body = variant(
        "xml_offset_times.xml",
        "</EnvelopeStatus>",
        "</EnvelopeStatus><TimeZoneOffset>3</TimeZoneOffset>",
    )
    n = parse(body)
    assert n.times.created == datetime(2012, 8, 14, 13, 1, 55, 900000, tzinfo=PDT)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        ("5.5", timedelta(hours=5, minutes=30)),
        ("+5:30", timedelta(hours=5, minutes=30)),
        ("-07:00", timedelta(hours=-7)),
        ("0", timedelta(0)),
        (" -8 ", timedelta(hours=-8)),
        ("", timedelta(0)),
    ],
)
def test_time_zone_offset_forms(offset: str, expected: timedelta) -> None:
    body = variant("xml_timezone_offset.xml", "<TimeZoneOffset>-7</", f"<TimeZoneOffset>{offset}</")
    n = parse(body)
    assert n.times.sent is not None
    assert n.times.sent.utcoffset() == expected
    assert n.times.sent.replace(tzinfo=None) == datetime(2024, 7, 1, 17, 0, 0)


@pytest.mark.parametrize("offset", ["abc", "-7h", "24", "+5:75", "--7"])
def test_malformed_time_zone_offset_is_rejected(offset: str) -> None:
    body = variant("xml_timezone_offset.xml", "<TimeZoneOffset>-7</", f"<TimeZoneOffset>{offset}</")
    rejects(body, "XML: TimeZoneOffset")


def test_aggregate_message_keeps_every_recipient_transition() -> None:
    n = parse_fixture("xml_aggregate_signer1_completed_signer2_sent.xml")
    assert n.event == "envelope-sent"
    assert n.status is EnvelopeStatus.SENT
    first, second = n.recipients
    assert first.recipient_id == "0a1b2c3d-0001-4e5f-a6b7-c8d9e0f1a2b3"
    assert first.routing_order == 1
    assert first.status is RecipientStatus.COMPLETED
    assert first.signed_at == datetime(2024, 6, 12, 14, 3, 33, 700000, tzinfo=UTC)
    assert second.recipient_id == "0a1b2c3d-0002-4e5f-a6b7-c8d9e0f1a2b3"
    assert second.routing_order == 2
    assert second.status is RecipientStatus.SENT
    assert second.sent_at == datetime(2024, 6, 12, 14, 3, 34, 50000, tzinfo=UTC)
    assert second.signed_at is None
    assert second.name == "渡辺 健"


# --- tolerance ----------------------------------------------------------------------------

HAND_WRITTEN = b"""<DocuSignEnvelopeInformation>
  <EnvelopeStatus>
    <EnvelopeID>  hand-written-1  </EnvelopeID>
    <Status>completed</Status>
    <Subject />
    <VoidReason xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true">x</VoidReason>
  </EnvelopeStatus>
</DocuSignEnvelopeInformation>"""


def test_hand_written_body_without_namespace() -> None:
    n = parse(HAND_WRITTEN)
    assert n.envelope_id == "hand-written-1"
    assert n.status is EnvelopeStatus.COMPLETED
    assert n.subject is None
    assert n.void_reason is None  # xsi:nil wins over text
    assert n.recipients == ()
    assert n.sender is None
    assert n.generated_at is None


def test_unknown_status_is_kept_lower_cased() -> None:
    body = variant(
        "xml_voided.xml", "<Status>Voided</Status>", "<Status>AuthoritativeCopy</Status>"
    )
    n = parse(body)
    assert n.status is not None
    assert n.status.value == "authoritativecopy"
    assert n.event == "envelope-authoritativecopy"


@pytest.mark.parametrize(
    ("xml_type", "expected"),
    [
        ("Signer", "signer"),
        ("CarbonCopy", "carbon_copy"),
        ("CertifiedDelivery", "certified_delivery"),
        ("InPersonSigner", "in_person_signer"),
        ("Agent", "agent"),
        ("Editor", "editor"),
        ("Intermediary", "intermediary"),
        ("Witness", "witness"),
        ("Notary", "notary"),
        ("Seal", "seal"),
        ("carboncopy", "carbon_copy"),
        ("SigningHost", "signing_host"),
        ("", None),
    ],
)
def test_recipient_types_are_normalized(xml_type: str, expected: str | None) -> None:
    body = variant("xml_voided.xml", "<Type>InPersonSigner</Type>", f"<Type>{xml_type}</Type>")
    assert parse(body).recipients[0].recipient_type == expected


def test_foreign_namespace_envelope_id_is_ignored() -> None:
    body = variant(
        "xml_voided.xml",
        "<EnvelopeID>",
        '<x:EnvelopeID xmlns:x="urn:example:other">evil-id</x:EnvelopeID><EnvelopeID>',
    )
    assert parse(body).envelope_id == "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"


def test_only_a_foreign_namespace_envelope_id_means_it_is_missing() -> None:
    body = variant(
        "xml_voided.xml",
        "<EnvelopeID>5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b</EnvelopeID>",
        '<EnvelopeID xmlns="urn:example:other">5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b</EnvelopeID>',
    )
    rejects(body, "XML: EnvelopeStatus/EnvelopeID is missing")


def test_documents_without_bytes_or_with_bad_base64_fail_only_on_content() -> None:
    body = variant(
        "xml_completed_documents.xml",
        "<DocumentType>CONTENT</DocumentType>",
        "<DocumentType>CONTENT</DocumentType></DocumentPDF><DocumentPDF><Name>empty.pdf</Name>"
        "<PDFBytes /><DocumentID>2</DocumentID><DocumentType>CONTENT</DocumentType></DocumentPDF>"
        "<DocumentPDF><Name>bad.pdf</Name><PDFBytes>!!not-base64</PDFBytes>"
        "<DocumentID>3</DocumentID><DocumentType>CONTENT</DocumentType>",
    )
    documents = {d.document_id: d for d in parse(body).documents}
    assert not documents["2"].has_content
    with pytest.raises(ValueError, match="without its bytes"):
        documents["2"].content()
    assert documents["3"].encoded_size == len("!!not-base64")
    with pytest.raises(ValueError, match="not valid base64"):
        documents["3"].content()


# --- rejections ---------------------------------------------------------------------------


def test_duplicate_envelope_id_is_ambiguous() -> None:
    body = variant(
        "xml_voided.xml",
        "<Subject>",
        "<EnvelopeID>00000000-0000-0000-0000-000000000000</EnvelopeID><Subject>",
    )
    rejects(body, "EnvelopeStatus/EnvelopeID appears 2 times")


def test_duplicate_envelope_status_is_ambiguous() -> None:
    body = variant(
        "xml_voided.xml",
        "</DocuSignEnvelopeInformation>",
        "<EnvelopeStatus><EnvelopeID>other</EnvelopeID><Status>Sent</Status></EnvelopeStatus>"
        "</DocuSignEnvelopeInformation>",
    )
    rejects(body, "EnvelopeStatus appears 2 times")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<Envelope><EnvelopeStatus/></Envelope>", "root element must be"),
        (
            b'<DocuSignEnvelopeInformation xmlns="urn:other"><EnvelopeStatus>'
            b"<EnvelopeID>x</EnvelopeID><Status>Sent</Status></EnvelopeStatus>"
            b"</DocuSignEnvelopeInformation>",
            "root element must be",
        ),
        (b"<DocuSignEnvelopeInformation/>", "XML: EnvelopeStatus is missing"),
        (
            b"<DocuSignEnvelopeInformation><EnvelopeStatus><Status>Sent</Status>"
            b"</EnvelopeStatus></DocuSignEnvelopeInformation>",
            "XML: EnvelopeStatus/EnvelopeID is missing",
        ),
        (
            b"<DocuSignEnvelopeInformation><EnvelopeStatus><EnvelopeID>x</EnvelopeID>"
            b"</EnvelopeStatus></DocuSignEnvelopeInformation>",
            "XML: EnvelopeStatus/Status is missing",
        ),
        (
            b"<DocuSignEnvelopeInformation><EnvelopeStatus><EnvelopeID><b>x</b></EnvelopeID>"
            b"<Status>Sent</Status></EnvelopeStatus></DocuSignEnvelopeInformation>",
            "EnvelopeStatus/EnvelopeID must hold text",
        ),
        (
            b"<DocuSignEnvelopeInformation><EnvelopeStatus><EnvelopeID>x</EnvelopeID>"
            b"<Status>Sent!</Status></EnvelopeStatus></DocuSignEnvelopeInformation>",
            "EnvelopeStatus/Status is not a status name",
        ),
        (b"<DocuSignEnvelopeInformation><EnvelopeStatus>", "not well-formed"),
        (b"<a></b>", "not well-formed"),
    ],
)
def test_structural_errors(body: bytes, fragment: str) -> None:
    rejects(body, fragment)


def test_envelope_id_too_long_or_with_control_characters() -> None:
    long_id = "a" * 257
    body = variant("xml_voided.xml", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", long_id)
    rejects(body, "EnvelopeID is longer than 256")
    ok = variant("xml_voided.xml", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "a" * 256)
    assert parse(ok).envelope_id == "a" * 256
    control = variant("xml_voided.xml", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "ab&#x85;cd")
    rejects(control, "EnvelopeID contains control characters")


def test_missing_recipient_id_falls_back_to_a_stable_identity() -> None:
    body = variant(
        "xml_voided.xml", "<RecipientId>d4e5f6a7-0001-4b2c-9d3e-4f5a6b7c8d9e</RecipientId>", ""
    )
    first = parse(body).recipients[0]
    assert first.recipient_id_guid is None
    assert first.recipient_id == f"{first.recipient_type}:{first.routing_order}:{first.email}"


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("<RoutingOrder>1</", "<RoutingOrder>abc</", "RecipientStatus[1]/RoutingOrder"),
        ("<RoutingOrder>1</", "<RoutingOrder>-1</", "RecipientStatus[1]/RoutingOrder"),
        ("<Show>True</", "<Show>yes</", "CustomField[1]/Show must be true or false"),
        ("<Created>2024-03-05T09:13:41.07</", "<Created>05.03.2024</", "EnvelopeStatus/Created"),
        ("<Sent>2024-03-05T09:14:02.5</", "<Sent>2024-02-30T00:00:00</", "EnvelopeStatus/Sent"),
        ("<Type>Signer</", "<Type>Sign er!</", "RecipientStatus[1]/Type"),
        ("<Status>Created</", "<Status>Créé</", "RecipientStatus[2]/Status"),
    ],
)
def test_secondary_values_of_the_wrong_shape_are_left_empty_naming_the_field(
    old: str, new: str, fragment: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="connect_mw")
    reference = parse(fixture_bytes("xml_sent_pretty.xml"))
    n = parse(variant("xml_sent_pretty.xml", old, new))
    assert any(fragment in warning for warning in n.parse_warnings), n.parse_warnings
    assert (n.envelope_id, n.event, n.generated_at) == (
        reference.envelope_id,
        reference.event,
        reference.generated_at,
    )
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and fragment in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("</Email>\n    <Status>Sent</", "</Email>\n    <Status>Sent!</", "EnvelopeStatus/Status"),
        ("<TimeGenerated>", "<TimeGenerated>x", "EnvelopeStatus/TimeGenerated"),
    ],
)
def test_identity_values_of_the_wrong_shape_are_rejected(old: str, new: str, fragment: str) -> None:
    body = variant("xml_sent_pretty.xml", old, new)
    rejects(body, fragment)


def test_content_document_without_id_gets_its_position() -> None:
    body = variant("xml_completed_documents.xml", "<DocumentID>1</DocumentID>", "")
    assert parse(body).documents[0].document_id == "document-1"


def test_nul_character_reference_is_rejected() -> None:
    rejects(variant("xml_voided.xml", "Visitor NDA", "Visitor&#0;NDA"), "XML: not well-formed")


def test_document_type_declaration_is_rejected() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE DocuSignEnvelopeInformation>' + HAND_WRITTEN
    rejects(body, "DTD")


def test_billion_laughs_is_rejected() -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>'
        "<DocuSignEnvelopeInformation><EnvelopeStatus><EnvelopeID>&lol9;</EnvelopeID>"
        "<Status>Sent</Status></EnvelopeStatus></DocuSignEnvelopeInformation>"
    ).encode()
    rejects(body, "XML: document type declarations (DTDs) are not allowed")


def test_external_entity_is_rejected() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<DocuSignEnvelopeInformation><EnvelopeStatus><EnvelopeID>&xxe;</EnvelopeID>"
        b"<Status>Sent</Status></EnvelopeStatus></DocuSignEnvelopeInformation>"
    )
    rejects(body, "XML: document type declarations (DTDs) are not allowed")


def test_undeclared_entity_is_rejected() -> None:
    rejects(variant("xml_voided.xml", "Visitor NDA", "Visitor &nda;"), "XML: not well-formed")


def test_moderate_nesting_in_an_ignored_element_is_harmless() -> None:
    junk = "<Junk>" * 40 + "</Junk>" * 40
    n = parse(variant("xml_voided.xml", "<Subject>", f"{junk}<Subject>"))
    assert n.subject == "Visitor NDA"


def test_deep_nesting_anywhere_is_rejected_early() -> None:
    depth = 500_000
    junk = "<Junk>" * depth + "</Junk>" * depth
    rejects(variant("xml_voided.xml", "<Subject>", f"{junk}<Subject>"), "nested deeper than 64")


def test_elements_inside_a_secondary_scalar_leave_it_empty() -> None:
    body = variant("xml_voided.xml", "<Subject>Visitor NDA</", "<Subject><b>x</b></")
    n = parse(body)
    assert n.subject is None
    assert n.parse_warnings == ("XML: EnvelopeStatus/Subject must hold text, not elements",)


def test_elements_inside_an_identity_scalar_are_rejected() -> None:
    body = variant("xml_voided.xml", "<EnvelopeID>", "<EnvelopeID><b>x</b>")
    rejects(body, "EnvelopeStatus/EnvelopeID must hold text")


def test_latin1_declared_body() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><DocuSignEnvelopeInformation>'
        "<EnvelopeStatus><EnvelopeID>x</EnvelopeID><Status>Sent</Status>"
        "<Subject>Zoë</Subject></EnvelopeStatus></DocuSignEnvelopeInformation>"
    ).encode("latin-1")
    assert parse(body).subject == "Zoë"
