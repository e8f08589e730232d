"""An authorization server's published signing keys (JWKS), fetched rarely and cached.

:class:`JwksCache` holds the RSA keys of one JWKS URL. Looking a key up is pure; fetching is
:meth:`JwksCache.refresh`, which the receiver runs as a blocking effect outside the pure
steps (see :mod:`connect_mw.oauth`). The keys are fetched when none are held, when they are
older than ``ttl``, or when a token names a key id the cache does not hold (the server
rotated its keys). Fetch attempts are at most one per ``min_interval`` whatever the reason,
so tokens naming made-up key ids cannot make the receiver hammer the server; when a refresh
fails the keys already held stay in use.

The fetcher is injectable: any ``callable(url) -> bytes``. The default,
:func:`fetch_url`, uses the standard library, refuses plain HTTP except to a loopback host,
bounds the time and the size of the answer.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigurationError

log = logging.getLogger("connect_mw")

Fetcher = Callable[[str], bytes]
MAX_JWKS_SIZE = 1024 * 1024
MIN_RSA_BITS = 2048
DEFAULT_TTL = 3600.0
DEFAULT_MIN_INTERVAL = 30.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """``url`` if it is HTTPS (or HTTP to a loopback host); ``ConfigurationError`` if not."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise ConfigurationError(f"a JWKS URL must be https:// (http only to loopback): {url!r}")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL :func:`check_url` accepts (no downgrade to HTTP)."""

    def redirect_request(  # noqa: PLR0917 (urllib's signature)
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects())


def fetch_url(url: str, timeout: float = 5.0) -> bytes:
    """GET ``url`` (standard library): ``timeout`` seconds per socket step, 1 MiB at most."""
    request = urllib.request.Request(check_url(url), headers={"accept": "application/json"})
    with _OPENER.open(request, timeout=timeout) as answer:
        data: bytes = answer.read(MAX_JWKS_SIZE + 1)
    if len(data) > MAX_JWKS_SIZE:
        raise ValueError(f"JWKS larger than {MAX_JWKS_SIZE} bytes")
    return data


def _b64url_int(value: object) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("not a base64url number")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _rsa_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey | None:
    """The RS256 verification key a JWK describes, or ``None`` for any other kind of key."""
    if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
        return None
    if jwk.get("alg", "RS256") != "RS256":
        return None
    key = rsa.RSAPublicNumbers(_b64url_int(jwk.get("e")), _b64url_int(jwk.get("n"))).public_key()
    return key if key.key_size >= MIN_RSA_BITS else None


def parse_jwks(data: bytes) -> dict[str, rsa.RSAPublicKey]:
    """The RS256 keys of a JWKS document by key id (``""`` for a key without one).

    Keys of other types, uses or algorithms, and RSA keys under 2048 bits, are left out;
    ``ValueError`` when the document holds no usable key.
    """
    document = json.loads(data)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS is an object with a 'keys' list")
    keys: dict[str, rsa.RSAPublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid", "")
        try:
            key = _rsa_key(jwk)
        except ValueError:
            continue
        if key is not None and isinstance(kid, str):
            keys[kid] = key
    if not keys:
        raise ValueError("the JWKS holds no RSA signing key of 2048 bits or more")
    return keys


@dataclass
class JwksCache:
    """The keys published at ``url``, refreshed after ``ttl`` seconds or on an unknown key id.

    ``fetch`` gets the document (default :func:`fetch_url`); ``clock`` is a monotonic clock
    in seconds (injectable for tests).
    """

    url: str
    fetch: Fetcher = fetch_url
    ttl: float = DEFAULT_TTL
    min_interval: float = DEFAULT_MIN_INTERVAL
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict, init=False, repr=False)
    _fetched_at: float | None = field(default=None, init=False, repr=False)
    _tried_at: float | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        check_url(self.url)
        if self.ttl <= 0 or self.min_interval < 0:
            raise ConfigurationError("ttl must be positive and min_interval not negative")

    def keys_for(self, kid: str | None) -> list[rsa.RSAPublicKey]:
        """The cached keys a token naming ``kid`` may be signed with (all when it names none)."""
        keys = self._keys
        if kid is None:
            return list(keys.values())
        key = keys.get(kid)
        return [] if key is None else [key]

    def wants_refresh(self, kid: str | None) -> bool:
        """Whether a fetch is due for a token naming ``kid`` (and allowed by the rate limit)."""
        now = self.clock()
        if self._tried_at is not None and now - self._tried_at < self.min_interval:
            return False
        if self._fetched_at is None or now - self._fetched_at >= self.ttl:
            return True
        return kid is not None and kid not in self._keys

    def refresh(self, kid: str | None = None) -> None:
        """Fetch the keys if still due (one caller fetches, concurrent ones wait and reuse)."""
        with self._lock:
            if not self.wants_refresh(kid):
                return
            self._tried_at = self.clock()
            try:
                keys = parse_jwks(self.fetch(self.url))
            except Exception as exc:
                log.warning(
                    "could not fetch the OAuth signing keys from %s (%s: %s); %s",
                    self.url,
                    type(exc).__name__,
                    exc,
                    "keeping the keys held" if self._keys else "no key is held",
                )
                raise
            self._keys = keys
            self._fetched_at = self.clock()
