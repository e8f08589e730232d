"""The hostile-input corpus: bodies and requests a public Connect endpoint must shrug off.

Every case is signed with the test key (so it gets past authentication and reaches the
parser) unless it is about authentication itself. ``expected`` is the status the policy in
``docs/security.md`` promises, or :data:`DEAD_LETTER` for a signed body the parser refuses
(answered 200 and kept as an ``unparsed`` dead letter, never refused: it came from DocuSign);
``stored`` says whether the case may leave an envelope event behind.
``{canary}`` in a body is replaced by the port of a listener that must never be contacted.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from connect_mw.verify import sign
from support.deliveries import ACCOUNT, KEY, sim_body

NS = "http://www.docusign.net/API/3.0"
#: The answer to a signed body the parser refuses: 200, and one ``unparsed`` dead letter.
DEAD_LETTER = -200


class Canary:
    """A loopback listener that counts every connection made to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.hits = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.server.close()


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer the policy promises."""

    name: str
    body: bytes
    expected: int = DEAD_LETTER
    content_type: str = "application/json"
    method: str = "POST"
    extra_headers: dict[str, str] = field(default_factory=dict)
    signed: bool = True
    stored: bool = False

    def headers(self, canary: int) -> dict[str, str]:
        """The request headers, the body signed after the canary port is filled in."""
        headers = {"content-type": self.content_type, "x-docusign-accountid": ACCOUNT}
        if self.signed:
            headers["x-docusign-signature-1"] = sign(KEY, self.payload(canary))
        headers.update(self.extra_headers)
        return headers

    def payload(self, canary: int) -> bytes:
        """The body with ``{canary}`` replaced by the canary listener's port."""
        return self.body.replace(b"{canary}", str(canary).encode())


def envelope_xml(inner: str = "", *, envelope_id: str = "hostile-env", prolog: str = "") -> str:
    """A minimal valid XML legacy notification, with ``inner`` inside ``EnvelopeStatus``."""
    return (
        f'{prolog}<DocuSignEnvelopeInformation xmlns="{NS}"><EnvelopeStatus>{inner}'
        f"<EnvelopeID>{envelope_id}</EnvelopeID><Status>Sent</Status>"
        "<TimeGenerated>2026-01-05T09:00:00.1234567</TimeGenerated>"
        "</EnvelopeStatus></DocuSignEnvelopeInformation>"
    )


def xml(name: str, text: str, expected: int = DEAD_LETTER, *, stored: bool = False) -> Case:
    return Case(name, text.encode(), expected, "text/xml", stored=stored)


def _dtd(declarations: str, use: str = "&e;") -> str:
    return envelope_xml(f"<Subject>{use}</Subject>", prolog=f"<!DOCTYPE d [{declarations}]>")


