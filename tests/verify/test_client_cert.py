"""mTLS behind a proxy: only a pinned forwarded client certificate is accepted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connect_mw import MemoryStore, Receiver
from connect_mw.client_cert import ClientCertificatePolicy, certificate_from_header
from connect_mw.errors import AuthenticationError, ConfigurationError
from connect_mw.http import Request
from support.deliveries import KEY, signed_request, sim_body

NOW = datetime.now(timezone.utc)


def make_cert(
    cn: str = "connect.docusign.net", days: tuple[int, int] = (-1, 30)
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DocuSign, Inc."),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + timedelta(days=days[0]))
        .not_valid_after(NOW + timedelta(days=days[1]))
        .sign(key, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


CERT = make_cert()


@pytest.mark.parametrize(
    "header",
    [
        quote(pem(CERT)),  # nginx $ssl_client_escaped_cert
        pem(CERT).replace("\n", " "),  # Apache / load balancers
        f'By=spiffe://a;Hash=abc;Cert="{quote(pem(CERT))}";Subject="CN=x"',  # Envoy XFCC
    ],
)
def test_header_formats(header: str) -> None:
    assert fingerprint(certificate_from_header(header)) == fingerprint(CERT)


def request_with(header: str | None) -> Request:
    signed = signed_request(sim_body())
    headers = dict(signed.headers)
    if header is not None:
        headers["x-forwarded-client-cert"] = header
    return Request("POST", signed.path, headers, signed.body)


def receiver_pinning(**pins: object) -> Receiver:
    policy = ClientCertificatePolicy.build(**pins)  # type: ignore[arg-type]
    return Receiver(hmac_keys=KEY, store=MemoryStore(), client_certificate=policy)


def test_pinned_fingerprint_is_accepted_others_refused() -> None:
    colons = ":".join(fingerprint(CERT)[i : i + 2] for i in range(0, 64, 2)).upper()
    receiver = receiver_pinning(fingerprints=[colons])
    assert receiver.handle(request_with(quote(pem(CERT)))).status == 200
    for header in [quote(pem(make_cert())), None, "garbage", quote(pem(CERT))[:200]]:
        response = receiver.handle(request_with(header))
        assert response.status == 401, header
    assert receiver.store.list_envelopes()[0].event_count == 1


def test_allowed_subject() -> None:
    receiver = receiver_pinning(subjects=[CERT.subject.rfc4514_string()])
    assert receiver.handle(request_with(quote(pem(make_cert())))).status == 200  # same subject
    other = make_cert(cn="attacker.example")
    assert receiver.handle(request_with(quote(pem(other)))).status == 401


def test_expired_certificate_is_refused() -> None:
    expired = make_cert(days=(-30, -1))
    receiver = receiver_pinning(fingerprints=[fingerprint(expired)])
    response = receiver.handle(request_with(quote(pem(expired))))
    assert response.status == 401 and b"validity" in response.body


def test_policy_needs_a_pin() -> None:
    with pytest.raises(ConfigurationError):
        ClientCertificatePolicy.build()
    with pytest.raises(ConfigurationError):
        ClientCertificatePolicy.build(fingerprints=["not-hex"])


def test_oversized_header_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="too large"):
        certificate_from_header("A" * 20_000)


def test_certificate_alone_counts_as_authentication() -> None:
    policy = ClientCertificatePolicy.build(fingerprints=[fingerprint(CERT)])
    receiver = Receiver(store=MemoryStore(), client_certificate=policy)  # no HMAC: still starts
    assert receiver.handle(request_with(quote(pem(CERT)))).status == 200
