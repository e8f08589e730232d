"""Starlette and FastAPI: the pure ASGI middleware, or a route for the Connect endpoint.

As middleware (every other path reaches the app untouched, body included)::

    app = Starlette(routes=..., middleware=[Middleware(ConnectASGIMiddleware, receiver=receiver)])
    app.add_middleware(ConnectASGIMiddleware, receiver=receiver)  # FastAPI / Starlette

As a route (at the receiver's path, after the prefix of any enclosing ``Mount``)::

    app = Starlette(routes=[connect_route(receiver), ...])
    app.router.routes.append(connect_route(receiver))  # FastAPI
    app.add_route(receiver.path, ConnectEndpoint(receiver))

Both read the body with the receiver's size limit and read timeout and answer through the
core (:meth:`~connect_mw.Receiver.ahandle`, whose store calls run in a worker thread).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..receiver import Receiver
from ..worker import WorkerThread
from .asgi import ConnectASGIMiddleware, answer, send_response

__all__ = ["ConnectASGIMiddleware", "ConnectEndpoint", "connect_route"]


class ConnectEndpoint:
    """An ASGI endpoint that answers every HTTP request routed to it as a Connect delivery.

    Give a ready ``receiver``, or the :class:`~connect_mw.Receiver` keyword options. Every
    method reaches it, so a ``GET`` gets the core's 405 (with ``Allow: POST``). A route gets
    no lifespan: in deferred mode the in-process worker is a thread started by the first
    request, as under WSGI (``run_worker=False``: separate ``connect-mw worker`` processes,
    or a ``ConnectASGIMiddleware`` on the same receiver, do the processing).
    """

    def __init__(
        self,
        receiver: Receiver | None = None,
        *,
        run_worker: bool | None = None,
        worker_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if receiver is not None and options:
            raise TypeError("pass either receiver= or Receiver options, not both")
        self.receiver = receiver if receiver is not None else Receiver(**options)
        self.worker_thread: WorkerThread | None = None
        if self.receiver.wants_worker(run_worker):
            self.worker_thread = WorkerThread(self.receiver.worker(**(worker_options or {})))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one routed HTTP request."""
        if self.worker_thread is not None:
            self.worker_thread.ensure_started()
        response = await answer(self.receiver, scope, receive)
        await send_response(response, scope, receive, send)


def connect_route(
    receiver: Receiver | None = None, *, name: str = "docusign_connect", **options: Any
) -> Route:
    """A Starlette ``Route`` at the receiver's path, served by a :class:`ConnectEndpoint`.

    ``options`` go to :class:`ConnectEndpoint`. The route matches its path exactly:
    Starlette's router redirects a trailing slash (307, method and body kept).
    """
    endpoint = ConnectEndpoint(receiver, **options)
    return Route(endpoint.receiver.path, endpoint, name=name)
