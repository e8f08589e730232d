"""Pure WSGI middleware, on werkzeug's request and response primitives.

Wrap any WSGI app: requests to the Connect path are answered here, every other request goes
to the wrapped app untouched (its ``wsgi.input`` is never read)::

    app = ConnectWSGIMiddleware(app, receiver=receiver)

Without an app it is a standalone WSGI application that answers 404 elsewhere. In deferred
mode an in-process worker thread starts with the first request (so it lives in the right
process after a pre-forking server forks) and stops at interpreter exit.

The body is read from ``wsgi.input`` by :func:`read_wsgi_body`: a body of exactly
``max_body_size`` bytes is accepted, one byte more is a 413, and whatever the server raises
while reading (a malformed chunked body under gunicorn) is a 400, never a 500. A blocking
``read()`` cannot be interrupted from inside WSGI: the read timeout is checked between
chunks, so a stalled body must be ended in front of the app server (see
``docs/frameworks/wsgi.md``).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from typing import Any, Protocol

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse
from werkzeug.wsgi import get_content_length

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
        if self.receiver.wants_worker(run_worker):
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
            body = read_wsgi_body(environ, self.receiver)
        except ConnectError as error:
            return self.receiver.reject(error, line)
        return self.receiver.handle(
            Request(request.method, request.path, headers, body), prechecked=True
        )


class Readable(Protocol):
    """A blocking byte stream: ``wsgi.input``, a Django request."""

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""


def read_wsgi_body(environ: dict[str, Any], receiver: Receiver) -> bytes:
    """The body of a WSGI request, read from ``wsgi.input`` within the receiver's limits.

    With a ``Content-Length``, exactly that many bytes are asked for (never more, as PEP 3333
    requires); a stream that ends sooner is a 400. Without one (a chunked body) the stream
    is read to its end only where the server ends it (``wsgi.input_terminated``: gunicorn,
    werkzeug's server; one byte past ``max_body_size`` is a 413), else the body is empty:
    reading on could block forever. A declared length over the limit was refused by
    :meth:`~connect_mw.Receiver.precheck` before this is called. Shared by the WSGI
    middleware and the Django adapter under WSGI.
    """
    length = get_content_length(environ)  # None for chunked bodies
    if length is None and not environ.get("wsgi.input_terminated"):
        return b""
    return read_stream(environ["wsgi.input"], receiver, length)


def read_stream(stream: Readable, receiver: Receiver, length: int | None = None) -> bytes:
    """Read ``length`` bytes (or to the end) of a blocking stream, within the receiver's limits.

    413 past ``max_body_size`` (one byte past it tells a body of exactly the limit from a
    longer one), 408 past ``read_timeout`` (checked between chunks: a blocking ``read`` cannot
    be interrupted), 400 when the stream ends before ``length`` or the server fails to read
    it (a malformed chunked body, a reset connection). The body is never held twice: a
    one-chunk body is returned as read, longer ones are written into a ``BytesIO`` whose
    buffer becomes the result.
    """
    limit = receiver.max_body_size
    wanted = limit + 1 if length is None else min(length, limit + 1)
    deadline = time.monotonic() + receiver.read_timeout
    body = _Body()
    while body.size < wanted:
        chunk = _read(stream, min(_CHUNK, wanted - body.size))
        if not chunk:
            break
        body.add(chunk)
        if body.size > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        if time.monotonic() > deadline:
            raise RequestTimeout()
    if length is not None and body.size < length:
        raise ConnectError("body ended before Content-Length was reached")
    return body.value()


def _read(stream: Readable, size: int) -> bytes:
    """One ``read``, whatever the server's stream raises turned into the request's answer.

    A server reports a body it cannot read by raising from ``read``, each its own way
    (gunicorn's ``InvalidChunkSize`` and ``NoMoreData``, werkzeug's ``ClientDisconnected``,
    Django's ``UnreadablePostError``, ``OSError``): all of them are the body's fault, a 400
    (408 for a socket timeout, 413 for werkzeug's size limit), never a 500.
    """
    try:
        return stream.read(size)
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge() from exc
    except TimeoutError as exc:  # socket.timeout: the server's own read timeout
        raise RequestTimeout() from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise ConnectError(f"the body could not be read ({type(exc).__name__})") from exc


class _Body:
    """Chunks gathered into one ``bytes``: the first chunk alone, or a ``BytesIO``'s buffer."""

    def __init__(self) -> None:
        self.first = b""
        self.buffer: io.BytesIO | None = None
        self.size = 0

    def add(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        self.size += len(chunk)
        if not self.first:
            self.first = chunk
            return
        if self.buffer is None:
            self.buffer = io.BytesIO()
            self.buffer.write(self.first)
        self.buffer.write(chunk)

    def value(self) -> bytes:
        """Everything appended, as one ``bytes`` (no copy of a ``BytesIO``'s buffer)."""
        return self.first if self.buffer is None else self.buffer.getvalue()
