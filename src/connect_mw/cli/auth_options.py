"""``serve``'s OAuth-for-Connect and client-certificate options, and what they build.

OAuth for Connect (:class:`~connect_mw.oauth.ConnectOAuth`): ``--oauth-issuer``,
``--oauth-audience`` (repeatable) and ``--oauth-jwks-url`` go together; ``--oauth-leeway``,
``--oauth-jwks-ttl`` and ``--oauth-jwks-min-interval`` tune it. Mutual TLS behind a proxy
(:class:`~connect_mw.client_cert.ClientCertificatePolicy`): ``--client-cert-subject`` and
``--client-cert-fingerprint`` (repeatable; at least one of them), ``--client-cert-issuer``
(narrows the subjects), ``--client-cert-header`` (where the proxy forwards the certificate).

Each reads a ``CONNECT_MW_OAUTH_*`` / ``CONNECT_MW_CLIENT_CERT_*`` variable when the flag is
not given (:data:`ENVIRONMENT`); a list of distinguished names is one per line, since a name
holds commas. Flags of a repeatable option add to its variable's values, as ``--hmac-key``
does.
"""

from __future__ import annotations

import argparse
import os

from ..auth_settings import (
    DEFAULT_CERT_HEADER,
    MAX_JWKS_SECONDS,
    ClientCertificateSettings,
    OAuthSettings,
)
from ..client_cert import ClientCertificatePolicy
from ..jwks import DEFAULT_MIN_INTERVAL, DEFAULT_TTL
from ..oauth import DEFAULT_LEEWAY, ConnectOAuth
from ..verify import Authenticator
from .numbers import env_default, number

__all__ = [
    "ENVIRONMENT",
    "FLAGS",
    "add_auth_options",
    "authentication_line",
    "client_certificate_from",
    "oauth_from",
]

#: The environment variables these options read, for ``serve --help`` and the docs.
ENVIRONMENT = """\
CONNECT_MW_OAUTH_ISSUER, CONNECT_MW_OAUTH_AUDIENCES (comma-separated),
CONNECT_MW_OAUTH_JWKS_URL, CONNECT_MW_OAUTH_LEEWAY, CONNECT_MW_OAUTH_JWKS_TTL,
CONNECT_MW_OAUTH_JWKS_MIN_INTERVAL (seconds), CONNECT_MW_CLIENT_CERT_SUBJECTS and
CONNECT_MW_CLIENT_CERT_ISSUERS (one distinguished name per line),
CONNECT_MW_CLIENT_CERT_FINGERPRINTS (comma-separated), CONNECT_MW_CLIENT_CERT_HEADER"""


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _env_split(name: str, separator: str) -> list[str]:
    text = os.environ.get(name, "")
    items = text.splitlines() if separator == "\n" else text.split(separator)
    return [item.strip() for item in items if item.strip()]


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    """Add the OAuth and client-certificate option groups to ``parser``."""
    oauth = parser.add_argument_group(
        "OAuth for Connect", "the bearer JWT DocuSign sends, checked against the issuer's keys"
    )
    oauth.add_argument(
        "--oauth-issuer",
        default=_env("CONNECT_MW_OAUTH_ISSUER"),
        metavar="ISSUER",
        help="the tokens' iss, exactly",
    )
    oauth.add_argument(
        "--oauth-audience",
        action="append",
        default=_env_split("CONNECT_MW_OAUTH_AUDIENCES", ","),
        metavar="AUDIENCE",
        help="an accepted aud; repeatable",
    )
    oauth.add_argument(
        "--oauth-jwks-url",
        default=_env("CONNECT_MW_OAUTH_JWKS_URL"),
        metavar="URL",
        help="where the issuer publishes its keys (its jwks_uri; https)",
    )
    oauth.add_argument(
        "--oauth-leeway",
        type=number(0, 600, env="CONNECT_MW_OAUTH_LEEWAY"),
        default=env_default("CONNECT_MW_OAUTH_LEEWAY", DEFAULT_LEEWAY),
        metavar="SECONDS",
        help="clock skew tolerated on exp/nbf/iat (default %(default)s)",
    )
    oauth.add_argument(
        "--oauth-jwks-ttl",
        type=number(0, MAX_JWKS_SECONDS, above=True, env="CONNECT_MW_OAUTH_JWKS_TTL"),
        default=env_default("CONNECT_MW_OAUTH_JWKS_TTL", DEFAULT_TTL),
        metavar="SECONDS",
        help="how long fetched keys are trusted (default %(default)s)",
    )
    oauth.add_argument(
        "--oauth-jwks-min-interval",
        type=number(0, MAX_JWKS_SECONDS, env="CONNECT_MW_OAUTH_JWKS_MIN_INTERVAL"),
        default=env_default("CONNECT_MW_OAUTH_JWKS_MIN_INTERVAL", DEFAULT_MIN_INTERVAL),
        metavar="SECONDS",
        help="the least time between two key fetches (default %(default)s)",
    )
    _add_client_certificate_options(parser)


