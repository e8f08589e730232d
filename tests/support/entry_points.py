"""Every way of mounting a receiver, as in-process clients for the behaviour suites.

Each factory builds a fresh receiver (inline mode, memory store, body limit ``limit``)
mounted in one framework — pure ASGI, pure WSGI, Starlette (middleware and route), FastAPI
(middleware and route), Flask, Django under WSGI and under ASGI — with a wrapped app whose
``POST /echo`` reads its own body, and returns a :class:`Client`. To add an entry point,
write one factory and append it to ``ENTRY_POINTS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import anyio
import httpx
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from werkzeug.test import Client as WerkzeugClient

from connect_mw import MemoryStore, Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.flask import Connect
from connect_mw.adapters.starlette import connect_route
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from support.deliveries import KEY

LIMIT = 32 * 1024
Reply = tuple[int, Any]  # (status, the JSON answer, or the raw bytes of any other answer)


class Client(Protocol):
    """What the suite needs from an entry point."""

    receiver: Receiver

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...


def decode(content_type: str | None, content: bytes) -> Any:
    if (content_type or "").startswith("application/json"):
        return json.loads(content)
    return content


class ASGIClient:
    """Drives an ASGI app in process with httpx."""

    def __init__(self, app: ASGIApp, receiver: Receiver) -> None:
        self.app = app
        self.receiver = receiver

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        return anyio.run(self._request, method, path, body, dict(headers))

    async def _request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            reply = await client.request(method, path, content=body, headers=headers)
        return reply.status_code, decode(reply.headers.get("content-type"), reply.content)

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        return self.request("POST", path, body, headers)


class WSGIClient:
    """Drives a WSGI app in process with werkzeug's test client."""

    def __init__(self, app: Any, receiver: Receiver) -> None:
        self.client = WerkzeugClient(app)
        self.receiver = receiver

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        reply = self.client.open(path, method=method, data=body, headers=dict(headers))
        return reply.status_code, decode(reply.headers.get("content-type"), reply.data)

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        return self.request("POST", path, body, headers)


def new_receiver(limit: int = LIMIT) -> Receiver:
    return Receiver(hmac_keys=KEY, store=MemoryStore(), max_body_size=limit, mode="inline")


# The wrapped apps: each answers POST /echo with b"echo:" + the body it read itself.


async def asgi_echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"echo:" + body})


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("content-type", "application/octet-stream")])
    return [b"echo:" + body]


async def starlette_echo(request: StarletteRequest) -> StarletteResponse:
    return StarletteResponse(b"echo:" + await request.body())


def starlette_app(*routes: BaseRoute, **options: Any) -> Starlette:
    echo = Route("/echo", starlette_echo, methods=["POST"])
    return Starlette(routes=[*routes, echo], **options)


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: FastAPIRequest) -> StarletteResponse:
        return StarletteResponse(b"echo:" + await request.body())

    return app


# The entry points ---------------------------------------------------------------------


def pure_asgi(limit: int = LIMIT) -> Client:
    receiver = new_receiver(limit)
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def pure_wsgi(limit: int = LIMIT) -> Client:
    receiver = new_receiver(limit)
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


def starlette_middleware(limit: int = LIMIT) -> Client:
    receiver = new_receiver(limit)
    app = starlette_app(middleware=[Middleware(ConnectASGIMiddleware, receiver=receiver)])
    return ASGIClient(app, receiver)


def starlette_route(limit: int = LIMIT) -> Client:
    receiver = new_receiver(limit)
    app = starlette_app(connect_route(receiver))
    return ASGIClient(app, receiver)


def fastapi_middleware(limit: int = LIMIT) -> Client:
    receiver = new_receiver(limit)
    app = fastapi_app()
    app.add_middleware(ConnectASGIMiddleware, receiver=receiver)
    return ASGIClient(app, receiver)


def fastapi_route(limit: int = LIMIT) -> Client:
    receiver = new_receiver(limit)
    app = fastapi_app()
    app.router.routes.append(connect_route(receiver))
    return ASGIClient(app, receiver)


def flask_extension(limit: int = LIMIT) -> Client:
    app = Flask(__name__)
    app.config.update(
        DOCUSIGN_CONNECT_HMAC_KEYS=KEY,
        DOCUSIGN_CONNECT_STORE="memory://",
        DOCUSIGN_CONNECT_MAX_BODY_SIZE=limit,
        DOCUSIGN_CONNECT_MODE="inline",
    )
    connect = Connect(app)

    @app.post("/echo")
    def echo() -> bytes:
        return b"echo:" + flask_request.get_data()

    return WSGIClient(app, connect.receiver)


def _django_handler(kind: str, limit: int) -> tuple[Any, Receiver]:
    """A Django handler whose middleware serves a fresh in-memory receiver.

    The project's runtime is built under overridden ``CONNECT_MW`` settings and then forgotten,
    so Django's own tests keep their configuration; the handler keeps its receiver.
    """
    from support import django_settings

    django_settings.setup()
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from connect_mw.adapters.django.runtime import get_runtime, reset_runtime

    config = {"HMAC_KEYS": [KEY], "MODE": "inline", "STORE": "memory://", "MAX_BODY_SIZE": limit}
    with override_settings(CONNECT_MW=config):
        reset_runtime()
        handler = ASGIHandler() if kind == "asgi" else WSGIHandler()
        receiver = get_runtime().receiver
    reset_runtime()
    return handler, receiver


def django_wsgi(limit: int = LIMIT) -> Client:
    handler, receiver = _django_handler("wsgi", limit)
    return WSGIClient(handler, receiver)


def django_asgi(limit: int = LIMIT) -> Client:
    handler, receiver = _django_handler("asgi", limit)
    return ASGIClient(handler, receiver)


ENTRY_POINTS: list[Callable[..., Client]] = [
    pure_asgi,
    pure_wsgi,
    starlette_middleware,
    starlette_route,
    fastapi_middleware,
    fastapi_route,
    flask_extension,
    django_wsgi,
    django_asgi,
]
