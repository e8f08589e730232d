"""Property tests: whatever the body, ``parse`` returns a Notification or raises ParseError."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from connect_mw.errors import ParseError
from connect_mw.model import Notification, PayloadFormat
from connect_mw.parse import UNEXPECTED_FAILURE, parse
from support.payloads import fixture_bytes, fixture_names

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "text/xml", "application/xml", "text/plain"]
)
FIXTURES = fixture_names()


def outcome(body: bytes, content_type: str | None = None) -> Notification | ParseError:
    """Parse, allowing only a Notification or an anticipated ParseError."""
    try:
        notification = parse(body, content_type)
    except ParseError as exc:
        assert exc.reason, "a ParseError must say why"
        assert not exc.reason.startswith(UNEXPECTED_FAILURE), exc.reason
        assert exc.status == 400
        return exc
    assert isinstance(notification, Notification)
    assert notification.envelope_id or (
        notification.format is PayloadFormat.JSON_SIM and not notification.about_envelope
    )
    if not notification.about_envelope:  # template, click, unknown: no envelope fields
        assert notification.status is None and notification.recipients == ()
        assert not notification.event.startswith(("envelope-", "recipient-"))
    assert notification.event
    assert notification.raw_size == len(body)
    for stamp in (notification.generated_at, notification.occurred_at):
        assert stamp is None or stamp.tzinfo is not None
    return notification


def test_every_fixture_parses() -> None:
    assert len(FIXTURES) >= 15
    for name in FIXTURES:
        assert isinstance(outcome(fixture_bytes(name)), Notification), name


@PROPERTY_SETTINGS
@given(body=st.binary(max_size=2048), content_type=CONTENT_TYPES)
def test_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    outcome(body, content_type)


@PROPERTY_SETTINGS
@given(
    prefix=st.sampled_from([b"<", b"{", b"[", b"\xef\xbb\xbf<", b"\xff\xfe", b"<?xml"]),
    rest=st.binary(max_size=1024),
    content_type=CONTENT_TYPES,
)
def test_arbitrary_bytes_reaching_each_parser(
    prefix: bytes, rest: bytes, content_type: str | None
) -> None:
    outcome(prefix + rest, content_type)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    """A fixture body with a few random byte flips, insertions, deletions or a truncation."""
    body = bytearray(fixture_bytes(draw(st.sampled_from(FIXTURES))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not body:
            break
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "replace"]))
        at = draw(st.integers(min_value=0, max_value=len(body) - 1))
        if kind == "flip":
            body[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del body[at : at + draw(st.integers(min_value=1, max_value=16))]
        elif kind == "truncate":
            del body[at:]
        else:
            token = draw(st.sampled_from([b"<", b">", b'"', b"{", b"}", b"&", b"\x00", b"\\u"]))
            body[at : at + 1] = token
    return bytes(body)


@PROPERTY_SETTINGS
@given(body=mutated_fixture(), content_type=CONTENT_TYPES)
def test_mutated_fixtures(body: bytes, content_type: str | None) -> None:
    outcome(body, content_type)


SIM_KEYS = [
    "event", "apiVersion", "uri", "retryCount", "configurationId", "generatedDateTime", "data",
    "accountId", "userId", "envelopeId", "recipientId", "envelopeSummary", "status",
    "emailSubject", "sender", "userName", "email", "ipAddress", "recipients", "signers",
    "carbonCopies", "inPersonSigners", "notaries", "routingOrder", "recipientIdGuid", "name",
    "sentDateTime", "signedDateTime", "statusChangedDateTime", "declinedReason",
    "customFields", "textCustomFields", "listCustomFields", "value", "show", "required",
    "envelopeDocuments", "documentId", "type", "PDFBytes", "clientUserId", "voidedReason",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "envelope-completed", "recipient-sent", "click-agreed", "completed", "Sent", "1",
            "true", "2024-02-14T05:03:08.6759159Z", "2024-02-30T00:00:00", "\ud800", "a\x00b",
            "/restapi/v2.1/accounts/a/envelopes/e-1", "e-1", "", " ", "JVBERi0=", "x" * 300,
        ]
    ),
)  # fmt: skip
KEYS = st.one_of(st.sampled_from(SIM_KEYS), st.text(max_size=8))


def json_values(max_leaves: int = 40) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=6)
        ),
        max_leaves=max_leaves,
    )


@st.composite
def sim_like_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A top-level object shaped like a SIM message or an envelope, with random contents."""
    fields = st.dictionaries(st.sampled_from(SIM_KEYS), json_values(max_leaves=12), max_size=6)
    message: dict[str, Any] = draw(fields)
    if draw(st.booleans()):
        message["event"] = draw(st.sampled_from(["envelope-sent", "recipient-completed", "x"]))
    if draw(st.booleans()):
        data: dict[str, Any] = draw(fields)
        if draw(st.booleans()):
            data["envelopeId"] = draw(st.sampled_from(["e-1", "E-1", "", 5, None]))
        if draw(st.booleans()):
            data["envelopeSummary"] = draw(fields)
        message["data"] = data
    return message


