"""Format sniffing: first byte versus content type, BOMs and UTF-16/32 bodies."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from connect_mw.errors import ParseError
from connect_mw.model import Notification, PayloadFormat
from connect_mw.parse import parse
from support.payloads import fixture_bytes

XML_FIXTURE = "xml_sent_pretty.xml"
JSON_FIXTURE = "sim_envelope_completed_full.json"
XML_FORMATS = {PayloadFormat.XML_LEGACY}
JSON_FORMATS = {PayloadFormat.JSON_SIM, PayloadFormat.JSON_AGGREGATE}


def same(a: Notification, b: Notification) -> bool:
    return replace(a, raw_size=0) == replace(b, raw_size=0)


def rejects(body: bytes, content_type: str | None, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body, content_type)
    assert fragment in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("content_type", [None, "application/json", "text/xml", "text/plain"])
def test_first_byte_decides_over_the_content_type(content_type: str | None) -> None:
    assert parse(fixture_bytes(XML_FIXTURE), content_type).format in XML_FORMATS
    assert parse(fixture_bytes(JSON_FIXTURE), content_type).format in JSON_FORMATS


def test_leading_whitespace_is_skipped_for_both_formats() -> None:
    xml = parse(b" \r\n\t " + fixture_bytes(XML_FIXTURE))
    assert same(xml, parse(fixture_bytes(XML_FIXTURE)))
    json_ = parse(b"\n\n  " + fixture_bytes(JSON_FIXTURE))
    assert same(json_, parse(fixture_bytes(JSON_FIXTURE)))
    with_bom = parse(b"\xef\xbb\xbf \n" + fixture_bytes(XML_FIXTURE))
    assert same(with_bom, xml)


@pytest.mark.parametrize("name", [XML_FIXTURE, JSON_FIXTURE, "aggregate_envelope.json"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_unicode_encodings_with_bom(name: str, encoding: str) -> None:
    original = fixture_bytes(name)
    text = original.decode("utf-8")
    if name.endswith(".xml"):
        text = text.split("?>", 1)[1].lstrip()  # no declaration: the BOM names the encoding
    body = ("\ufeff" + text).encode(encoding)
    n = parse(body)
    assert same(n, parse(original))
    assert n.raw_size == len(body)


def test_utf16_bom_followed_by_long_whitespace() -> None:
    text = "\ufeff" + " " * 10_000 + fixture_bytes(JSON_FIXTURE).decode("utf-8")
    assert same(parse(text.encode("utf-16-le")), parse(fixture_bytes(JSON_FIXTURE)))
    rejects(("\ufeff" + " " * 10_000).encode("utf-16-be"), None, "empty body")


def test_utf16_xml_with_matching_declaration() -> None:
    text = (
        fixture_bytes(XML_FIXTURE).decode("utf-8").replace('encoding="utf-8"', 'encoding="UTF-16"')
    )
    assert same(parse(text.encode("utf-16")), parse(fixture_bytes(XML_FIXTURE)))


def test_utf32_xml_with_declaration_is_decoded_before_expat() -> None:
    text = (
        fixture_bytes(XML_FIXTURE).decode("utf-8").replace('encoding="utf-8"', 'encoding="UTF-32"')
    )
    assert same(parse(text.encode("utf-32")), parse(fixture_bytes(XML_FIXTURE)))


def test_utf16_json_without_bom_needs_the_content_type_when_big_endian() -> None:
    body = fixture_bytes(JSON_FIXTURE).decode("utf-8").encode("utf-16-be")
    assert body[:2] == b"\x00{"
    assert same(parse(body, "application/json"), parse(fixture_bytes(JSON_FIXTURE)))
    rejects(body, None, "neither XML nor JSON")


def test_utf16_json_without_bom_little_endian_sniffs_as_json() -> None:
    body = fixture_bytes(JSON_FIXTURE).decode("utf-8").encode("utf-16-le")
    assert same(parse(body), parse(fixture_bytes(JSON_FIXTURE)))


def test_broken_utf16_after_bom_is_rejected() -> None:
    body = "\ufeff{".encode("utf-16-le") + b"\x00\xd8" + '"a": 1}'.encode("utf-16-le")
    rejects(body, None, "not valid UTF-16")


def test_broken_utf32_xml_is_rejected() -> None:
    body = b"\xff\xfe\x00\x00" + "<a>".encode("utf-32-le") + b"\x00\x00\x11\x00"
    rejects(body, None, "not valid UTF-32")


@pytest.mark.parametrize(
    ("content_type", "fragment"),
    [
        (None, "neither XML nor JSON"),
        ("text/plain", "neither XML nor JSON"),
        ("application/octet-stream", "neither XML nor JSON"),
        ("application/json", "JSON: malformed"),
        ("application/vnd.docusign+json", "JSON: malformed"),
        ("text/xml", "XML: not well-formed"),
        ("application/xml", "XML: not well-formed"),
        ("application/atom+xml", "XML: not well-formed"),
        ("Application/JSON; charset=utf-8", "JSON: malformed"),
    ],
)
def test_ambiguous_first_byte_falls_back_to_the_content_type(
    content_type: str | None, fragment: str
) -> None:
    rejects(b"envelope-completed", content_type, fragment)


@pytest.mark.parametrize("body", [b"", b"   \r\n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_body(body: bytes) -> None:
    rejects(body, None, "empty body")


def test_empty_body_with_a_content_type_goes_to_that_parser() -> None:
    rejects(b"", "application/json", "JSON: malformed")
    rejects(b"", "text/xml", "XML: not well-formed")


def test_array_first_byte_is_json() -> None:
    rejects(b"[{}]", None, "JSON: top level must be an object, not an array")


def test_json_scalar_without_content_type_is_neither() -> None:
    rejects(b'"envelope"', None, "neither XML nor JSON")


def test_xml_body_declared_as_json_is_parsed_as_xml_and_can_fail_as_xml() -> None:
    rejects(b"<not-closed", "application/json", "XML: not well-formed")


def test_json_body_declared_as_xml_is_parsed_as_json_and_can_fail_as_json() -> None:
    rejects(b"{nope}", "text/xml", "JSON: malformed")


def test_bytes_like_bodies_are_accepted() -> None:
    body = fixture_bytes(JSON_FIXTURE)
    expected = parse(body)
    assert parse(bytearray(body)) == expected  # type: ignore[arg-type]
    assert parse(memoryview(body)) == expected  # type: ignore[arg-type]


def test_text_body_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse(fixture_bytes(JSON_FIXTURE).decode())  # type: ignore[arg-type]
