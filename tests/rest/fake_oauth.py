"""The fake account server's half: checking JWT assertions and issuing tokens.

The checks are the ones DocuSign's JWT Grant makes: an RS256 signature by a key registered
on the integration key, ``iss`` (integration key), ``sub`` (user id), ``aud`` (the account
server's host), ``iat``/``exp`` (not expired, at most an hour), ``scope`` (``signature`` and
``impersonation``), then the user's consent. Failures are OAuth errors
(``{"error": ..., "error_description": ...}``, HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAX_LIFETIME = 3600
CLOCK_SKEW = 60


class OAuthError(Exception):
    """An OAuth error answer."""

    def __init__(self, error: str, description: str | None = None) -> None:
        self.error = error
        self.description = description
        super().__init__(error)

    def body(self) -> dict[str, str]:
        """The JSON body DocuSign answers."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise OAuthError("invalid_request", "malformed assertion") from None


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(part))
    except ValueError:
        raise OAuthError("invalid_request", "malformed assertion") from None
    if not isinstance(value, dict):
        raise OAuthError("invalid_request", "malformed assertion")
    return value


def verify_signature(assertion: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The claims of ``assertion`` once its RS256 signature checks out."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_request", "malformed assertion")
    if _json_part(parts[0]).get("alg") != "RS256":
        raise OAuthError("invalid_grant", "unsupported_algorithm")
    signed = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        public_key.verify(_b64decode(parts[2]), signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise OAuthError("invalid_grant", "no_valid_keys_or_signatures") from None
    return _json_part(parts[1])


@dataclass
class Grant:
    """Who may obtain tokens: one integration key, one user, one registered public key."""

    integration_key: str
    user_id: str
    public_key: rsa.RSAPublicKey
    clock: Callable[[], float]
    consented: bool = True
    token_lifetime: int = 3600
    tokens: dict[str, float] = field(default_factory=dict)
    issued: int = 0

    def check_claims(self, claims: dict[str, Any], audience: str) -> None:
        """Raise the OAuth error DocuSign would answer for these claims."""
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if claims.get("iss") != self.integration_key:
            raise OAuthError("invalid_grant", "issuer_not_found")
        if claims.get("sub") != self.user_id:
            raise OAuthError("invalid_grant", "user_not_found")
        if claims.get("aud") != audience:
            raise OAuthError("invalid_grant", "invalid_audience")
        if not isinstance(iat, int) or not isinstance(exp, int):
            raise OAuthError("invalid_grant", "missing iat or exp")
        if exp <= now:
            raise OAuthError("invalid_grant", "expired")
        if iat > now + CLOCK_SKEW or exp - iat > MAX_LIFETIME:
            raise OAuthError("invalid_grant", "invalid_lifetime")
        scopes = str(claims.get("scope", "")).split()
        if "signature" not in scopes or "impersonation" not in scopes:
            raise OAuthError("invalid_scope", "signature and impersonation are required")

    def grant(self, assertion: str, audience: str) -> dict[str, Any]:
        """A token answer for a valid assertion (consent checked last, as DocuSign does)."""
        self.check_claims(verify_signature(assertion, self.public_key), audience)
        if not self.consented:
            raise OAuthError("consent_required")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.clock() + self.token_lifetime
        self.issued += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}

    def valid(self, authorization: str | None) -> bool:
        """Whether ``Authorization`` carries a token issued here and not expired."""
        scheme, _, token = (authorization or "").partition(" ")
        return scheme == "Bearer" and self.tokens.get(token, 0.0) > self.clock()

    def expire_all(self) -> None:
        """Every token issued so far expires now (DocuSign would answer 401)."""
        for token in self.tokens:
            self.tokens[token] = 0.0
