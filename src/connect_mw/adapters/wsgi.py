"""Pure WSGI middleware, on werkzeug's request and response primitives.

Wrap any WSGI app: requests to the Connect path are answered here, every other request goes
to the wrapped app untouched (its ``wsgi.input`` is never read)::

    app = ConnectWSGIMiddleware(app, receiver=receiver)

Without an app it is a standalone WSGI application that answers 404 elsewhere. In deferred
mode an in-process worker thread starts with the first request (so it lives in the right
process after a pre-forking server forks) and stops at interpreter exit.

A blocking ``read()`` cannot be interrupted from inside WSGI: the read timeout is checked
between chunks, and the server's own socket timeout (``gunicorn --timeout``) bounds a
stalled read.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from typing import Any, Protocol

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse
from werkzeug.wsgi import get_input_stream

from ..errors import ConnectError, PayloadTooLarge, RequestTimeout
from ..http import Request, Response, lower_headers
from ..receiver import Receiver
from ..worker import WorkerThread

WSGIApp = Any  # a WSGI callable; typeshed's protocol is not importable at runtime
_CHUNK = 64 * 1024


class ConnectWSGIMiddleware:
    """WSGI middleware (or app, when ``app`` is ``None``) serving a Connect endpoint."""

    def __init__(
        self,
        app: WSGIApp | None = None,
        *,
        receiver: Receiver | None = None,
        run_worker: bool | None = None,
        worker_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if receiver is not None and options:
            raise TypeError("pass either receiver= or Receiver options, not both")
        self.app = app
        self.receiver = receiver if receiver is not None else Receiver(**options)
        self.worker_thread: WorkerThread | None = None
        if run_worker if run_worker is not None else self.receiver.mode == "deferred":
            self.worker_thread = WorkerThread(self.receiver.worker(**(worker_options or {})))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Answer the Connect path; pass everything else to the wrapped app."""
        if self.worker_thread is not None:
            self.worker_thread.ensure_started()  # after a fork (gunicorn), in the child
        path = environ.get("PATH_INFO", "") or "/"
        if self.receiver.owns(path):
            response = self._answer(environ)
        elif self.app is not None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        else:
            response = Response(404, body=b'{"error":"not found"}')
        reply = WerkzeugResponse(response.body, status=response.status)
        for name, value in response.headers:
            reply.headers[name] = value
        return reply(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> Response:
        request = WerkzeugRequest(environ, shallow=True)
        headers = lower_headers(request.headers.items())
        line = Request(request.method, request.path, headers)
        try:
            self.receiver.precheck(request.method, headers)
            body = self._read_body(environ)
        except ConnectError as error:
            return self.receiver.reject(error, line)
        return self.receiver.handle(
            Request(request.method, request.path, headers, body), prechecked=True
        )

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        limit = self.receiver.max_body_size
        try:
            stream: Readable = get_input_stream(environ, max_content_length=limit)
        except RequestEntityTooLarge as exc:
            raise PayloadTooLarge(f"body larger than {limit} bytes") from exc
        return read_stream(stream, self.receiver)


class Readable(Protocol):
    """A blocking byte stream: ``wsgi.input``, werkzeug's ``LimitedStream``, a Django request."""

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""


def read_stream(stream: Readable, receiver: Receiver) -> bytes:
    """Read a blocking stream to its end with the receiver's size limit and read timeout.

    The body is never held twice: a one-chunk body is returned as read; longer ones are
    written into a ``BytesIO`` whose buffer becomes the result. Shared by the WSGI middleware
    and the Django adapter.
    """
    limit = receiver.max_body_size
    deadline = time.monotonic() + receiver.read_timeout
    first = b""
    buffer: io.BytesIO | None = None
    size = 0
    try:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body larger than {limit} bytes")
            if not first:
                first = chunk
            elif buffer is None:
                buffer = io.BytesIO()
                buffer.write(first)
                buffer.write(chunk)
            else:
                buffer.write(chunk)
            if time.monotonic() > deadline:
                raise RequestTimeout()
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"body larger than {limit} bytes") from exc
    except ClientDisconnected as exc:
        raise ConnectError("body ended before Content-Length was reached") from exc
    return first if buffer is None else buffer.getvalue()
