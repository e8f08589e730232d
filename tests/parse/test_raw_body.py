"""``Delivery.body``: the raw message decoded with the parser's own safe loaders."""

from __future__ import annotations

import pytest

from connect_mw import Delivery
from connect_mw.errors import ParseError
from connect_mw.model import EnvelopeState
from connect_mw.parse import parse
from connect_mw.parse.raw_body import LazyBody, XmlView, decode_body
from support.deliveries import sim_body

XML = b"""<?xml version="1.0"?>
<DocuSignEnvelopeInformation xmlns="http://www.docusign.net/API/3.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:o="urn:other">
  <EnvelopeStatus>
    <DocumentStatuses>
      <DocumentStatus><ID>1</ID><Name>a.pdf</Name></DocumentStatus>
      <DocumentStatus><ID>2</ID><Name>b.pdf</Name></DocumentStatus>
    </DocumentStatuses>
    <VoidReason xsi:nil="true"/>
    <Subject>  Hello  </Subject>
    <o:Secret>hidden</o:Secret>
    <Empty></Empty>
  </EnvelopeStatus>
</DocuSignEnvelopeInformation>"""


def test_xml_is_a_read_only_view_of_elements() -> None:
    view = decode_body(XML)
    assert isinstance(view, XmlView)
    status = view["DocuSignEnvelopeInformation"]["EnvelopeStatus"]
    documents = status["DocumentStatuses"]["DocumentStatus"]
    assert [d["Name"] for d in documents] == ["a.pdf", "b.pdf"]
    assert status["VoidReason"] is None and status["Empty"] is None
    assert status["Subject"] == "Hello"
    assert "Secret" not in status  # another namespace: invisible, as to the parser
    assert sorted(status) == ["DocumentStatuses", "Empty", "Subject", "VoidReason"]
    with pytest.raises(KeyError):
        status["Missing"]


def test_json_is_the_loaded_object_read_only() -> None:
    body = decode_body(sim_body())
    assert body["data"]["userId"] == "u-1"
    with pytest.raises(TypeError):
        body["event"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b'{"a": 1, "a": 2}',
        b"neither",
        b"<a>" * 100 + b"</a>" * 100,
    ],
)
def test_what_the_parser_refuses_the_view_refuses(body: bytes) -> None:
    with pytest.raises(ParseError):
        decode_body(body)


def test_a_lazy_body_decodes_on_first_read_only() -> None:
    raw = sim_body()
    lazy = LazyBody(raw)
    assert "not decoded" in repr(lazy)
    assert lazy["event"] == "envelope-completed"
    assert "decoded" in repr(lazy) and "not" not in repr(lazy)
    assert dict(LazyBody(b"")) == {}
    broken = LazyBody(b"<x>")  # read lazily: the failure shows when someone reads it
    with pytest.raises(ParseError):
        len(broken)


def test_a_delivery_built_without_its_body_has_empty_ones() -> None:
    n = parse(sim_body())
    delivery = Delivery(n, "k", EnvelopeState(envelope_id=n.envelope_id))
    assert delivery.raw == b"" and dict(delivery.body) == {}
