"""Who may see the dashboard, and CSRF protection for its one form.

Access: with a token, ``Authorization: Bearer <token>`` or ``?token=<token>`` once (answered
with a redirect that drops the token from the address and sets a session cookie); with Basic
credentials, ``Authorization: Basic``. Either configured mechanism is enough. With neither,
the dashboard serves loopback clients only, and never a request that came through a proxy
(``Forwarded`` / ``X-Forwarded-For``): a proxy makes every client look local.

CSRF: a signed double-submit token — the page's form carries the same value as a
``SameSite=Lax`` cookie, and the value is an HMAC of a random nonce under a server secret, so
a cookie planted by a sibling domain does not validate. Cross-site ``Origin`` /
``Sec-Fetch-Site`` headers are refused as well.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE = "connect_mw_dashboard"
CSRF_COOKIE = "connect_mw_csrf"
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or address) is this machine: localhost, 127.0.0.0/8, ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _cookie_path(request: Request) -> str:
    return str(request.scope.get("root_path") or "") or "/"


@dataclass(frozen=True)
class DashboardAuth:
    """The configured credentials; none means loopback clients only."""

    token: str | None = None
    basic: tuple[str, str] | None = None

    @property
    def configured(self) -> bool:
        """Whether a token or Basic credentials are required."""
        return bool(self.token) or self.basic is not None

    def session_value(self) -> str:
        """The session cookie's value: derived from the token, so changing it logs out."""
        assert self.token
        return hmac.new(self.token.encode(), b"connect-mw dashboard", hashlib.sha256).hexdigest()

    def check(self, request: Request) -> Response | None:
        """``None`` when ``request`` may proceed, else the response that refuses it."""
        if not self.configured:
            return self._local_only(request)
        offered = request.query_params.get("token")
        if offered is not None and self.token:
            return self._exchange(request, offered)
        if self._authorized(request):
            return None
        return self._challenge()

    def _local_only(self, request: Request) -> Response | None:
        client = request.client.host if request.client else None
        proxied = any(name in request.headers for name in _PROXY_HEADERS)
        if is_loopback(client) and not proxied:
            return None
        return PlainTextResponse(
            "The dashboard has no token configured, so it only answers on localhost.", 403
        )

    def _authorized(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if self.token:
            if scheme.lower() == "bearer" and _same(credentials.strip(), self.token):
                return True
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie and _same(cookie, self.session_value()):
                return True
        return scheme.lower() == "basic" and self._basic_ok(credentials.strip())

    def _basic_ok(self, credentials: str) -> bool:
        if self.basic is None:
            return False
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return _same(user, self.basic[0]) & _same(password, self.basic[1])

    def _exchange(self, request: Request, offered: str) -> Response:
        assert self.token
        if not _same(offered, self.token):
            return self._challenge()
        url = request.url.remove_query_params("token")
        target = url.path + (f"?{url.query}" if url.query else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            self.session_value(),
            path=_cookie_path(request),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    def _challenge(self) -> Response:
        scheme = 'Basic realm="connect-mw dashboard"' if self.basic else "Bearer"
        return PlainTextResponse(
            "Authentication required: a token (Bearer, or ?token= once) or Basic credentials.",
            401,
            headers={"WWW-Authenticate": scheme},
        )


class AuthGate:
    """Pure ASGI middleware: every HTTP request passes :meth:`DashboardAuth.check` first."""

    def __init__(self, app: ASGIApp, auth: DashboardAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass through."""
        if scope["type"] == "http":
            refusal = self.auth.check(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Csrf:
    """Signed double-submit CSRF tokens under ``secret``."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _signature(self, nonce: str) -> str:
        return hmac.new(self.secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def new_token(self) -> str:
        """A fresh ``nonce.signature``."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._signature(nonce)}"

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` was signed by this secret."""
        nonce, _, signature = (token or "").partition(".")
        return bool(nonce) and _same(signature, self._signature(nonce))

    def token_for(self, request: Request) -> tuple[str, bool]:
        """The request's valid cookie token, or a new one; and whether to set the cookie."""
        current = request.cookies.get(CSRF_COOKIE)
        if self.valid(current):
            assert current is not None
            return current, False
        return self.new_token(), True

    def set_cookie(self, response: Response, request: Request, token: str) -> None:
        """Send ``token`` as the CSRF cookie."""
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path=_cookie_path(request),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def accepts(self, request: Request, submitted: str | None) -> bool:
        """Whether a POST carrying ``submitted`` comes from our own page."""
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin and origin != "null":
            host = request.headers.get("host", "")
            if origin.split("://", 1)[-1] != host:
                return False
        cookie = request.cookies.get(CSRF_COOKIE)
        return (
            bool(submitted and cookie)
            and _same(submitted or "", cookie or "")
            and (self.valid(submitted))
        )