def _add_client_certificate_options(parser: argparse.ArgumentParser) -> None:
    cert = parser.add_argument_group(
        "client certificate", "mutual TLS ended at a proxy that forwards the certificate"
    )
    cert.add_argument(
        "--client-cert-subject",
        action="append",
        default=_env_split("CONNECT_MW_CLIENT_CERT_SUBJECTS", "\n"),
        metavar="DN",
        help="accept a certificate whose subject holds this RFC 4514 name; repeatable",
    )
    cert.add_argument(
        "--client-cert-issuer",
        action="append",
        default=_env_split("CONNECT_MW_CLIENT_CERT_ISSUERS", "\n"),
        metavar="DN",
        help="and whose issuer holds this name (narrows the subjects); repeatable",
    )
    cert.add_argument(
        "--client-cert-fingerprint",
        action="append",
        default=_env_split("CONNECT_MW_CLIENT_CERT_FINGERPRINTS", ","),
        metavar="SHA256",
        help="or accept exactly this certificate; repeatable",
    )
    cert.add_argument(
        "--client-cert-header",
        default=_env("CONNECT_MW_CLIENT_CERT_HEADER"),
        metavar="NAME",
        help=f"the header the proxy forwards it in (default {DEFAULT_CERT_HEADER})",
    )


#: Field of :class:`OAuthSettings` / :class:`ClientCertificateSettings` -> its flag.
FLAGS = {
    "issuer": "--oauth-issuer",
    "audiences": "--oauth-audience",
    "jwks_url": "--oauth-jwks-url",
    "leeway": "--oauth-leeway",
    "jwks_ttl": "--oauth-jwks-ttl",
    "jwks_min_interval": "--oauth-jwks-min-interval",
    "subjects": "--client-cert-subject",
    "issuers": "--client-cert-issuer",
    "fingerprints": "--client-cert-fingerprint",
    "header": "--client-cert-header",
}


def oauth_from(args: argparse.Namespace) -> ConnectOAuth | None:
    """The OAuth validator the options describe; ``None`` when none is given.

    ``ConfigurationError`` naming the flags when they are incomplete or invalid.
    """
    settings = OAuthSettings(
        issuer=args.oauth_issuer,
        audiences=tuple(args.oauth_audience),
        jwks_url=args.oauth_jwks_url,
        leeway=args.oauth_leeway,
        jwks_ttl=args.oauth_jwks_ttl,
        jwks_min_interval=args.oauth_jwks_min_interval,
    )
    return settings.build(FLAGS.__getitem__)


def client_certificate_from(args: argparse.Namespace) -> ClientCertificatePolicy | None:
    """The client-certificate policy the options describe; ``None`` when none is given."""
    settings = ClientCertificateSettings(
        subjects=tuple(args.client_cert_subject),
        issuers=tuple(args.client_cert_issuer),
        fingerprints=tuple(args.client_cert_fingerprint),
        header=args.client_cert_header,
    )
    return settings.build(FLAGS.__getitem__)


def authentication_line(auth: Authenticator) -> str:
    """The startup line naming each mechanism ``auth`` requires, never a key or password."""
    parts: list[str] = []
    keys = auth.hmac_keys
    if keys:
        accounts = sum(1 for account_keys in keys.per_account.values() if account_keys)
        per_account = f", keys for {accounts} account(s)" if accounts else ""
        parts.append(f"HMAC ({len(keys.default)} key(s){per_account})")
    if auth.basic is not None:
        parts.append("Basic")
    if isinstance(auth.bearer, ConnectOAuth):
        parts.append(f"OAuth for Connect (issuer {auth.bearer.issuer})")
    elif auth.bearer is not None:
        parts.append("Bearer (your validator)")
    certificate = auth.client_certificate
    if isinstance(certificate, ClientCertificatePolicy):
        rules = len(certificate.subjects) + len(certificate.fingerprints)
        parts.append(f"client certificate in {certificate.header} ({rules} rule(s))")
    elif certificate is not None:
        parts.append("client certificate (your verifier)")
    if not parts:
        return "authentication: none (--allow-unauthenticated: development only)"
    return "authentication: " + ", ".join(parts) + (" (all required)" if len(parts) > 1 else "")