@PROPERTY_SETTINGS
@given(message=sim_like_messages(), ascii_only=st.booleans())
def test_sim_like_json(message: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps(message, ensure_ascii=ascii_only)
    body = text.encode("utf-8", errors="surrogatepass")
    result = outcome(body, "application/json")
    event(type(result).__name__)


@PROPERTY_SETTINGS
@given(value=json_values(max_leaves=30))
def test_any_json_value(value: Any) -> None:
    outcome(json.dumps(value).encode(), None)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a member of a decoded JSON document (keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, member in items:
        found.append((*prefix, key))
        found.extend(_paths(member, (*prefix, key)))
    return found


JSON_FIXTURES = [name for name in FIXTURES if name.endswith(".json")]


@st.composite
def fixture_with_replaced_member(draw: st.DrawFn) -> tuple[bytes, Any]:
    """A JSON fixture with one member, anywhere, replaced by a random JSON value."""
    document = json.loads(fixture_bytes(draw(st.sampled_from(JSON_FIXTURES))))
    path = draw(st.sampled_from(_paths(document)))
    replacement = draw(json_values(max_leaves=8))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = replacement
    return json.dumps(document).encode(), replacement


@PROPERTY_SETTINGS
@given(case=fixture_with_replaced_member())
def test_fixture_with_one_member_replaced(case: tuple[bytes, Any]) -> None:
    body, _ = case
    result = outcome(body, "application/json")
    event(type(result).__name__)


XML_FIXTURES = [name for name in FIXTURES if name.endswith(".xml")]
XML_TEXT = st.one_of(
    st.text(
        alphabet=st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t\n\r"),
        max_size=30,
    ),
    st.sampled_from(["", " ", "Completed", "2024-02-30T00:00:00", "-7", "5.5", "1e3", "TRUE"]),
)


@st.composite
def xml_fixture_with_replaced_text(draw: st.DrawFn) -> bytes:
    """An XML fixture with one element's text replaced (namespaces kept)."""
    root = ElementTree.fromstring(fixture_bytes(draw(st.sampled_from(XML_FIXTURES))))
    elements = list(root.iter())
    element = elements[draw(st.integers(min_value=0, max_value=len(elements) - 1))]
    element.text = draw(XML_TEXT)
    if draw(st.booleans()):
        element.append(ElementTree.Element(draw(st.sampled_from(["EnvelopeID", "Status", "x"]))))
    return bytes(ElementTree.tostring(root, encoding="utf-8"))


@PROPERTY_SETTINGS
@given(body=xml_fixture_with_replaced_text())
def test_xml_fixture_with_one_text_replaced(body: bytes) -> None:
    result = outcome(body, "text/xml")
    event(type(result).__name__)


IDENTIFIERS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FFF, exclude_categories=["Cs"]),
    min_size=1,
    max_size=256,
).filter(lambda text: text.strip() == text and not any(0x7F <= ord(c) <= 0x9F for c in text))


@PROPERTY_SETTINGS
@given(
    envelope_id=IDENTIFIERS,
    recipient_id=IDENTIFIERS,
    retry=st.integers(min_value=0, max_value=10**6),
    as_string=st.booleans(),
    status=st.sampled_from(["sent", "Completed", "DECLINED", "brand_new-status"]),
)
def test_valid_sim_messages_keep_their_values(
    envelope_id: str, recipient_id: str, retry: int, as_string: bool, status: str
) -> None:
    message = {
        "event": "recipient-completed",
        "retryCount": str(retry) if as_string else retry,
        "data": {
            "envelopeId": envelope_id,
            "recipientId": recipient_id,
            "envelopeSummary": {"status": status},
        },
    }
    result = outcome(json.dumps(message).encode(), None)
    assert isinstance(result, Notification)
    assert result.envelope_id == envelope_id
    assert result.recipient_id == recipient_id
    assert result.retry_count == retry
    assert result.status is not None
    assert result.status.value == status.lower()
    assert result.format is PayloadFormat.JSON_SIM


@pytest.mark.parametrize("name", [n for n in FIXTURES if n.endswith(".xml")])
def test_every_xml_fixture_truncation_is_handled(name: str) -> None:
    body = fixture_bytes(name)
    for end in range(0, len(body), 7):
        result = outcome(body[:end])
        if isinstance(result, Notification):  # a cut inside trailing whitespace only
            assert body[end:].strip() == b""
