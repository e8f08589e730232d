"""The applications the benchmark serves, built from ``$CONNECT_MW_BENCH`` (JSON).

``{"app": "bare"}`` is the bare app alone; ``{"app": "floor"}`` the least a receiver
must do, without connect-mw (:class:`FloorApp`); ``{"app": "handwritten", "path": ...}``
the same with one SQLite insert (:class:`HandWrittenApp`); ``{"app": "middleware", "store":
...}`` wraps it in the Connect middleware (no in-process worker: the rows measure receiving,
and processing runs elsewhere in production with ``connect-mw worker``). ``store`` is ``memory``,
``sqlite`` (with ``"path"`` and ``"durable"``) or any store URI.

uvicorn: ``uvicorn --factory apps:asgi_app``; gunicorn: ``gunicorn 'apps:wsgi_app()'``.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import defusedxml.ElementTree as DefusedET
from bodies import KEY

from connect_mw import Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.stores import SQLiteStore, Store, open_store

_OK = b'{"status":"ok"}'
_ASGI_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"15")]
_WSGI_HEADERS = [("Content-Type", "application/json"), ("Content-Length", "15")]


async def bare_asgi(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI app: reads the whole body, answers a small JSON 200."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _ASGI_HEADERS})
    await send({"type": "http.response.body", "body": _OK})


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The bare WSGI app: reads the whole body, answers a small JSON 200."""
    stream = environ["wsgi.input"]
    while stream.read(64 * 1024):
        pass
    start_response("200 OK", _WSGI_HEADERS)
    return [_OK]


class _MinimalReceiver(abc.ABC):
    """What a team writes by hand instead of connect-mw: the peers the Connect rows face.

    Reads the body, checks ``X-DocuSign-Signature-1`` (HMAC-SHA256, constant-time), parses
    it once (``json.loads``, or ``defusedxml`` for XML), hands the body to :meth:`keep`,
    answers 200. No validation beyond the parse, no state, no idempotency beyond a hash key.
    """

    def __init__(self) -> None:
        self.key = KEY.encode()

    @abc.abstractmethod
    def keep(self, digest: bytes, body: bytes) -> None:
        """Store the body under its hash."""

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        """Answer every HTTP request as a delivery (lifespan like the bare app)."""
        if scope["type"] == "lifespan":
            await bare_asgi(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        signature = dict(scope["headers"]).get(b"x-docusign-signature-1", b"")
        digest = hmac.new(self.key, body, hashlib.sha256).digest()
        ok = hmac.compare_digest(base64.b64encode(digest), signature)
        if ok:
            json.loads(body) if body[:1] == b"{" else DefusedET.fromstring(body)
            self.keep(hashlib.sha256(body).digest(), body)
        status, answer = (200, _OK) if ok else (401, b'{"status":"no"}')
        headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


class FloorApp(_MinimalReceiver):
    """The floor row: the minimal receiver with a free insert (a dict), so that no storage
    cost hides in it — what any Python receiver pays at least."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[bytes, bytes] = {}

    def keep(self, digest: bytes, body: bytes) -> None:
        """Keep the body in memory."""
        self.kept[digest] = body


class HandWrittenApp(_MinimalReceiver):
    """The hand-written receiver the issue compares with: the minimal receiver plus one
    SQLite insert per request (WAL, ``synchronous=NORMAL``: no fsync before the answer),
    committed on the event loop's thread, as twenty lines of FastAPI would do it."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS events (key BLOB PRIMARY KEY, body BLOB)")

    def keep(self, digest: bytes, body: bytes) -> None:
        """Insert the body (a duplicate is ignored), committed at once."""
        self.db.execute("INSERT OR IGNORE INTO events VALUES (?, ?)", (digest, body))


def _config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(os.environ.get("CONNECT_MW_BENCH", '{"app": "bare"}'))
    return config


def _store(config: dict[str, Any]) -> Store:
    name = config.get("store", "memory")
    if name == "memory":
        return open_store("memory://")
    if name == "sqlite":
        return SQLiteStore(config["path"], durable=config.get("durable", True))
    return open_store(name)


def _receiver(config: dict[str, Any]) -> Receiver:
    logging.getLogger("connect_mw").setLevel(logging.WARNING)
    return Receiver(hmac_keys=KEY, store=_store(config))


def asgi_app() -> Any:
    """The ASGI app ``$CONNECT_MW_BENCH`` names."""
    config = _config()
    if config["app"] == "bare":
        return bare_asgi
    if config["app"] == "floor":
        return FloorApp()
    if config["app"] == "handwritten":
        return HandWrittenApp(config["path"])
    return ConnectASGIMiddleware(bare_asgi, receiver=_receiver(config), run_worker=False)


def wsgi_app() -> Any:
    """The WSGI app ``$CONNECT_MW_BENCH`` names."""
    config = _config()
    if config["app"] == "bare":
        return bare_wsgi
    return ConnectWSGIMiddleware(bare_wsgi, receiver=_receiver(config), run_worker=False)
