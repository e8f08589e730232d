"""``ConnectDjangoMiddleware``: answers the Connect path before the view layer, sync or async.

Put it first in ``MIDDLEWARE`` (after ``SecurityMiddleware``)::

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "connect_mw.adapters.django.ConnectDjangoMiddleware",
        ...
    ]

Requests to ``CONNECT_MW["PATH"]`` (matched against ``request.path_info``) are answered here
and never reach a view: CSRF checks (``process_view``) and ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(``request.body``) do not apply to them; ``MAX_BODY_SIZE`` does. Every other request goes on
untouched. The body is read from ``wsgi.input`` with the size limit and read timeout (WSGI),
or from the body Django's ASGI handler has already spooled (ASGI, where the server and
Django have already waited for it: put a body limit and timeout in the proxy in front).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from ...errors import ConnectError, PayloadTooLarge
from ...http import Request, Response, lower_headers
from ...receiver import Receiver
from ..wsgi import Readable, read_stream
from .runtime import get_runtime

SyncGetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class ConnectDjangoMiddleware:
    """Django middleware serving the project's receiver (see :func:`get_receiver`)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: SyncGetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        runtime = get_runtime()
        self.receiver = runtime.receiver
        self.worker_thread = runtime.worker_thread
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        """Answer the Connect path; hand every other request to the next layer."""
        if self.is_async:
            return self.__acall__(request)
        if self.worker_thread is not None:
            self.worker_thread.ensure_started()  # in the serving process, after any fork
        if not self.receiver.owns(request.path_info):
            return cast(SyncGetResponse, self.get_response)(request)
        return self.answer(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async twin: the receiver and the store run as Django runs sync views."""
        if self.worker_thread is not None:
            self.worker_thread.ensure_started()
        if not self.receiver.owns(request.path_info):
            return await cast(AsyncGetResponse, self.get_response)(request)
        return await sync_to_async(self.answer, thread_sensitive=True)(request)

    def answer(self, request: HttpRequest) -> HttpResponse:
        """Read the body (limits) and answer through ``Receiver.handle``."""
        headers = lower_headers(request.headers.items())
        line = Request(request.method or "GET", request.path_info, headers)
        try:
            self.receiver.precheck(line.method, headers)
            body = read_body(request, self.receiver)
        except ConnectError as error:
            return to_django(self.receiver.reject(error, line))
        delivery = Request(line.method, line.path, headers, body)
        return to_django(self.receiver.handle(delivery, prechecked=True))


def read_body(request: HttpRequest, receiver: Receiver) -> bytes:
    """The raw body, refused past ``max_body_size`` or ``read_timeout``.

    WSGI: read from ``wsgi.input`` ourselves (chunked bodies too); ASGI: from the copy
    Django's handler has already spooled.
    """
    if "wsgi.input" not in request.META:
        return read_stream(request, receiver)
    limit = receiver.max_body_size
    try:
        stream: Readable = get_input_stream(request.META, max_content_length=limit)
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"body larger than {limit} bytes") from exc
    return read_stream(stream, receiver)


def to_django(response: Response) -> HttpResponse:
    """The core's response as a Django ``HttpResponse``."""
    return HttpResponse(response.body, status=response.status, headers=dict(response.headers))
