"""A stand-in OAuth authorization server: RSA keys made here, a JWKS served over loopback HTTP.

:class:`Issuer` signs tokens the way an authorization server signs DocuSign's OAuth-for-
Connect access tokens (RS256 compact JWS with a ``kid``) and publishes its public keys at
``jwks_url`` from a real HTTP server on 127.0.0.1, counting the fetches.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://login.example.test/tenant/v2.0"
AUDIENCE = "api://connect-listener"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def jwk(kid: str, key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": _int(numbers.n),
            "e": _int(numbers.e)}  # fmt: skip


def compact(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """``claims`` signed RS256 by ``key`` under ``header`` (whatever ``header`` says)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


class Issuer:
    """Signing keys by kid, the published subset, and the HTTP server that publishes it."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[dict[str, Any]] = []
        self.fetches = 0
        self.up = True
        self.url = ""

    def add_key(self, kid: str, publish: bool = True) -> rsa.RSAPrivateKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = key
        if publish:
            self.published.append(jwk(kid, key))
        return key

    def rotate_to(self, kid: str) -> None:
        """Publish only ``kid`` (a new key) from now on."""
        key = self.add_key(kid, publish=False)
        self.published = [jwk(kid, key)]

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "docusign-connect",
                                  "iat": now, "nbf": now, "exp": now + 600}  # fmt: skip
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return compact({"alg": "RS256", "typ": "JWT", "kid": kid}, claims, self.keys[kid])

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.fetches += 1
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("location", "http://keys.example.invalid/jwks.json")
                self.end_headers()
                return
            if not issuer.up or self.path != "/.well-known/jwks.json":
                self.send_error(503 if not issuer.up else 404)
                return
            body = json.dumps({"keys": issuer.published}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(issuer: Issuer) -> Iterator[Issuer]:
    """Serve ``issuer``'s JWKS on a free loopback port while inside the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
