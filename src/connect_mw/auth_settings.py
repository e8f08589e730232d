"""OAuth-for-Connect and client-certificate settings given as flat values, and what they build.

The command line (``serve --oauth-issuer …``) and the Django ``CONNECT_MW`` setting
(``"OAUTH_ISSUER": …``) describe the same two verifiers with plain values.
:class:`OAuthSettings` and :class:`ClientCertificateSettings` hold those values, check that
they go together, and build :class:`~connect_mw.oauth.ConnectOAuth` and
:class:`~connect_mw.client_cert.ClientCertificatePolicy`. Every error is a
:class:`~connect_mw.errors.ConfigurationError` naming the settings as the user wrote them:
``name`` maps a field name (``"issuer"``, ``"subjects"``, …) to a flag or a settings key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .client_cert import ClientCertificatePolicy, NameRule, normalize_fingerprint
from .errors import ConfigurationError
from .jwks import DEFAULT_MIN_INTERVAL, DEFAULT_TTL, check_url
from .oauth import DEFAULT_LEEWAY, ConnectOAuth

__all__ = [
    "DEFAULT_CERT_HEADER",
    "MAX_JWKS_SECONDS",
    "ClientCertificateSettings",
    "Namer",
    "OAuthSettings",
]

#: The header a client certificate is read from when no other is named (Envoy's).
DEFAULT_CERT_HEADER = "x-forwarded-client-cert"
#: The longest JWKS ``ttl`` or ``min_interval`` accepted, in seconds: a year.
MAX_JWKS_SECONDS = 365 * 24 * 3600.0
#: How a field is named to the user: ``"issuer"`` -> ``"--oauth-issuer"``, say.
Namer = Callable[[str], str]


@dataclass(frozen=True)
class OAuthSettings:
    """OAuth for Connect: ``issuer``, ``audiences`` and ``jwks_url`` go together."""

    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    jwks_url: str | None = None
    leeway: float = DEFAULT_LEEWAY
    jwks_ttl: float = DEFAULT_TTL
    jwks_min_interval: float = DEFAULT_MIN_INTERVAL

    @property
    def given(self) -> bool:
        """Whether any of the three required values is set."""
        return bool(self.issuer or self.audiences or self.jwks_url)

    def build(self, name: Namer) -> ConnectOAuth | None:
        """The validator; ``None`` when none is configured; ``ConfigurationError`` if invalid."""
        if not self.given:
            return None
        required = {"issuer": self.issuer, "audiences": self.audiences, "jwks_url": self.jwks_url}
        missing = [name(field) for field, value in required.items() if not value]
        if missing:
            together = ", ".join(name(field) for field in required)
            raise ConfigurationError(
                f"OAuth for Connect needs {together} together: missing {' and '.join(missing)}"
            )
        if not 0 <= self.leeway <= 600:  # NaN fails this too
            raise ConfigurationError(f"{name('leeway')} must be between 0 and 600 seconds")
        if not 0 < self.jwks_ttl <= MAX_JWKS_SECONDS:
            raise ConfigurationError(f"{name('jwks_ttl')} must be above 0 and at most a year")
        if not 0 <= self.jwks_min_interval <= MAX_JWKS_SECONDS:
            raise ConfigurationError(
                f"{name('jwks_min_interval')} must be from 0 to a year (0: no rate limit)"
            )
        if not all(audience.strip() for audience in self.audiences):
            raise ConfigurationError(f"{name('audiences')}: an audience is empty")
        try:
            check_url(str(self.jwks_url))
        except ConfigurationError as exc:  # name the setting that holds the URL
            raise ConfigurationError(f"{name('jwks_url')}: {exc}") from exc
        return ConnectOAuth.build(
            issuer=str(self.issuer),
            audience=self.audiences,
            jwks_url=str(self.jwks_url),
            ttl=self.jwks_ttl,
            min_interval=self.jwks_min_interval,
            leeway=self.leeway,
        )


@dataclass(frozen=True)
class ClientCertificateSettings:
    """A client certificate forwarded by a TLS-ending proxy: which ones to accept, and where."""

    subjects: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()
    header: str | None = None

    @property
    def given(self) -> bool:
        """Whether any value is set."""
        return bool(self.subjects or self.issuers or self.fingerprints or self.header)

    def build(self, name: Namer) -> ClientCertificatePolicy | None:
        """The policy; ``None`` when none is configured; ``ConfigurationError`` if invalid."""
        if not self.given:
            return None
        if not (self.subjects or self.fingerprints):
            given = name("issuers") if self.issuers else name("header")
            raise ConfigurationError(
                f"{given} needs {name('subjects')} or {name('fingerprints')} "
                "(which certificates to accept)"
            )
        if self.issuers and not self.subjects:
            raise ConfigurationError(
                f"{name('issuers')} narrows {name('subjects')} and cannot be given without "
                "it (it would accept every certificate that CA signs)"
            )
        for field, check in (
            ("subjects", NameRule.parse),
            ("issuers", NameRule.parse),
            ("fingerprints", normalize_fingerprint),
        ):
            for value in getattr(self, field):
                try:
                    check(value)
                except ConfigurationError as exc:
                    raise ConfigurationError(f"{name(field)}: {exc}") from exc
        return ClientCertificatePolicy.build(
            header=self.header or DEFAULT_CERT_HEADER,
            fingerprints=self.fingerprints,
            subjects=self.subjects,
            issuers=self.issuers,
        )
