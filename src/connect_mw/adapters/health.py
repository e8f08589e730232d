"""``GET /healthz`` and ``GET /readyz`` for any ASGI or WSGI app (see :mod:`connect_mw.health`).

Wrap your app (or the Connect middleware) and the two paths are answered here; everything
else, lifespan included, goes to the wrapped app untouched::

    app = HealthASGIMiddleware(ConnectASGIMiddleware(app, receiver=receiver), receiver.store)
    app = HealthWSGIMiddleware(ConnectWSGIMiddleware(app, receiver=receiver), receiver.store)

Without an app each is a standalone app answering 404 elsewhere (mount it at the root of a
router). Neither needs an optional package.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from ..health import DEFAULT_READY_TIMEOUT, HEALTHZ, READYZ, HealthCheck
from ..http import Response
from ..stores.api import Store
from .asgi import send_response
from .asgi_types import ASGIApp, Receive, Scope, Send

_NOT_FOUND = Response(404, (("content-type", "application/json"),), b'{"error":"not found"}')


class HealthASGIMiddleware:
    """ASGI middleware (or app, when ``app`` is ``None``) answering the health paths.

    ``store`` is the receiver's store; ``timeout`` bounds the readiness check (seconds);
    ``healthz`` and ``readyz`` are the paths (default ``/healthz``, ``/readyz``).
    """

    def __init__(
        self,
        app: ASGIApp | None,
        store: Store,
        *,
        timeout: float = DEFAULT_READY_TIMEOUT,
        healthz: str = HEALTHZ,
        readyz: str = READYZ,
    ) -> None:
        self.app = app
        self.health = HealthCheck(store, timeout, healthz=healthz, readyz=readyz)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the health paths; pass everything else on."""
        if scope["type"] == "http" and self.health.owns(scope["path"]):
            response = await self.health.aanswer(scope["method"], scope["path"])
            await send_response(response, scope, receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await send_response(_NOT_FOUND, scope, receive, send)


class HealthWSGIMiddleware:
    """WSGI middleware (or app, when ``app`` is ``None``) answering the health paths."""

    def __init__(
        self,
        app: Any | None,
        store: Store,
        *,
        timeout: float = DEFAULT_READY_TIMEOUT,
        healthz: str = HEALTHZ,
        readyz: str = READYZ,
    ) -> None:
        self.app = app
        self.health = HealthCheck(store, timeout, healthz=healthz, readyz=readyz)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Answer the health paths; pass everything else on (its body unread)."""
        path = environ.get("PATH_INFO", "") or "/"
        if self.health.owns(path):
            response = self.health.answer(environ.get("REQUEST_METHOD", "GET"), path)
        elif self.app is not None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        else:
            response = _NOT_FOUND
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        headers = [*response.headers, ("content-length", str(len(response.body)))]
        start_response(status, headers)
        return [response.body]
