"""Secondary fields of any shape never fail a message; identity fields stay strict."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connect_mw.errors import ParseError
from connect_mw.parse import parse
from connect_mw.parse.raw_body import decode_body
from support.payloads import fixture_bytes

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL = json.loads(fixture_bytes("sim_envelope_completed_full.json"))
REFERENCE = parse(fixture_bytes("sim_envelope_completed_full.json"))
#: Paths whose value identifies the message (or holds what does): never replaced here.
IDENTITY = {("event",), ("generatedDateTime",), ("data",), ("data", "envelopeId")}
IDENTITY_IN_SUMMARY = {("data", "envelopeSummary", "envelopeId")}


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


SECONDARY = [
    p
    for p in _paths(FULL)
    if p not in IDENTITY and p not in IDENTITY_IN_SUMMARY and p[:1] != ("uri",)
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def _replaced(path: tuple[Any, ...], value: Any) -> bytes:
    message = copy.deepcopy(FULL)
    target = message
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(message).encode()


@SETTINGS
@given(path=st.sampled_from(SECONDARY), value=JSON_VALUES)
def test_any_secondary_json_value_keeps_the_message(path: tuple[Any, ...], value: Any) -> None:
    notification = parse(_replaced(path, value), warn=False)
    assert notification.envelope_id == REFERENCE.envelope_id
    assert notification.event == REFERENCE.event
    assert notification.generated_at == REFERENCE.generated_at


XML = fixture_bytes("xml_sent_pretty.xml").decode()
XML_REFERENCE = parse(XML.encode())
_TEXT = re.compile(r"<(?P<name>[A-Za-z]+)>(?P<text>[^<]*)</(?P=name)>")
XML_IDENTITY = {"EnvelopeID", "TimeGenerated", "TimeZoneOffset"}
_RECIPIENTS = range(XML.find("<RecipientStatuses>"), XML.find("</RecipientStatuses>"))
XML_SECONDARY = [  # every text element but the identity ones and the envelope's Status
    m.span("text")
    for m in _TEXT.finditer(XML)
    if m["name"] not in XML_IDENTITY and (m["name"] != "Status" or m.start() in _RECIPIENTS)
]
XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<&\ufffe\uffff"),
    max_size=20,
) | st.sampled_from(["<b>x</b>", "<i/>", "&#x85;"])


@SETTINGS
@given(span=st.sampled_from(XML_SECONDARY), text=XML_TEXT)
def test_any_secondary_xml_text_keeps_the_message(span: tuple[int, int], text: str) -> None:
    start, end = span
    body = (XML[:start] + text + XML[end:]).encode()
    notification = parse(body, warn=False)
    assert notification.envelope_id == XML_REFERENCE.envelope_id
    assert notification.event == XML_REFERENCE.event
    assert notification.generated_at == XML_REFERENCE.generated_at


def _with_literal(path: tuple[Any, ...], literal: str) -> bytes:
    """The full fixture with the value at ``path`` written as the raw JSON text ``literal``."""
    return _replaced(path, "@literal@").replace(b'"@literal@"', literal.encode())


HUGE_NUMBERS = ["9" * 31, "-" + "9" * 400, "1" * 100_000, "1e400", "-1e999", "0." + "1" * 200]
NUMBER_PATHS = [
    ("retryCount",),
    ("configurationId",),
    ("data", "envelopeSummary", "recipients", "signers", 0, "routingOrder"),
    ("data", "envelopeSummary", "emailSubject"),
    ("data", "somethingNew"),
]


@pytest.mark.parametrize("literal", HUGE_NUMBERS, ids=lambda s: f"{s[:8]}…{len(s)}")
@pytest.mark.parametrize("path", NUMBER_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_a_number_too_large_to_read_in_a_secondary_field_keeps_the_message(
    path: tuple[Any, ...], literal: str
) -> None:
    """Valid JSON, but not converted (CPU cost, overflow): that field alone is left empty."""
    notification = parse(_with_literal(path, literal), warn=False)
    assert notification.envelope_id == REFERENCE.envelope_id
    assert notification.event == REFERENCE.event
    assert notification.generated_at == REFERENCE.generated_at
    if path[-1] != "somethingNew":  # a field the parser reads is noted as left empty
        assert any("a number too large to read" in w for w in notification.parse_warnings), (
            notification.parse_warnings
        )


@pytest.mark.parametrize("literal", ["9" * 31, "1e400"])
def test_a_number_too_large_to_read_as_an_identity_field_is_a_parse_error(literal: str) -> None:
    with pytest.raises(ParseError):
        parse(_with_literal(("data", "envelopeId"), literal))


def test_the_raw_body_mapping_stays_strict_about_huge_numbers() -> None:
    """``Delivery.body`` never hands a callback a number it could not convert."""
    with pytest.raises(ParseError, match="30 digits"):
        decode_body(_with_literal(("retryCount",), "9" * 31))


@SETTINGS
@given(path=st.sampled_from(SECONDARY), literal=st.sampled_from(HUGE_NUMBERS))
def test_a_number_too_large_to_read_anywhere_secondary_keeps_the_message(
    path: tuple[Any, ...], literal: str
) -> None:
    notification = parse(_with_literal(path, literal), warn=False)
    assert notification.envelope_id == REFERENCE.envelope_id
    assert notification.event == REFERENCE.event
    assert "UnreadableNumber" not in repr(dict(notification.extras))  # sections stay JSON


def test_the_warning_line_shows_a_key_from_the_body_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a tab list's key is any text the body holds; printed raw, a line feed forges a log line
    body = copy.deepcopy(FULL)
    signer = body["data"]["envelopeSummary"]["recipients"]["signers"][0]
    signer["tabs"] = {"x\nWARNING connect_mw: forged\u202eTabs": [{"pageNumber": "abc"}]}
    with caplog.at_level("WARNING", logger="connect_mw"):
        notification = parse(json.dumps(body).encode())
    (record,) = [r for r in caplog.records if r.getMessage().startswith("parsed ")]
    line = record.getMessage()
    assert "\n" not in line and "\u202e" not in line
    assert "x\\x0aWARNING connect_mw: forged\\u202eTabs" in line
    assert "\n" in notification.parse_warnings[0]  # the model keeps the text as it came


@pytest.mark.parametrize(
    "signers",
    ["oops", [7, {"recipientId": "2", "status": "sent"}], [{"recipientId": {"id": "1"}}]],
    ids=["list-not-an-array", "item-not-an-object", "id-unreadable"],
)
def test_a_recipient_list_read_in_part_removes_no_one(signers: Any) -> None:
    # Only a list read whole says who is gone: one read in part would "remove" recipients
    # the parser merely could not read, and fire recipient-removed for them.
    from connect_mw import MemoryStore, Receiver
    from support.deliveries import KEY, signed_request, sim_body

    envelope = FULL["data"]["envelopeId"]
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    removed: list[str] = []
    receiver.on_transition("recipient", "removed")(lambda d: removed.append(d.recipient_id))
    first = {
        "envelopeId": envelope,
        "status": "sent",
        "recipients": {
            "signers": [
                {"recipientId": "1", "status": "sent", "routingOrder": "1"},
                {"recipientId": "2", "status": "sent", "routingOrder": "1"},
            ]
        },
    }
    later = {**first, "recipients": {"signers": signers}}
    for minute, summary in [(1, first), (2, later)]:
        body = sim_body(
            "envelope-sent", envelope, generated=f"2026-01-05T09:0{minute}:00Z", summary=summary
        )
        assert receiver.handle(signed_request(body)).status == 200
    receiver.worker(concurrency=1).run_once()
    state = receiver.store.get_envelope(envelope)
    assert state is not None
    assert [r.removed_at for r in state.recipients if r.recipient_id in {"1", "2"}] == [None] * 2
    assert removed == []


def test_an_xml_recipient_list_with_an_unreadable_id_is_not_whole() -> None:
    body = fixture_bytes("xml_aggregate_signer1_completed_signer2_sent.xml")
    assert parse(body).full_recipient_list
    unreadable = re.sub(
        rb"<RecipientId>[^<]*</RecipientId>", b"<RecipientId><X/></RecipientId>", body, count=1
    )
    notification = parse(unreadable)
    assert notification.parse_warnings and not notification.full_recipient_list
