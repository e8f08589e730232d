"""mTLS by subject and issuer: DocuSign's yearly certificate renewal keeps being accepted.

A CA made here signs "DocuSign" leaf certificates; each test posts signed deliveries with the
forwarded certificate through the pure ASGI and the pure WSGI entry point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import assume, example, given
from hypothesis import strategies as st

from connect_mw import MemoryStore, Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.client_cert import ClientCertificatePolicy, NameRule
from connect_mw.errors import ConfigurationError
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.entry_points import ASGIClient, Client, WSGIClient, asgi_echo, wsgi_echo

NOW = datetime.now(timezone.utc)
SUBJECT = "CN=connect.docusign.test,O=DocuSign\\, Inc.,L=San Francisco,ST=California,C=US"
ISSUER = "CN=Test Global CA G2,O=Test CA Inc,C=US"


def name(rfc4514: str) -> x509.Name:
    return x509.Name.from_rfc4514_string(rfc4514)


class Authority:
    """A CA that issues leaf certificates (each with a fresh key, as a renewal has)."""

    def __init__(self, subject: str = ISSUER) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = name(subject)

    def issue(self, subject: str = SUBJECT, days: tuple[int, int] = (-1, 365)) -> x509.Certificate:
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(self.name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW + timedelta(days=days[0]))
            .not_valid_after(NOW + timedelta(days=days[1]))
            .sign(self.key, hashes.SHA256())
        )


def forwarded(cert: x509.Certificate) -> str:
    return quote(cert.public_bytes(serialization.Encoding.PEM).decode())


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def via_asgi(receiver: Receiver) -> Client:
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def via_wsgi(receiver: Receiver) -> Client:
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


Entry = Callable[[Receiver], Client]
ENTRY = pytest.mark.parametrize("entry", [via_asgi, via_wsgi], ids=lambda f: f.__name__)


def client_for(
    entry: Entry,
    subjects: Sequence[str] = (),
    issuers: Sequence[str] = (),
    fingerprints: Sequence[str] = (),
) -> Client:
    built = ClientCertificatePolicy.build(
        subjects=subjects, issuers=issuers, fingerprints=fingerprints
    )
    return entry(Receiver(hmac_keys=KEY, store=MemoryStore(), client_certificate=built))


def post(client: Client, cert: x509.Certificate | None, envelope: int = 1) -> int:
    body = sim_body(envelope_id=f"e8b18544-c605-4499-abcf-{envelope:012d}")
    headers = signed_headers(body)
    if cert is not None:
        headers["x-forwarded-client-cert"] = forwarded(cert)
    status, _ = client.post(PATH, body, headers)
    return status


@ENTRY
def test_renewed_certificate_is_accepted_by_subject_and_issuer(entry: Entry) -> None:
    ca = Authority()
    this_year, next_year = ca.issue(), ca.issue()
    assert fingerprint(this_year) != fingerprint(next_year)
    client = client_for(entry, subjects=[SUBJECT], issuers=[ISSUER])
    assert post(client, this_year, 1) == 200
    assert post(client, next_year, 2) == 200  # the renewal: new key, same subject and issuer
    assert len(client.receiver.store.list_envelopes()) == 2


@ENTRY
def test_a_pinned_fingerprint_breaks_at_renewal(entry: Entry) -> None:
    ca = Authority()
    this_year, next_year = ca.issue(), ca.issue()
    client = client_for(entry, fingerprints=[fingerprint(this_year)])
    assert post(client, this_year, 1) == 200
    assert post(client, next_year, 2) == 401
    assert len(client.receiver.store.list_envelopes()) == 1


@ENTRY
def test_a_rule_names_only_the_attributes_that_matter(entry: Entry) -> None:
    ca = Authority()
    client = client_for(
        entry, subjects=["cn=CONNECT.docusign.test,  o=DocuSign\\,  Inc."], issuers=[ISSUER]
    )
    moved = SUBJECT.replace("San Francisco", "Seattle")
    assert post(client, ca.issue(moved), 1) == 200  # L changed, CN and O kept
    assert post(client, ca.issue("CN=connect.docusign.test,O=Someone Else"), 2) == 401
    assert post(client, ca.issue("CN=other.docusign.test,O=DocuSign\\, Inc."), 3) == 401


@ENTRY
def test_the_same_subject_from_another_issuer_is_refused(
    entry: Entry, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(entry, subjects=[SUBJECT], issuers=[ISSUER])
    rogue = Authority("CN=Rogue CA,O=Rogue")
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        assert post(client, rogue.issue(), 1) == 401
    (line,) = [r.getMessage() for r in caplog.records if "rejected 401" in r.getMessage()]
    assert "issuer CN=Rogue CA,O=Rogue is not allowed" in line
    assert client.receiver.store.list_envelopes() == []


@ENTRY
def test_refusals_name_the_subject_escaped(entry: Entry, caplog: pytest.LogCaptureFixture) -> None:
    client = client_for(entry, subjects=[SUBJECT])
    ca = Authority()
    spoof = "CN=connect.docusign.test\u202e,O=DocuSign\\, Inc."
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        assert post(client, ca.issue(spoof), 1) == 401
        assert post(client, ca.issue(days=(-400, -1)), 2) == 401  # expired
        assert post(client, None, 3) == 401
    lines = [r.getMessage() for r in caplog.records if "rejected 401" in r.getMessage()]
    assert len(lines) == 3
    assert "subject CN=connect.docusign.test\\u202e" in lines[0] and "\u202e" not in lines[0]
    assert "outside its validity period" in lines[1]
    assert "no client certificate forwarded" in lines[2]


def test_rules_are_checked_when_configured() -> None:
    with pytest.raises(ConfigurationError, match="give subjects too"):
        ClientCertificatePolicy.build(issuers=[ISSUER])
    with pytest.raises(ConfigurationError, match="RFC 4514"):
        ClientCertificatePolicy.build(subjects=["not a name"])
    with pytest.raises(ConfigurationError, match="subject or fingerprint"):
        ClientCertificatePolicy.build(subjects=["  "])


def test_name_rule_matching() -> None:
    rule = NameRule.parse("O=DocuSign\\, Inc.,CN=connect.docusign.test")
    assert rule.matches(name(SUBJECT))
    assert not rule.matches(name("CN=connect.docusign.test"))
    assert not NameRule.parse("CN=connect.docusign.tes").matches(name(SUBJECT))


NAME_OIDS = [NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME,
             NameOID.LOCALITY_NAME, NameOID.STATE_OR_PROVINCE_NAME]  # fmt: skip
# RFC 4514's special characters often, so escapes and spaces at either end are exercised.
SPECIAL = st.sampled_from([*' ,+"\\#<>;=', "\u00e9"])
VALUES = st.text(SPECIAL | st.characters(min_codepoint=0x20, max_codepoint=0x24F), min_size=1,
                 max_size=20)  # fmt: skip


@st.composite
def names(draw: st.DrawFn) -> x509.Name:
    count = draw(st.integers(1, 4))
    oids = draw(st.lists(st.sampled_from(NAME_OIDS), min_size=count, max_size=count))
    attributes = [x509.NameAttribute(oid, draw(VALUES)) for oid in oids]
    return x509.Name(attributes)


@given(names())
@example(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ends with a space ")]))
@example(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ' #b+c"d\\, ')]))
@example(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "\x85")]))  # Unicode whitespace
def test_a_name_written_by_cryptography_is_read_back_as_a_rule_that_matches_it(
    certificate_name: x509.Name,
) -> None:
    text = certificate_name.rfc4514_string()
    try:
        x509.Name.from_rfc4514_string(text)
    except ValueError:
        assume(False)  # a text cryptography itself cannot read back is not a rule anyone has
    assert NameRule.parse(text).matches(certificate_name)


def with_undecodable(cert: x509.Certificate, marker: bytes) -> x509.Certificate:
    """``cert`` with the UTF8String value ``marker`` made invalid UTF-8 (signature unchanged).

    The proxy verified the chain; what reaches the app may still hold a name that
    ``cryptography`` loads but cannot decode.
    """
    der = cert.public_bytes(serialization.Encoding.DER)
    at = der.index(marker)
    assert der[at - 2] == 0x0C  # a UTF8String
    broken = der[:at] + b"\xff\xfe" + der[at + 2 :]
    return x509.load_der_x509_certificate(broken)


@ENTRY
@pytest.mark.parametrize("where", ["subject", "issuer"])
def test_a_certificate_with_an_undecodable_name_is_a_401(
    entry: Entry, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    ca = Authority("CN=Test Global CA G2,O=CAMARKER" if where == "issuer" else ISSUER)
    subject = "CN=connect.docusign.test,O=SUBJECTMARKER" if where == "subject" else SUBJECT
    cert = with_undecodable(
        ca.issue(subject), b"CAMARKER" if where == "issuer" else b"SUBJECTMARKER"
    )
    client = client_for(entry, subjects=[SUBJECT], issuers=[ISSUER])
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        assert post(client, cert, 1) == 401
    lines = [r.getMessage() for r in caplog.records if "rejected 401" in r.getMessage()]
    assert len(lines) == 1 and "cannot be decoded" in lines[0], lines
    assert client.receiver.store.list_envelopes() == []