def xml_cases() -> Iterator[Case]:
    laughs = '<!ENTITY e0 "lol">' + "".join(
        f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10)
    )
    yield xml("billion_laughs", _dtd(laughs, "&e9;"))
    yield xml("quadratic_blowup", _dtd(f'<!ENTITY e "{"x" * 50_000}">', "&e;" * 5_000))
    yield xml(
        "entity_in_attribute",
        envelope_xml('<Subject a="&e;">x</Subject>', prolog='<!DOCTYPE d [<!ENTITY e "x">]>'),
    )
    utf16 = _dtd(laughs, "&e9;").replace(
        "<!DOCTYPE", '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE', 1
    )
    yield Case("billion_laughs_utf16", utf16.encode("utf-16"), DEAD_LETTER, "text/xml")
    yield xml("xxe_file", _dtd('<!ENTITY e SYSTEM "file:///etc/passwd">'))
    yield xml("xxe_loopback", _dtd('<!ENTITY e SYSTEM "http://127.0.0.1:{canary}/xxe">'))
    yield xml(
        "external_dtd",
        envelope_xml(prolog='<!DOCTYPE d SYSTEM "http://127.0.0.1:{canary}/dtd">'),
    )
    yield xml(
        "parameter_entity",
        _dtd('<!ENTITY % p SYSTEM "http://127.0.0.1:{canary}/p"> %p;', "x"),
    )
    yield xml(
        "unparsed_entity", _dtd('<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "y" NDATA n>', "x")
    )
    yield xml(
        "xinclude_is_inert",
        envelope_xml(
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            'href="http://127.0.0.1:{canary}/xinclude" parse="text"/>'
        ),
        200,
        stored=True,
    )
    yield xml("deep_nesting", envelope_xml("<a>" * 200_000 + "</a>" * 200_000))
    yield xml(
        "huge_attribute_is_ignored",
        envelope_xml(f'<Subject note="{"x" * 2_000_000}">s</Subject>'),
        200,
        stored=True,
    )
    yield Case(
        "invalid_utf8",
        envelope_xml("<Subject>\udcff</Subject>").encode("utf-8", "surrogateescape"),
        DEAD_LETTER,
        "text/xml",
    )
    for codec, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        text = envelope_xml(prolog='<?xml version="1.0" encoding="UTF-16"?>')
        yield Case(f"bom_{codec}", bom + text.encode(codec), 200, "text/xml", stored=True)
    yield Case("bom_utf8", b"\xef\xbb\xbf" + envelope_xml().encode(), 200, "text/xml", stored=True)
    yield Case("bom_utf32", envelope_xml().encode("utf-32"), 200, "text/xml", stored=True)
    yield Case(
        "lying_encoding_declaration",
        envelope_xml(
            "<Subject>Zoë 渡辺</Subject>", prolog='<?xml version="1.0" encoding="UTF-16"?>'
        ).encode(),
        DEAD_LETTER,
        "text/xml",
    )
    yield xml("duplicate_envelope_id", envelope_xml("<EnvelopeID>other-env</EnvelopeID>"))
    yield xml(
        "foreign_namespace_envelope_id_first",
        envelope_xml('<x:EnvelopeID xmlns:x="urn:attacker">attacker-env</x:EnvelopeID>'),
        200,
        stored=True,
    )
    yield xml(
        "envelope_id_split_by_comment",
        envelope_xml(envelope_id="hostile<!-- split -->-env"),
        200,
        stored=True,
    )
    yield xml("truncated", envelope_xml()[:-40])
    yield xml("trailing_garbage", envelope_xml() + "<junk/>")
    yield xml("not_connect_xml", "<html><body>hello</body></html>")
    yield xml("empty_xml", "")


def sim(mutate: str, value: object) -> bytes:
    message = json.loads(sim_body())
    target = message
    *path, last = mutate.split(".")
    for part in path:
        target = target[part]
    target[last] = value
    return json.dumps(message).encode()


def json_case(name: str, body: bytes, expected: int = DEAD_LETTER, *, stored: bool = False) -> Case:
    return Case(name, body, expected, "application/json", stored=stored)


