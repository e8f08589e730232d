"""The JWT assertion of DocuSign's OAuth JWT Grant, signed RS256 with ``cryptography``.

The claims are the ones DocuSign documents: ``iss`` (integration key), ``sub`` (the user to
impersonate), ``aud`` (the account server's host, no scheme), ``iat``/``exp`` (epoch
seconds) and ``scope`` (``signature impersonation``). Pure: no I/O, the time is passed in.
"""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import ConfigurationError
from .settings import DocuSignSettings

_HEADER = {"alg": "RS256", "typ": "JWT"}


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs write every part."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The RSA private key in ``pem`` (PKCS#1 or PKCS#8, unencrypted).

    Raises ``ConfigurationError`` without echoing any of the key's text.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(
            "DocuSign settings: private_key is not an unencrypted PEM private key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("DocuSign settings: private_key must be an RSA key")
    return key


def claims(settings: DocuSignSettings, now: float) -> dict[str, object]:
    """The claims of an assertion issued at ``now`` (epoch seconds)."""
    issued = int(now)
    return {
        "iss": settings.integration_key,
        "sub": settings.user_id,
        "aud": settings.audience,
        "iat": issued,
        "exp": issued + settings.token_lifetime,
        "scope": settings.scopes,
    }


def sign(payload: dict[str, object], key: rsa.RSAPrivateKey) -> str:
    """``payload`` as a compact JWS signed with RS256 (RSASSA-PKCS1-v1_5 over SHA-256)."""
    header = b64url(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{b64url(signature)}"


def assertion(settings: DocuSignSettings, key: rsa.RSAPrivateKey, now: float) -> str:
    """The signed assertion to exchange at ``/oauth/token``."""
    return sign(claims(settings, now), key)
