"""Authenticating Connect requests: HMAC signatures, Basic auth, Bearer tokens, all together.

HMAC facts (DocuSign's docs and all six official samples):

* ``X-DocuSign-Signature-1``, ``-2``, … each carry ``base64(HMAC-SHA256(key, raw_body))``,
  one per active key of the account; a request is authentic when **any** header matches
  **any** configured key.
* A key is the secret string's UTF-8 bytes exactly as DocuSign shows it. It looks like base64
  but is never decoded.
* The signed bytes are the raw body, untouched.

Every comparison here is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .errors import AuthenticationError, ConfigurationError
from .http import Request

SIGNATURE_HEADER = re.compile(r"x-docusign-signature-(\d+)")
ACCOUNT_HEADER = "x-docusign-accountid"
# DocuSign allows many keys per account; more signature headers than this is an attack.
MAX_SIGNATURE_HEADERS = 200

BearerValidator = Callable[[str], bool]
# A verification pipeline: effects of connect_mw.effects, named loosely to keep this pure.
VerifySteps = Generator[Any, Any, None]


class RequestVerifier(Protocol):
    """Anything that accepts or refuses a request (e.g. a client certificate policy)."""

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` to refuse ``request``."""


@runtime_checkable
class SteppedVerifier(Protocol):
    """A verifier that may need I/O (a key fetch) first: it yields it as effects."""

    def verify(self, request: Request) -> None:
        """The pure check, with what is already at hand."""

    def verify_steps(self, request: Request) -> VerifySteps:
        """The check as a pipeline (see :mod:`connect_mw.effects`)."""


def sign(key: str, body: bytes) -> str:
    """Return the value DocuSign would put in an ``X-DocuSign-Signature-N`` header."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_headers(headers: Mapping[str, str]) -> list[str]:
    """Every ``x-docusign-signature-N`` value of lower-cased ``headers``, in N order."""
    found: list[tuple[int, str]] = []
    for name, value in headers.items():
        match = SIGNATURE_HEADER.fullmatch(name)
        if match is not None:
            found.append((int(match.group(1)), value))
    if len(found) > MAX_SIGNATURE_HEADERS:
        raise AuthenticationError(f"more than {MAX_SIGNATURE_HEADERS} signature headers")
    return [value for _, value in sorted(found)]


def _as_key_tuple(keys: str | Iterable[str]) -> tuple[str, ...]:
    items = (keys,) if isinstance(keys, str) else tuple(keys)
    for key in items:
        if not isinstance(key, str) or not key:
            raise ConfigurationError("an HMAC key must be a non-empty string")
    return items


@dataclass(frozen=True)
class HmacKeys:
    """The HMAC keys a receiver accepts: a default set and optional sets per account.

    A request naming an account (``X-DocuSign-AccountId``) that has its own set is checked
    against that set only; any other request against the default set. During rotation list
    both the old and the new key.
    """

    default: tuple[str, ...] = ()
    per_account: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        default: str | Iterable[str] = (),
        per_account: Mapping[str, str | Iterable[str]] | None = None,
    ) -> HmacKeys:
        """Validate and normalize keys given as strings or iterables of strings."""
        accounts = {
            account.strip().lower(): _as_key_tuple(keys)
            for account, keys in (per_account or {}).items()
        }
        return cls(default=_as_key_tuple(default), per_account=accounts)

    def __bool__(self) -> bool:
        return bool(self.default) or any(self.per_account.values())

    def for_account(self, account_id: str | None) -> tuple[str, ...]:
        """The keys that may have signed a message for ``account_id``."""
        if account_id:
            keys = self.per_account.get(account_id.strip().lower())
            if keys:
                return keys
        return self.default

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` unless a signature header matches a key."""
        presented = signature_headers(request.headers)
        if not presented:
            raise AuthenticationError("missing X-DocuSign-Signature-1 header")
        keys = self.for_account(request.headers.get(ACCOUNT_HEADER))
        if not keys:
            raise AuthenticationError("no HMAC key is configured for this account")
        candidates = [value.strip().encode("latin-1", "replace") for value in presented]
        # Compute each key's digest once and compare it with every header, without
        # short-circuiting, so timing says nothing about which pair matched.
        matched = False
        for key in keys:
            expected = sign(key, request.body).encode("ascii")
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise AuthenticationError("HMAC signature does not match any configured key")


@dataclass(frozen=True)
class BasicCredentials:
    """The user name and password configured on the Connect configuration."""

    username: str
    password: str

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` unless ``Authorization: Basic`` carries these."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or not token:
            raise AuthenticationError("missing Basic authorization")
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except ValueError as exc:
            raise AuthenticationError("malformed Basic authorization") from exc
        username, _, password = decoded.partition(":")
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        if not (user_ok and password_ok):
            raise AuthenticationError("wrong Basic credentials")


@dataclass(frozen=True)
class BearerAuth:
    """OAuth for Connect: DocuSign sends ``Authorization: Bearer <token>``.

    ``validator`` is the user's check (signature, audience, expiry against their own
    authorization server's keys); it returns ``True`` for a valid token. It must be pure
    and fast: it runs on the request path. For a JWT signed by keys the issuer publishes,
    the built-in :class:`~connect_mw.oauth.ConnectOAuth` does all of this.
    """

    validator: BearerValidator

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` unless the validator accepts the bearer token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("missing Bearer authorization")
        try:
            accepted = self.validator(token.strip())
        except Exception as exc:
            raise AuthenticationError("bearer token rejected by validator") from exc
        if not accepted:
            raise AuthenticationError("bearer token rejected")


@dataclass(frozen=True)
class Authenticator:
    """Every configured mechanism; a request must satisfy all of them."""

    hmac_keys: HmacKeys = field(default_factory=HmacKeys)
    basic: BasicCredentials | None = None
    bearer: RequestVerifier | None = None
    client_certificate: RequestVerifier | None = None

    _mechanisms: tuple[RequestVerifier, ...] = field(init=False, repr=False, compare=False)
    stepped: bool = field(init=False, repr=False, compare=False)
    """Whether a mechanism may need I/O first (then :meth:`steps` must be driven)."""

    def __post_init__(self) -> None:
        if self.basic is not None and self.bearer is not None:
            raise ConfigurationError(
                "Basic and Bearer both use the Authorization header: configure one of them"
            )
        # Cheapest and most telling first; computed once, this runs for every request.
        found = (self.client_certificate, self.hmac_keys or None, self.basic, self.bearer)
        mechanisms = tuple(mechanism for mechanism in found if mechanism is not None)
        object.__setattr__(self, "_mechanisms", mechanisms)
        stepped = any(isinstance(m, SteppedVerifier) for m in mechanisms)
        object.__setattr__(self, "stepped", stepped)

    @property
    def configured(self) -> bool:
        """Whether any authentication mechanism is configured."""
        return bool(self._mechanisms)

    def verify(self, request: Request) -> None:
        """Raise ``AuthenticationError`` unless every configured mechanism accepts (pure)."""
        for mechanism in self._mechanisms:
            mechanism.verify(request)

    def steps(self, request: Request) -> VerifySteps:
        """:meth:`verify` as a pipeline: a mechanism may fetch keys first (OAuth's JWKS)."""
        for mechanism in self._mechanisms:
            if isinstance(mechanism, SteppedVerifier):
                yield from mechanism.verify_steps(request)
            else:
                mechanism.verify(request)
