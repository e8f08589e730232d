"""Large JSON bodies: long ``PDFBytes`` values cut out before the load give the same object.

``load_sliced`` either returns exactly what the whole-body load returns or ``None`` (the
caller then loads the whole body). The tests cut with a low threshold so small bodies
exercise it; one test runs a real body over the size at which ``load_object`` cuts.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mw.errors import ParseError
from connect_mw.parse import json_bulk, json_load, parse
from connect_mw.parse.json_load import load_object
from connect_mw.testing.simulator import Simulator
from support.payloads import fixture_bytes, fixture_names

LOW = 4  # cut any value of four base64 characters or more


def sliced(body: bytes) -> dict[str, object] | None:
    """``load_sliced`` with the low threshold and the whole-body strict load."""
    return json_bulk.load_sliced(body, load_object, LOW)


def whole(body: bytes) -> dict[str, object] | ParseError:
    """The whole-body load's object, or its refusal."""
    try:
        return load_object(body)
    except ParseError as exc:
        return exc


def test_a_body_with_long_values_is_cut_and_gives_the_whole_loads_object() -> None:
    body = b'{"a": [{"PDFBytes": "QUJD"}, {"PDFBytes" :\n "REVGRw=="}], "PDFBytes": "SktM"}'
    assert sliced(body) == whole(body)
    assert sliced(body) is not None


BASE64 = st.binary(min_size=3, max_size=40).map(lambda raw: base64.b64encode(raw).decode())
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)


def with_documents(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists and objects, some objects holding a ``PDFBytes`` member of any kind of value."""
    members = st.dictionaries(st.sampled_from(["a", "b", "PDFBytes", 'x"PDFBytes']), children)
    documents = st.fixed_dictionaries({"PDFBytes": BASE64 | children}, optional={"n": SCALARS})
    return st.lists(children, max_size=3) | members | documents


JSON_VALUES = st.recursive(SCALARS | BASE64, with_documents, max_leaves=12)
LAYOUTS = st.sampled_from([{}, {"indent": 1}, {"separators": (",", ":")}, {"indent": "\t"}])


@settings(max_examples=300, deadline=None)
@given(top=st.dictionaries(st.text(max_size=4) | st.just("PDFBytes"), JSON_VALUES), layout=LAYOUTS)
def test_cutting_gives_the_whole_loads_object_or_nothing(
    top: dict[str, Any], layout: dict[str, Any]
) -> None:
    body = json.dumps(top, **layout).encode()
    result = sliced(body)
    assert result is None or result == whole(body)


@pytest.mark.parametrize(
    "body",
    [
        # a key that only ends in "PDFBytes": the cut value is never put back
        b'{"x\\"PDFBytes": "QUJD"}',
        # a real value that looks like a placeholder: the count comes out wrong
        b'{"PDFBytes": "QUJD", "d": {"PDFBytes": "\\u00000"}}',
        b'{"PDFBytes": "QUJD", "d": {"PDFBytes": "\\u00009"}}',
        b'{"d": {"PDFBytes": "\\u00000"}, "PDFBytes": "QUJD"}',  # met before the real one
        # the same key twice: the rest's load refuses, the whole load gives the message
        b'{"PDFBytes": "QUJD", "PDFBytes": "REVG"}',
        # not UTF-8 without a BOM: nothing is cut
        '{"PDFBytes": "QUJD"}'.encode("utf-16-le"),
        b'\xef\xbb\xbf{"PDFBytes": "QUJD"}',
        # nothing to cut: an escaped value, a value in a list, a member inside a string
        b'{"PDFBytes": "QU\\/D"}',
        b'{"PDFBytes": ["QUJDREVG"]}',
        b'{"note": "\\"PDFBytes\\": \\"QUJD\\""}',
        # malformed around a cut: the whole load decides
        b'{"PDFBytes": "QUJD" "x": 1}',
        b'["PDFBytes", "QUJD"]',
    ],
)
def test_bodies_the_cut_cannot_be_shown_right_for_are_loaded_whole(body: bytes) -> None:
    assert sliced(body) is None


def test_every_chunk_of_a_long_value_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_bulk, "_CHUNK", 4)
    assert sliced(b'{"PDFBytes": "QUJDQUJDQU\\/D"}') is None
    assert sliced(b'{"PDFBytes": "QUJDQUJDQUJD"}') == {"PDFBytes": "QUJDQUJDQUJD"}


def test_a_refused_body_keeps_the_whole_loads_message() -> None:
    value = b"QUJD" * (json_bulk.MIN_VALUE // 4)  # long enough to be cut
    body = b'{"PDFBytes": "%s", "PDFBytes": "%s"}' % (value, value)
    body += b" " * json_bulk.MIN_BODY
    with pytest.raises(ParseError, match="the same key twice"):
        load_object(body)


def test_held_in_json_samples_load_the_same_cut() -> None:
    names = [name for name in fixture_names() if name.endswith(".json")]
    assert names
    for name in names:
        body = fixture_bytes(name)
        assert sliced(body) in (None, whole(body)), name


def test_a_large_notification_is_cut_and_parses_as_the_whole_body_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    simulator = Simulator("bulk-key", seed=3)
    (message, *_) = simulator.messages(
        simulator.lifecycle("completed"), payload_format="json", document_size=1_200_000
    )
    body = message.body()
    assert len(body) > json_bulk.MIN_BODY
    assert json_bulk.load_sliced(body, load_object) is not None
    cut = parse(body, "application/json")
    monkeypatch.setattr(json_load, "MIN_BODY", len(body) + 1)
    assert parse(body, "application/json") == cut
    assert [document.encoded_size for document in cut.documents] == [
        len(document["PDFBytes"])
        for document in json.loads(body)["data"]["envelopeSummary"]["envelopeDocuments"]
    ]
