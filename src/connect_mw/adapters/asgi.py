"""Pure ASGI middleware, on Starlette's request and response primitives.

Wrap any ASGI app: requests to the Connect path are answered here, every other request
(and every non-HTTP scope) goes to the wrapped app untouched, body included::

    app = ConnectASGIMiddleware(app, receiver=receiver)

Without an app it is a standalone ASGI application that answers 404 elsewhere. The lifespan
scope runs the in-process worker (see :mod:`connect_mw.adapters.lifespan`).
"""

from __future__ import annotations

import io
from typing import Any, overload

from ..errors import ConnectError, PayloadTooLarge, RequestTimeout
from ..http import Request, Response, lower_headers
from ..receiver import Receiver
from ..worker import Worker
from .asgi_types import ASGIApp, ClientDisconnect, Receive, Scope, Send
from .deadline import within
from .lifespan import Lifespan


class ConnectASGIMiddleware:
    """ASGI middleware (or app, when ``app`` is ``None``) serving a Connect endpoint.

    Give a ready ``receiver``, or the :class:`~connect_mw.Receiver` keyword options. In
    deferred mode (the default) an in-process :class:`~connect_mw.worker.Worker` runs on the
    event loop for the app's lifetime (ASGI lifespan); ``run_worker=False`` leaves
    processing to separate ``connect-mw worker`` processes. ``worker_options`` go to the
    worker (``concurrency``, ``poll_interval``).
    """

    # The first overload lets mypy accept Starlette's ``Middleware(ConnectASGIMiddleware,
    # receiver=...)`` and ``app.add_middleware``: it cannot match their factory protocol
    # against a signature with ``**options``.
    @overload
    def __init__(
        self,
        app: ASGIApp | None = None,
        *,
        receiver: Receiver,
        run_worker: bool | None = None,
        worker_options: dict[str, Any] | None = None,
        shutdown_timeout: float = 30.0,
    ) -> None: ...
    @overload
    def __init__(self, app: ASGIApp | None = None, **options: Any) -> None: ...
    def __init__(
        self,
        app: ASGIApp | None = None,
        *,
        receiver: Receiver | None = None,
        run_worker: bool | None = None,
        worker_options: dict[str, Any] | None = None,
        shutdown_timeout: float = 30.0,
        **options: Any,
    ) -> None:
        if receiver is not None and options:
            raise TypeError("pass either receiver= or Receiver options, not both")
        self.app = app
        self.receiver = receiver if receiver is not None else Receiver(**options)
        self.shutdown_timeout = shutdown_timeout
        self.worker: Worker | None = None
        if self.receiver.wants_worker(run_worker):
            self.worker = self.receiver.worker(**(worker_options or {}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the Connect path; pass everything else to the wrapped app."""
        if scope["type"] == "http" and self.receiver.owns(scope["path"]):
            response = await answer(self.receiver, scope, receive)
            await send_response(response, scope, receive, send)
        elif scope["type"] == "lifespan":
            lifespan = Lifespan(
                self.app, self.worker, self.receiver.store.close, self.shutdown_timeout
            )
            await lifespan(scope, receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await send_response(Response(404, body=b'{"error":"not found"}'), scope, receive, send)


async def answer(receiver: Receiver, scope: Scope, receive: Receive) -> Response:
    """Read one HTTP request's body (size limit, read timeout) and answer it through the core.

    Shared by every ASGI entry point (this middleware, the Starlette route endpoint).
    """
    method: str = scope["method"]
    headers = lower_headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
    line = Request(method, scope["path"], headers)
    try:
        receiver.precheck(method, headers)
        body = await _read_body(receiver, receive)
    except ConnectError as error:
        return receiver.reject(error, line)
    except ClientDisconnect:
        return receiver.reject(ConnectError("client disconnected mid-body"), line)
    request = Request(method, scope["path"], headers, body)
    return await receiver.ahandle(request, prechecked=True)


async def _read_body(receiver: Receiver, receive: Receive) -> bytes:
    """The whole body within the receiver's read timeout (408 after it)."""
    try:
        return await within(receiver.read_timeout, _collect(receive, receiver.max_body_size))
    except TimeoutError as exc:
        raise RequestTimeout() from exc


async def _collect(receive: Receive, limit: int) -> bytes:
    """The whole body, never held twice; 413 as soon as it passes ``limit`` bytes.

    An exception the server's ``receive`` raises (an ``OSError``, its own protocol error) is
    a 400 (a ``TimeoutError``: 408), never a 500, as under WSGI; cancellation (the read
    timeout) is not an ``Exception`` and goes through.

    A one-message body is returned as received; longer ones are written into a ``BytesIO``
    whose buffer becomes the result (no list of chunks to join).
    """
    first = b""
    buffer: io.BytesIO | None = None
    size = 0
    more = True
    while more:
        try:
            message = await receive()
        except (MemoryError, TimeoutError):  # a server's socket timeout: 408
            raise
        except Exception as exc:  # a server raising instead of sending http.disconnect
            raise ConnectError(f"the body could not be read ({type(exc).__name__})") from exc
        if message["type"] != "http.request":
            raise ClientDisconnect()
        more = message.get("more_body", False)
        chunk: bytes = message.get("body", b"")
        if not chunk:
            continue
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        if not first:
            first = chunk
            continue
        if buffer is None:
            buffer = io.BytesIO()
            buffer.write(first)
        buffer.write(chunk)
    return first if buffer is None else buffer.getvalue()


async def send_response(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send the core's ``response`` as an ASGI HTTP response (with its ``Content-Length``)."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
    ]
    headers.append((b"content-length", str(len(response.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
