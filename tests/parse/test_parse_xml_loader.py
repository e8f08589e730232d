"""The expat loader (``parse.xml_load``): same trees as the defusedxml loader it replaced,
bulky text read straight from the body, and every DTD/entity/depth trick still refused."""

from __future__ import annotations

import base64
import importlib
import re
import tracemalloc
from pyexpat import ErrorString
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.etree.ElementTree import ParseError as ExpatParseError

import defusedxml.ElementTree as DefusedET
import pytest
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from hypothesis import given
from test_parse_properties import (
    PROPERTY_SETTINGS,
    mutated_fixture,
    xml_fixture_with_replaced_text,
)

from connect_mw.errors import ParseError
from connect_mw.parse import parse
from connect_mw.parse import xml_load as loader
from connect_mw.parse.xml_tree import DOCUSIGN_NAMESPACE, XmlElement
from support.payloads import fixture_bytes, fixture_names

XML_FIXTURES = fixture_names(".xml")
BULKY = frozenset({"PDFBytes"})
NS = DOCUSIGN_NAMESPACE
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
DOCUMENTS = fixture_bytes("xml_completed_documents.xml")


# --- the reference: the defusedxml loader this package used before ----------------------


class _DepthLimitedBuilder(TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self.depth += 1
        if self.depth > loader.MAX_DEPTH:
            raise ParseError(f"XML: nested deeper than {loader.MAX_DEPTH} elements")
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self.depth -= 1
        return super().end(tag)


def reference_element_tree(document: bytes | str) -> Element:
    """The previous ``xml_tree.load``: defusedxml's pure-Python parser, depth-limited."""
    parser = DefusedET.DefusedXMLParser(target=_DepthLimitedBuilder(), forbid_dtd=True)
    try:
        parser.feed(document)
        root: Element = parser.close()
        return root
    except DTDForbidden:
        raise ParseError("XML: document type declarations (DTDs) are not allowed") from None
    except EntitiesForbidden:
        raise ParseError("XML: entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise ParseError("XML: external references are not allowed") from None
    except ExpatParseError as exc:
        line, column = exc.position
        message = ErrorString(exc.code) or "syntax error"
        reason = f"XML: not well-formed: {message} at line {line}, column {column}"
        raise ParseError(reason) from None
    except (ValueError, LookupError, UnicodeError) as exc:
        raise ParseError(f"XML: cannot be read ({type(exc).__name__})") from None


def _visible_name(tag: str) -> str | None:
    if tag.startswith("{" + NS + "}"):
        return tag[len(NS) + 2 :]
    return None if tag.startswith("{") else tag


def as_xml_element(element: Element) -> XmlElement:
    """``element`` converted to what the new loader builds."""
    converted = XmlElement()
    converted.nil = element.get(XSI_NIL, "").strip().lower() in ("true", "1")
    converted.size = len(element)
    converted.text = element.text if not len(element) else None
    for item in element:
        name = _visible_name(item.tag)
        if name is not None:
            converted.children = converted.children or {}
            converted.children.setdefault(name, []).append(as_xml_element(item))
    return converted


def reference_load(document: bytes | str, bulky: Any = ()) -> XmlElement:
    """The reference loader's tree, as a document node like ``loader.load`` returns."""
    root = reference_element_tree(document)
    document_node = XmlElement()
    document_node.size = 1
    name = _visible_name(root.tag)
    if name is not None:
        document_node.children = {name: [as_xml_element(root)]}
    return document_node


def shape(element: XmlElement, bulky: bool = False) -> Any:
    """A comparable view of a tree; bulky text compared stripped (``text`` strips it)."""
    value = element.text
    if bulky and value is not None:
        value = value.strip() or None
    elif value == "":
        value = None
    children = {
        name: [shape(item, name in BULKY) for item in items]
        for name, items in (element.children or {}).items()
    }
    return (element.size, element.nil, value, children)


def outcome(load: Any, document: bytes | str) -> Any:
    try:
        return shape(load(document, BULKY))
    except ParseError as exc:
        return exc.reason


def assert_same_as_reference(document: bytes | str) -> None:
    assert outcome(loader.load, document) == outcome(reference_load, document)


def assert_same_notification(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """``parse`` gives the same Notification (or reason) with either loader."""

    def result() -> Any:
        try:
            notification = parse(body, "text/xml")
        except ParseError as exc:
            return exc.reason
        return notification, [document._encoded for document in notification.documents]

    ours = result()
    with monkeypatch.context() as patch:
        patch.setattr(importlib.import_module("connect_mw.parse.xml"), "load", reference_load)
        theirs = result()
    assert ours == theirs


def with_pdf(content: bytes, body: bytes = DOCUMENTS) -> bytes:
    """The documents fixture with every ``PDFBytes`` element's content replaced."""
    return re.sub(rb"<PDFBytes>[^<]*</PDFBytes>", b"<PDFBytes>" + content + b"</PDFBytes>", body)


# --- equivalence with the old loader ------------------------------------------------------


@pytest.mark.parametrize("name", XML_FIXTURES)
def test_fixtures_give_the_same_tree_and_notification(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_as_reference(fixture_bytes(name))
    assert_same_notification(fixture_bytes(name), monkeypatch)


@PROPERTY_SETTINGS
@given(body=mutated_fixture())
def test_mutated_fixtures_give_the_same_outcome(body: bytes) -> None:
    assert_same_as_reference(body)


@PROPERTY_SETTINGS
@given(body=xml_fixture_with_replaced_text())
def test_fixtures_with_replaced_text_give_the_same_outcome(body: bytes) -> None:
    assert_same_as_reference(body)


PDF_CONTENTS = {
    "plain": b"JVBERi0xLjQK",
    "wrapped": b"\nJVBERi0x\nLjQK\n",
    "spaces": b"  \t JVBERi0xLjQK \t\n ",
    "crlf": b"JVBE\r\nRi0xLjQK",
    "character reference": b"JVBE&#82;i0xLjQK",
    "entity": b"JVBE&amp;Ri0x",
    "cdata": b"JVBE<![CDATA[Ri0x]]>LjQK",
    "comment": b"JVBE<!-- x -->Ri0xLjQK",
    "processing instruction": b"JVBE<?pi x?>Ri0xLjQK",
    "non-ascii": "JVBEé".encode(),
    "child element": b"JVBE<b>x</b>Ri0x",
    "empty": b"",
    "whitespace only": b" \n ",
    "long trailing whitespace": b"JVBE" + b" " * 200,
}


@pytest.mark.parametrize("content", PDF_CONTENTS.values(), ids=PDF_CONTENTS.keys())
def test_pdf_bytes_read_from_the_body_or_collected_are_the_same(
    content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = with_pdf(content)
    assert_same_as_reference(body)
    assert_same_notification(body, monkeypatch)


BODY_VARIANTS = {
    "utf-8 bom": lambda body: b"\xef\xbb\xbf" + body,
    "latin-1 declared": lambda body: body.replace(b'encoding="utf-8"', b'encoding="ISO-8859-1"'),
    "ascii declared": lambda body: body.replace(b'encoding="utf-8"', b'encoding="US-ASCII"'),
    "utf-16": lambda body: body.decode().replace('"utf-8"', '"utf-16"').encode("utf-16"),
    "utf-16-be no bom": lambda body: (
        body.decode().replace('"utf-8"', '"utf-16"').encode("utf-16-be")
    ),
    "self-closing pdf": lambda body: with_pdf(b"", body).replace(
        b"<PDFBytes></PDFBytes>", b"<PDFBytes/>"
    ),
    "attribute holding >": lambda body: body.replace(
        b"<PDFBytes>", b"<PDFBytes note='a>b' other=\"c>'d\">"
    ),
    "nil pdf": lambda body: body.replace(b"<PDFBytes>", b'<PDFBytes xsi:nil="true">'),
    "namespaced pdf": lambda body: body.replace(
        b"<PDFBytes>", b'<x:PDFBytes xmlns:x="urn:x">'
    ).replace(b"</PDFBytes>", b"</x:PDFBytes>"),
    "prefixed docusign pdf": lambda body: body.replace(
        b"<PDFBytes>", f'<d:PDFBytes xmlns:d="{NS}">'.encode()
    ).replace(b"</PDFBytes>", b"</d:PDFBytes>"),
    "no declaration": lambda body: body[body.index(b"?>") + 2 :].lstrip(),
}


@pytest.mark.parametrize("variant", BODY_VARIANTS.values(), ids=BODY_VARIANTS.keys())
def test_encodings_and_tag_shapes_around_pdf_bytes(
    variant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = variant(DOCUMENTS)
    assert_same_as_reference(body)
    assert_same_notification(body, monkeypatch)


def test_utf32_text_documents_load_like_before() -> None:
    text = DOCUMENTS.decode().replace('"utf-8"', '"utf-32"')
    assert_same_as_reference(text)


# --- memory -------------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [False, True], ids=["one-line", "wrapped"])
def test_pdf_bytes_are_copied_once(wrap: bool) -> None:
    raw = bytes(range(256)) * 18_000  # 4.6 MB, 6.1 MB of base64 per document
    encoded = base64.encodebytes(raw) if wrap else base64.b64encode(raw)
    body = with_pdf(encoded)
    tracemalloc.start()
    try:
        notification = parse(body, "text/xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kept = sum(document.encoded_size for document in notification.documents)
    assert notification.documents[0].content() == raw
    # expat adds about 2 MB whatever the size; the old loader peaked at 1.5x and 2x (wrapped)
    assert peak < 1.25 * kept


# --- hostile bodies -----------------------------------------------------------------------


def envelope(inner: str = "", prolog: str = "") -> str:
    return (
        f'{prolog}<DocuSignEnvelopeInformation xmlns="{NS}"><EnvelopeStatus>{inner}'
        "<EnvelopeID>e</EnvelopeID><Status>Sent</Status></EnvelopeStatus>"
        "</DocuSignEnvelopeInformation>"
    )


DTD = "XML: document type declarations (DTDs) are not allowed"
LAUGHS = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
HOSTILE = {
    "doctype": envelope(prolog="<!DOCTYPE DocuSignEnvelopeInformation>"),
    "billion laughs": envelope(
        "<Subject>&e9;</Subject>", f'<!DOCTYPE d [<!ENTITY e0 "lol">{LAUGHS}]>'
    ),
    "quadratic blowup": envelope(
        "<Subject>" + "&e;" * 5_000 + "</Subject>",
        f'<!DOCTYPE d [<!ENTITY e "{"x" * 50_000}">]>',
    ),
    "external entity": envelope(
        "<Subject>&e;</Subject>", '<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    ),
    "external dtd": envelope(prolog='<!DOCTYPE d SYSTEM "http://127.0.0.1:9/dtd">'),
    "parameter entity": envelope(
        prolog='<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>'
    ),
    "unparsed entity": envelope(
        prolog='<!DOCTYPE d [<!NOTATION n SYSTEM "n"><!ENTITY u SYSTEM "u" NDATA n>]>'
    ),
    "entity in attribute": envelope(
        '<Subject a="&e;">x</Subject>', '<!DOCTYPE d [<!ENTITY e "x">]>'
    ),
    "doctype after declaration": envelope(prolog='<?xml version="1.0"?><!DOCTYPE d>'),
    "doctype after a long comment": envelope(prolog="<!--" + "x" * 200_000 + "--><!DOCTYPE d>"),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "latin-1"])
def test_dtds_are_refused_in_every_encoding(text: str, encoding: str) -> None:
    declaration = f'<?xml version="1.0" encoding="{encoding.replace("-le", "")}"?>'
    body = text.replace('<?xml version="1.0"?>', "")
    if encoding == "utf-16-le":
        payload = b"\xff\xfe" + (declaration + body).encode(encoding)
    else:
        payload = (declaration + body).encode(encoding)
    with pytest.raises(ParseError) as caught:
        parse(payload, "text/xml")
    assert caught.value.reason == DTD


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_dtds_are_refused_in_utf32_text(text: str) -> None:
    with pytest.raises(ParseError, match="DTD"):
        parse(text.encode("utf-32"), "text/xml")


@pytest.mark.parametrize(
    ("handler", "arguments", "refusal"),
    [
        ("EntityDeclHandler", ("e", 0, "x", None, None, None, None), "entity declarations"),
        ("UnparsedEntityDeclHandler", ("e", None, "x", None, "n"), "entity declarations"),
        ("ExternalEntityRefHandler", ("e", None, "file:///x", None), "external references"),
    ],
)
def test_the_dtd_handlers_refuse_on_their_own(
    handler: str, arguments: tuple[Any, ...], refusal: str
) -> None:
    with pytest.raises(ParseError, match=f"{refusal} are not allowed"):
        getattr(loader._parser(), handler)(*arguments)


def test_deep_nesting_is_refused_before_the_tree_grows() -> None:
    depth = 300_000
    body = envelope("<a>" * depth + "</a>" * depth).encode()
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match=f"nested deeper than {loader.MAX_DEPTH}"):
            parse(body, "text/xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


@pytest.mark.parametrize(("depth", "accepted"), [(loader.MAX_DEPTH, True), (65, False)])
def test_depth_limit_is_exact(depth: int, accepted: bool) -> None:
    inner = depth - 2  # the root and EnvelopeStatus are the first two levels
    body = envelope("<a>" * inner + "</a>" * inner).encode()
    if accepted:
        assert parse(body, "text/xml").envelope_id == "e"
    else:
        with pytest.raises(ParseError, match="nested deeper than 64"):
            parse(body, "text/xml")
    assert_same_as_reference(body)


def test_undeclared_entities_are_not_well_formed() -> None:
    body = envelope("<Subject>&nope;</Subject>").encode()
    with pytest.raises(ParseError, match="XML: not well-formed: undefined entity"):
        parse(body, "text/xml")
