r"""Mutual TLS behind a proxy: trust DocuSign's client certificate by its subject and issuer.

DocuSign presents a client certificate to an HTTPS listener that asks for one. When TLS ends
at a proxy (nginx, Envoy, a load balancer), the app only sees what the proxy forwards.
Configure the proxy to verify the client certificate against its CA bundle and to forward it
in a header; this policy then accepts a request only when that certificate is within its
validity period and either its **subject** (and, when configured, its **issuer**) matches, or
its SHA-256 **fingerprint** is pinned.

Match by subject: DocuSign renews the Connect certificate periodically (about yearly) and
keeps its subject, so a pinned fingerprint stops matching on the renewal day while a subject
rule keeps working. A subject or issuer rule is an RFC 4514 distinguished name such as
``CN=example.docusign.net,O=DocuSign\, Inc.``; it matches a certificate name that holds every
attribute of the rule (values compared ignoring case and repeated spaces), so a rule naming
only ``CN`` and ``O`` survives a renewal that changes ``L`` or ``OU``.

Header formats understood:

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

from .display import display
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


# One "type=value" of a name: a value is quoted ("DocuSign, Inc.", as openssl prints it) or
# runs to the next comma or plus sign not escaped by a backslash.
# Only ASCII spaces and tabs are insignificant: a value may be other Unicode whitespace.
_RDN_PART = re.compile(
    r"[ \t]*(?P<type>[A-Za-z][\w.-]*|\d+(?:\.\d+)+)[ \t]*=[ \t]*"
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<plain>(?:[^,+\\]|\\.)*?))[ \t]*(?P<sep>[,+]|$)'
)


def _canonical(text: str) -> str:
    """An RFC 4514 string as ``cryptography`` reads it, from the ways people write names.

    Attribute types in any case, spaces around ``=`` and after separators, and openssl's
    quoted values are accepted.
    """
    parts: list[str] = []
    position = len(text) - len(text.lstrip(" \t"))
    while position < len(text):
        match = _RDN_PART.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read a name at {position}")
        kind = match.group("type")
        quoted = match.group("quoted")
        value = match.group("plain") if quoted is None else re.sub(r"([,+;<>=#])", r"\\\1", quoted)
        parts.append(f"{kind.upper() if kind.isalpha() else kind}={value}{match.group('sep')}")
        position = match.end()
    return "".join(parts)


def _folded(value: str) -> str:
    return " ".join(value.split()).casefold()


def _attributes(name: x509.Name) -> frozenset[tuple[str, str]]:
    values = (attr.value for attr in name)
    oids = (attr.oid.dotted_string for attr in name)
    return frozenset(
        (oid, _folded(v if isinstance(v, str) else v.decode("latin-1")))
        for oid, v in zip(oids, values, strict=True)
    )


@dataclass(frozen=True)
class NameRule:
    """A distinguished-name rule: a name matches when it holds every attribute of the rule."""

    text: str
    attributes: frozenset[tuple[str, str]]

    @classmethod
    def parse(cls, text: str) -> NameRule:
        """Read an RFC 4514 name (``CN=…,O=…``); ``ConfigurationError`` if it is not one."""
        try:
            name = x509.Name.from_rfc4514_string(_canonical(text))
        except ValueError as exc:
            raise ConfigurationError(f"not an RFC 4514 distinguished name: {text!r}") from exc
        attributes = _attributes(name)
        if not attributes:
            raise ConfigurationError(f"empty distinguished name: {text!r}")
        return cls(text.strip(), attributes)

    def matches(self, name: x509.Name) -> bool:
        """Whether ``name`` holds every attribute of this rule."""
        return self.attributes <= _attributes(name)


def _shown(name: x509.Name) -> str:
    return display(name.rfc4514_string())[:300]


@dataclass(frozen=True)
class ClientCertificatePolicy:
    """Accept only a forwarded client certificate with an allowed subject or a pinned print.

    Build it with :meth:`build`. A certificate is accepted when it is valid now and either
    its subject matches one of ``subjects`` (and its issuer one of ``issuers``, when any are
    given), or its SHA-256 fingerprint is one of ``fingerprints``.
    """

    header: str
    fingerprints: frozenset[str] = frozenset()
    subjects: tuple[NameRule, ...] = ()
    issuers: tuple[NameRule, ...] = ()

    @classmethod
    def build(
        cls,
        header: str = "x-forwarded-client-cert",
        fingerprints: Iterable[str] = (),
        subjects: Iterable[str] = (),
        issuers: Iterable[str] = (),
    ) -> ClientCertificatePolicy:
        """Validate the configuration: at least one subject rule or pinned fingerprint.

        ``subjects`` and ``issuers`` are RFC 4514 names (see the module doc); ``issuers``
        narrows the subject rules and cannot be given alone (it would admit every
        certificate that CA signs). ``fingerprints`` are SHA-256 hex digests (colons and
        case tolerated); they must be updated at each DocuSign certificate renewal.
        """
        pins = frozenset(normalize_fingerprint(f) for f in fingerprints)
        allowed = tuple(NameRule.parse(s) for s in subjects if s.strip())
        authorities = tuple(NameRule.parse(i) for i in issuers if i.strip())
        if authorities and not allowed:
            raise ConfigurationError("issuers narrow subject rules: give subjects too")
        if not pins and not allowed:
            raise ConfigurationError("allow at least one certificate subject or fingerprint")
        return cls(header.strip().lower(), pins, allowed, authorities)

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` unless the forwarded certificate is acceptable."""
        value = request.headers.get(self.header)
        if not value:
            raise AuthenticationError(f"no client certificate forwarded in {self.header}")
        certificate = certificate_from_header(value)
        now = datetime.now(timezone.utc)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise AuthenticationError("client certificate is outside its validity period")
        if certificate.fingerprint(hashes.SHA256()).hex() in self.fingerprints:
            return
        self._check_names(certificate)

    def _check_names(self, certificate: x509.Certificate) -> None:
        subject = _name(certificate, "subject")
        if not any(rule.matches(subject) for rule in self.subjects):
            raise AuthenticationError(
                "client certificate is not allowed: neither its fingerprint is pinned nor "
                f"its subject {_shown(subject)} matches an allowed subject"
            )
        if not self.issuers:
            return
        issuer = _name(certificate, "issuer")
        if not any(rule.matches(issuer) for rule in self.issuers):
            raise AuthenticationError(f"client certificate issuer {_shown(issuer)} is not allowed")


def _name(certificate: x509.Certificate, which: str) -> x509.Name:
    """The certificate's subject or issuer, read whole (its values decoded) or refused.

    ``cryptography`` parses names lazily: a value that is not what its string type says
    (invalid UTF-8 in a UTF8String…) raises ``ValueError`` only here.
    """
    try:
        name: x509.Name = getattr(certificate, which)
        for attribute in name:
            _ = attribute.value
        name.rfc4514_string()
    except ValueError:
        raise AuthenticationError(f"client certificate {which} cannot be decoded") from None
    return name
