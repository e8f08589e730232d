"""Mutual TLS behind a proxy: pin the client certificate the proxy forwards in a header.

DocuSign can present a client certificate to your HTTPS listener. When TLS ends at a proxy
(nginx, Envoy, a load balancer), the app only sees what the proxy forwards. Configure the proxy
to forward the verified client certificate in a header, and this policy accepts a request only
when that certificate's SHA-256 fingerprint is pinned, or its subject is one of the allowed
subjects, and it is within its validity period. Header formats understood:

* URL-encoded PEM (nginx ``$ssl_client_escaped_cert``);
* PEM with its line breaks turned into spaces (Apache ``%{SSL_CLIENT_CERT}``, some LBs);
* Envoy's ``x-forwarded-client-cert`` with a ``Cert="…"`` element (URL-encoded PEM).

Only trust the header when the proxy strips it from incoming requests: otherwise anyone can
send one. Parsing uses ``cryptography.x509``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .errors import AuthenticationError, ConfigurationError
from .http import Request

_PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----"
)
_XFCC_CERT = re.compile(r'(?:^|;)\s*Cert="(?P<cert>[^"]*)"', re.IGNORECASE)
MAX_HEADER_LENGTH = 16_384


def normalize_fingerprint(value: str) -> str:
    """A SHA-256 fingerprint as 64 lower-case hex digits (colons and case tolerated)."""
    digits = value.replace(":", "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise ConfigurationError(f"not a SHA-256 fingerprint: {value!r}")
    return digits


def certificate_from_header(value: str) -> x509.Certificate:
    """The certificate in a forwarded header value; ``AuthenticationError`` if none."""
    if len(value) > MAX_HEADER_LENGTH:
        raise AuthenticationError("client certificate header too large")
    xfcc = _XFCC_CERT.search(value)
    text = unquote(xfcc.group("cert") if xfcc else value)
    match = _PEM.search(text)
    if match is None:
        raise AuthenticationError("client certificate header holds no PEM certificate")
    body = re.sub(r"\s+", "", match.group("body"))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError as exc:
        raise AuthenticationError("client certificate cannot be parsed") from exc


@dataclass(frozen=True)
class ClientCertificatePolicy:
    """Accept only requests whose forwarded client certificate is pinned or allowed."""

    header: str
    fingerprints: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        header: str = "x-forwarded-client-cert",
        fingerprints: Iterable[str] = (),
        subjects: Iterable[str] = (),
    ) -> ClientCertificatePolicy:
        """Validate the configuration: at least one fingerprint or subject."""
        pins = frozenset(normalize_fingerprint(f) for f in fingerprints)
        allowed = frozenset(s.strip() for s in subjects if s.strip())
        if not pins and not allowed:
            raise ConfigurationError("pin at least one certificate fingerprint or subject")
        return cls(header.strip().lower(), pins, allowed)

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` unless the forwarded certificate is acceptable."""
        value = request.headers.get(self.header)
        if not value:
            raise AuthenticationError(f"no client certificate forwarded in {self.header}")
        certificate = certificate_from_header(value)
        now = datetime.now(timezone.utc)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise AuthenticationError("client certificate is outside its validity period")
        fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
        if fingerprint in self.fingerprints:
            return
        if certificate.subject.rfc4514_string() in self.subjects:
            return
        raise AuthenticationError("client certificate is not pinned")
