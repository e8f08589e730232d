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
or from the body Django's ASGI handler has already spooled. Under ASGI, wrap the application
in :class:`ConnectDjangoASGI` (``asgi.py``) so Connect requests are answered before Django
reads their body: refused on their declared length, read with the limit and the timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import (
    ThreadSensitiveContext,
    iscoroutinefunction,
    markcoroutinefunction,
    sync_to_async,
)
from django.core.handlers.asgi import get_script_prefix
from django.core.signals import request_finished, request_started
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from ...errors import ConnectError
from ...http import Request, Response, lower_headers
from ...receiver import Receiver
from ..asgi import answer, send_response
from ..asgi_types import Receive, Scope, Send
from ..wsgi import read_stream, read_wsgi_body
from .runtime import get_receiver, get_runtime

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

    WSGI: read from ``wsgi.input`` ourselves, as the WSGI middleware does (chunked bodies
    too; the server's read errors are a 400). ASGI: from the copy Django's handler has
    already spooled (:class:`ConnectDjangoASGI` answers before that copy is made).
    """
    if "wsgi.input" in request.META:
        return read_wsgi_body(request.META, receiver)
    return read_stream(request, receiver)


class ConnectDjangoASGI:
    """Django's ASGI application, with the Connect path answered before Django reads a body.

    Django's ASGI handler reads every request body to its end (spooled to a temporary file)
    before any middleware runs, so :class:`ConnectDjangoMiddleware` alone cannot refuse a
    declared ``Content-Length`` over ``MAX_BODY_SIZE`` before the body arrives, nor end a
    stalled one. Wrap the application in ``asgi.py``::

        application = ConnectDjangoASGI(get_asgi_application())

    Connect requests (``CONNECT_MW["PATH"]`` against the path after the script prefix) are
    then answered here as :class:`~connect_mw.adapters.asgi.ConnectASGIMiddleware` answers
    them: 413 on the declared length before reading, the body read in memory with the size
    limit and ``READ_TIMEOUT``. The store runs as Django runs a sync view under ASGI (in the
    request's own thread, between ``request_started`` and ``request_finished``, which close
    stale connections). Every other request, websocket and lifespan event goes to Django
    untouched. Keep the middleware in ``MIDDLEWARE`` as well: it answers under WSGI
    (``runserver``, gunicorn) and, without this wrapper, under ASGI.
    """

    def __init__(self, application: Callable[..., Awaitable[None]]) -> None:
        # Any ASGI callable: django-stubs types ``ASGIHandler`` with narrower mappings.
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the Connect path; hand everything else to Django."""
        if scope["type"] != "http" or not self._owns(scope):
            await self.application(scope, receive, send)
            return
        runtime = get_runtime()
        if runtime.worker_thread is not None:
            runtime.worker_thread.ensure_started()
        async with ThreadSensitiveContext():
            await _send_signal(request_started, sender=type(self), scope=scope)
            try:
                response = await answer(runtime.receiver, scope, receive)
            finally:
                await _send_signal(request_finished, sender=type(self))
        await send_response(response, scope, receive, send)

    @staticmethod
    def _owns(scope: Scope) -> bool:
        """Whether ``scope`` is for the Connect path (Django's ``path_info``)."""
        path: str = scope["path"]
        prefix = get_script_prefix(scope)
        if prefix:
            path = path.removeprefix(prefix)
        return get_receiver().owns(path)


async def _send_signal(signal: Signal, **kwargs: Any) -> None:
    """Send a request signal as Django's ASGI handler does: its receivers are sync code."""
    await sync_to_async(signal.send, thread_sensitive=True)(**kwargs)


def to_django(response: Response) -> HttpResponse:
    """The core's response as a Django ``HttpResponse``."""
    return HttpResponse(response.body, status=response.status, headers=dict(response.headers))
