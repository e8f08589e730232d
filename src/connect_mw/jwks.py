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
bounds each socket step, the whole fetch (15 s) and the size of the answer (1 MiB).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import logging
import math
import socket
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
#: The most one JWKS fetch may take in all, however the server answers.
DEFAULT_DEADLINE = 15.0


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


class _Deadline:
    """One fetch's total time bound: when it passes, every socket of the fetch is shut down.

    The per-step socket timeout alone lets a server that drips its answer (a byte every few
    seconds) hold a fetch for hours; shutting the sockets down wakes any blocked read.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.passed = False
        self._watched: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._watched:
                sock.close()
            self._watched.clear()

    def remaining(self) -> float:
        """Seconds left (at least a millisecond: a socket timeout of 0 means non-blocking)."""
        return max(0.001, self.expires - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock``'s connection down when the deadline passes.

        A duplicate is kept, so a TLS wrapper taking the socket over changes nothing.
        """
        with self._lock:
            self._watched.append(sock.dup())
            if self.passed:
                self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            self._shutdown()

    def _shutdown(self) -> None:
        for sock in self._watched:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def check(self) -> None:
        """``TimeoutError`` once the deadline has passed."""
        if self.passed or time.monotonic() >= self.expires:
            raise TimeoutError(f"JWKS fetch exceeded its deadline of {self.seconds:g} s")


def _watched(base: type[http.client.HTTPConnection], deadline: _Deadline, step: float) -> Any:
    """``base`` whose sockets ``deadline`` watches, each step timing out by the deadline."""

    def create_connection(*args: Any, **kwargs: Any) -> socket.socket:
        sock = socket.create_connection(*args, **kwargs)
        deadline.watch(sock)
        return sock

    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            self.timeout = min(step, deadline.remaining())
            # http.client's hook for making the socket (before any TLS handshake)
            self._create_connection = create_connection
            super().connect()

    return Watched


def _opener(deadline: _Deadline, step: float) -> urllib.request.OpenerDirector:
    """An opener for one fetch: checked redirects, every connection under ``deadline``."""

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_watched(http.client.HTTPConnection, deadline, step), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_watched(http.client.HTTPSConnection, deadline, step), req)

    return urllib.request.build_opener(_CheckedRedirects(), HTTP(), HTTPS())


def fetch_url(url: str, timeout: float = 5.0, deadline: float = DEFAULT_DEADLINE) -> bytes:
    """GET ``url`` (standard library): 1 MiB at most, ``deadline`` seconds in all.

    ``timeout`` bounds each socket step; ``deadline`` the whole fetch (connecting, redirects,
    headers and body): a server dripping its answer is cut off with ``TimeoutError``.
    """
    request = urllib.request.Request(check_url(url), headers={"accept": "application/json"})
    chunks: list[bytes] = []
    size = 0
    with _Deadline(deadline) as bound:
        try:
            with _opener(bound, timeout).open(request, timeout=timeout) as answer:
                while size <= MAX_JWKS_SIZE:
                    chunk = answer.read1(65536)
                    bound.check()
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except (OSError, http.client.HTTPException):
            bound.check()  # the deadline shut the socket down: say so
            raise
        bound.check()
    if size > MAX_JWKS_SIZE:
        raise ValueError(f"JWKS larger than {MAX_JWKS_SIZE} bytes")
    return b"".join(chunks)


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
        # NaN would pass plain comparisons and switch the refresh or the rate limit off.
        if not (math.isfinite(self.ttl) and self.ttl > 0):
            raise ConfigurationError("ttl must be a positive, finite number of seconds")
        if not (math.isfinite(self.min_interval) and self.min_interval >= 0):
            raise ConfigurationError("min_interval must be a finite number of seconds >= 0")

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
