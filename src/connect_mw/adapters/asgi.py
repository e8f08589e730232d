"""Pure ASGI middleware, on Starlette's request and response primitives.

Wrap any ASGI app: requests to the Connect path are answered here, every other request
(and every non-HTTP scope) goes to the wrapped app untouched, body included::

    app = ConnectMiddleware(app, receiver=receiver)

Without an app it is a standalone ASGI application that answers 404 elsewhere.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import ClientDisconnect
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConnectError, PayloadTooLarge, RequestTimeout
from ..http import Request, Response, lower_headers
from ..receiver import Receiver


class ConnectMiddleware:
    """ASGI middleware (or app, when ``app`` is ``None``) serving a Connect endpoint.

    Give a ready ``receiver``, or the :class:`~connect_mw.Receiver` keyword options.
    """

    def __init__(
        self, app: ASGIApp | None = None, *, receiver: Receiver | None = None, **options: Any
    ) -> None:
        if receiver is not None and options:
            raise TypeError("pass either receiver= or Receiver options, not both")
        self.app = app
        self.receiver = receiver if receiver is not None else Receiver(**options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the Connect path; pass everything else to the wrapped app."""
        if scope["type"] == "http" and self.receiver.owns(scope["path"]):
            response = await self._answer(scope, receive)
            await _send(response, scope, receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await _send(Response(404, body=b'{"error":"not found"}'), scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        request = StarletteRequest(scope, receive)
        headers = lower_headers(request.headers.items())
        line = Request(request.method, scope["path"], headers)
        try:
            self.receiver.precheck(request.method, headers)
            body = await self._read_body(request)
        except ConnectError as error:
            return self.receiver.reject(error, line)
        except ClientDisconnect:
            return self.receiver.reject(ConnectError("client disconnected mid-body"), line)
        return await self.receiver.ahandle(Request(request.method, scope["path"], headers, body))

    async def _read_body(self, request: StarletteRequest) -> bytes:
        limit = self.receiver.max_body_size
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.receiver.read_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"body larger than {limit} bytes")
                    chunks.append(chunk)
        except TimeoutError as exc:
            raise RequestTimeout() from exc
        return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.receiver.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _send(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    reply = StarletteResponse(response.body, status_code=response.status)
    for name, value in response.headers:
        reply.headers[name] = value
    await reply(scope, receive, send)
