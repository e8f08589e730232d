"""OAuth for Connect: the bearer JWT DocuSign sends, checked against the issuer's keys.

When a Connect configuration uses OAuth (``includeOAuth``), DocuSign gets an access token
from the customer's authorization server (client credentials) and sends it as
``Authorization: Bearer <token>``. :class:`ConnectOAuth` accepts the request only when the
token is a compact JWS signed with RS256 by a key the issuer publishes (its JWKS), its
``iss`` is the configured issuer, its ``aud`` names a configured audience, and the time is
within ``nbf``/``exp`` (``leeway`` seconds of clock skew allowed either way).

Sans-I/O: decoding and every check are pure. Fetching the JWKS is the one I/O, and it runs as
a :class:`~connect_mw.effects.Blocking` effect of the receiver's pipeline (in a worker thread
under ASGI) only when :class:`~connect_mw.jwks.JwksCache` says a fetch is due. The pure
:meth:`ConnectOAuth.verify` uses the cached keys only.

Every refusal is an ``AuthenticationError`` (401, logged by the receiver) whose reason says
what failed and never quotes the token or its claims.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from .effects import Blocking, Steps
from .errors import AuthenticationError, ConfigurationError
from .http import Request
from .jwks import DEFAULT_MIN_INTERVAL, DEFAULT_TTL, Fetcher, JwksCache, fetch_url

MAX_TOKEN_LENGTH = 16_384
DEFAULT_LEEWAY = 60.0
_PART = re.compile(r"[A-Za-z0-9_-]+")


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>``; ``AuthenticationError`` if absent."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("missing Bearer authorization")
    return token.strip()


def _refuse(reason: str) -> AuthenticationError:
    return AuthenticationError(f"bearer token refused: {reason}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _b64url(part: str) -> bytes:
    """Decode one part in its canonical spelling only: a token has exactly one accepted form.

    (The last character of base64 may carry unused low bits; other spellings are refused.)
    """
    data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != part:
        raise ValueError("not canonical base64url")
    return data


def _json_part(part: str) -> dict[str, Any]:
    try:
        raw = _b64url(part)
        value = json.loads(raw, object_pairs_hook=_no_duplicates)
    except (ValueError, binascii.Error, RecursionError):
        raise _refuse("malformed (not a JWT)") from None
    if not isinstance(value, dict):
        raise _refuse("malformed (not a JWT)")
    return value


@dataclass(frozen=True)
class Jwt:
    """A decoded, not yet verified, compact JWS."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str | None:
        """The key id the header names, if it names one."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @classmethod
    def decode(cls, token: str) -> Jwt:
        """Split and decode ``token``; refuse anything but an RS256 compact JWS."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise _refuse("too long")
        parts = token.split(".")
        if len(parts) != 3 or not all(_PART.fullmatch(p) for p in parts):
            raise _refuse("malformed (not a JWT)")
        header, claims = _json_part(parts[0]), _json_part(parts[1])
        if header.get("alg") != "RS256":
            raise _refuse("algorithm is not RS256")
        if "crit" in header:
            raise _refuse("critical header extensions are not supported")
        try:
            signature = _b64url(parts[2])
        except (ValueError, binascii.Error):
            raise _refuse("malformed (not a JWT)") from None
        return cls(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def _number(claims: dict[str, Any], name: str) -> float | None:
    """The time claim ``name`` as seconds; refused unless it is a finite number.

    NaN and 1e400 would compare as "never expires" and a 400-digit integer overflows a float,
    so they are refused too.
    """
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _refuse(f"'{name}' is not a number")
    try:
        seconds = float(value)
    except OverflowError:
        raise _refuse(f"'{name}' is not a finite number") from None
    if not math.isfinite(seconds):
        raise _refuse(f"'{name}' is not a finite number")
    return seconds


@dataclass(frozen=True)
class ConnectOAuth:
    """Validates DocuSign's OAuth-for-Connect bearer token; build it with :meth:`build`."""

    issuer: str
    audiences: frozenset[str]
    keys: JwksCache
    leeway: float = DEFAULT_LEEWAY
    clock: Callable[[], float] = time.time

    @classmethod
    def build(
        cls,
        *,
        issuer: str,
        audience: str | Iterable[str],
        jwks_url: str,
        fetch: Fetcher = fetch_url,
        ttl: float = DEFAULT_TTL,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        leeway: float = DEFAULT_LEEWAY,
    ) -> ConnectOAuth:
        """The validator for tokens of ``issuer`` meant for ``audience`` (one or several).

        ``jwks_url`` is where the issuer publishes its keys (the ``jwks_uri`` of its OpenID
        configuration); ``fetch`` replaces the HTTP client; ``ttl`` is how long fetched keys
        are trusted before a refresh, ``min_interval`` the least time between two fetches;
        ``leeway`` the clock skew tolerated on ``exp``/``nbf``/``iat``.
        """
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not issuer or not audiences or not all(audiences):
            raise ConfigurationError("OAuth for Connect needs an issuer and an audience")
        if not 0 <= leeway <= 600:
            raise ConfigurationError("leeway must be between 0 and 600 seconds")
        cache = JwksCache(jwks_url, fetch, ttl=ttl, min_interval=min_interval)
        return cls(issuer, audiences, cache, leeway)

    def verify(self, request: Request) -> None:
        """Check the token with the keys already cached (pure; no fetch)."""
        self._check_signature(self._checked(request))

    def verify_steps(self, request: Request) -> Steps[None]:
        """Check the token, fetching the issuer's keys first when a fetch is due."""
        token = self._checked(request)
        if self.keys.wants_refresh(token.kid):
            # A failed fetch is logged by the cache; the keys held (if any) still decide.
            with contextlib.suppress(Exception):
                yield Blocking(partial(self.keys.refresh, token.kid))
        self._check_signature(token)

    def _checked(self, request: Request) -> Jwt:
        token = Jwt.decode(bearer_token(request))
        self._check_claims(token.claims)
        return token

    def _check_claims(self, claims: dict[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise _refuse("issuer is not the configured one")
        audience = claims.get("aud")
        named = [audience] if isinstance(audience, str) else audience
        if not isinstance(named, list) or not any(
            isinstance(a, str) and a in self.audiences for a in named
        ):
            raise _refuse("audience is not a configured one")
        now = self.clock()
        expires, not_before, issued = (_number(claims, n) for n in ("exp", "nbf", "iat"))
        if expires is None:
            raise _refuse("no expiry ('exp')")
        if now > expires + self.leeway:
            raise _refuse("expired")
        if not_before is not None and now < not_before - self.leeway:
            raise _refuse("not valid yet ('nbf')")
        if issued is not None and issued > now + self.leeway:
            raise _refuse("issued in the future ('iat')")

    def _check_signature(self, token: Jwt) -> None:
        candidates = self.keys.keys_for(token.kid)
        if not candidates:
            raise _refuse("signed with a key the issuer does not publish (or keys unavailable)")
        for key in candidates:
            try:
                key.verify(
                    token.signature, token.signing_input, padding.PKCS1v15(), hashes.SHA256()
                )
            except InvalidSignature:
                continue
            return
        raise _refuse("signature does not verify")