def json_cases() -> Iterator[Case]:
    yield json_case("deep_nesting", b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    yield json_case("deep_array", b"[" * 500_000 + b"]" * 500_000)
    yield json_case(  # valid JSON, never converted: retryCount is left empty (parsing.md)
        "huge_integer",
        sim_body().replace(b'"retryCount": 0', b'"retryCount": ' + b"9" * 100_000),
        200,
        stored=True,
    )
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        yield json_case(
            f"constant_{constant.decode()}",
            sim_body().replace(b'"retryCount": 0', b'"retryCount": ' + constant),
        )
    yield json_case(
        "duplicate_keys", sim_body().replace(b'"event":', b'"event": "envelope-voided", "event":')
    )
    yield json_case(
        "lone_surrogate", sim("data.envelopeId", "\ud800x").replace(b"\\ud800", b"\\ud800")
    )
    yield json_case("nul_in_id", sim("data.envelopeId", "abc\u0000def"))
    for name, top in (("array", b"[]"), ("string", b'"x"'), ("number", b"1"), ("null", b"null")):
        yield json_case(f"top_level_{name}", top)
    yield json_case("data_is_a_list", sim("data", []))
    yield json_case("envelope_id_is_a_number", sim("data.envelopeId", 5))
    yield json_case("event_is_an_object", sim("event", {}))
    # secondary fields: left empty and logged, the message stored (it came from DocuSign)
    yield json_case(
        "summary_is_a_string", sim("data.envelopeSummary", "completed"), 200, stored=True
    )
    yield json_case(
        "recipients_wrong_type",
        sim("data.envelopeSummary", {"status": "sent", "recipients": "all"}),
        200,
        stored=True,
    )
    yield json_case("ten_kb_envelope_id", sim("data.envelopeId", "e" * 10_240))
    yield json_case("redis_syntax_id", sim("data.envelopeId", "*1\r\n$8\r\nFLUSHALL\r\n"))
    yield json_case(
        "path_traversal_id_is_stored_safely",
        sim("data.envelopeId", "../../etc/passwd"),
        200,
        stored=True,
    )
    yield json_case(
        "sql_syntax_id_is_stored_safely",
        sim("data.envelopeId", "x'); DROP TABLE connect_events;--"),
        200,
        stored=True,
    )
    yield json_case(  # about no envelope: stored alone and routed, never refused
        "click_event",
        json.dumps({"event": "click-agreed", "data": {"agreementId": "a"}}).encode(),
        200,
        stored=True,
    )
    yield json_case(  # an envelope id made up from uri: a dead letter, never envelope "x"
        "envelope_id_null_uri_not_a_guid",
        sim("data.envelopeId", None).replace(b"/envelopes/e8b18544", b"/envelopes/x#e8b18544"),
    )
    yield from tab_cases()
    yield json_case("invalid_utf8", b'{"event": "envelope-sent\xff"}')
    yield json_case("empty_body", b"")
    yield json_case("whitespace_body", b" \r\n\t ")


def _tabbed_summary(tabs: object) -> dict[str, object]:
    signer = {"recipientId": "1", "email": "a@example.com", "tabs": tabs}
    envelope_id = "e8b18544-c605-4499-abcf-52209a7f4438"
    return {"status": "completed", "envelopeId": envelope_id, "recipients": {"signers": [signer]}}


def tab_cases() -> Iterator[Case]:
    """Tabs are secondary and bounded: many, or of any shape, is still a stored message."""
    many = {"textTabs": [{}] * 200_000, "radioGroupTabs": [{"radios": [{}] * 50_000}]}
    yield json_case(
        "two_hundred_thousand_tabs",
        sim("data.envelopeSummary", _tabbed_summary(many)),
        200,
        stored=True,
    )
    odd = {"textTabs": [1, "x", None, {"value": {"deep": [1]}, "pageNumber": "-1"}], "xTabs": 5}
    yield json_case(
        "tabs_of_every_shape", sim("data.envelopeSummary", _tabbed_summary(odd)), 200, stored=True
    )
    tab_statuses = "<TabStatus><TabValue>v</TabValue></TabStatus>" * 50_000
    recipient = (
        "<RecipientStatuses><RecipientStatus><Type>Signer</Type><Status>Sent</Status>"
        f"<TabStatuses>{tab_statuses}</TabStatuses></RecipientStatus></RecipientStatuses>"
    )
    yield xml("fifty_thousand_tab_statuses", envelope_xml(recipient), 200, stored=True)


def http_cases() -> Iterator[Case]:
    body = sim_body()
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        yield Case(f"method_{method}", body, 405, method=method)
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        yield Case(f"content_type_{content_type.split(';')[0]}", body, 415, content_type)
    bomb = gzip.compress(b"{" + b" " * 5_000_000 + b"}")
    yield Case("gzip_bomb", bomb, 415, extra_headers={"content-encoding": "gzip"})
    yield Case("unsigned", body, 401, signed=False)
    yield Case(
        "wrong_signature",
        body,
        401,
        signed=False,
        extra_headers={"x-docusign-signature-1": sign("nope", body)},
    )
    many = {f"x-docusign-signature-{i}": sign(f"k{i}", body) for i in range(2, 101)}
    yield Case("hundred_signature_headers_one_valid", body, 200, extra_headers=many, stored=True)
    too_many = {f"x-docusign-signature-{i}": "x" for i in range(2, 301)}
    yield Case("three_hundred_signature_headers", body, 401, extra_headers=too_many)
    yield Case(
        "huge_header",
        body,
        401,
        signed=False,
        extra_headers={"x-docusign-signature-1": "A" * 60_000},
    )
    yield Case(
        "account_header_mismatch", body, 401, extra_headers={"x-docusign-accountid": "other"}
    )


CASES = [*xml_cases(), *json_cases(), *http_cases()]
OVERSIZED_LIMIT = 64 * 1024
