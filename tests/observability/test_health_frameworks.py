"""The health middlewares mounted as docs/observability.md says, in Starlette, FastAPI, Flask."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette

from connect_mw import Receiver
from connect_mw.adapters.flask import Connect
from connect_mw.adapters.health import HealthASGIMiddleware, HealthWSGIMiddleware
from connect_mw.adapters.starlette import ConnectASGIMiddleware
from support.deliveries import KEY, PATH, signed_headers, sim_body


@pytest.mark.parametrize("framework", [Starlette, FastAPI])
def test_add_middleware(framework: Any) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    app = framework()
    app.add_middleware(ConnectASGIMiddleware, receiver=receiver)
    app.add_middleware(HealthASGIMiddleware, store=receiver.store)
    body = sim_body(status="completed")

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get("/healthz"),
                await client.get("/readyz"),
                await client.post(PATH, content=body, headers=signed_headers(body)),
            ]

    live, ready, posted = anyio.run(main)
    assert live.json() == {"status": "ok"}
    assert ready.json() == {"status": "ready"}
    assert posted.status_code == 200


def test_flask_wsgi_app() -> None:
    app = Flask(__name__)
    app.config["DOCUSIGN_CONNECT_HMAC_KEYS"] = KEY
    app.config["DOCUSIGN_CONNECT_STORE"] = "memory://"
    connect = Connect(app)
    app.wsgi_app = HealthWSGIMiddleware(app.wsgi_app, connect.receiver.store)  # type: ignore[method-assign]
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}
    body = sim_body(status="completed")
    assert client.post(PATH, data=body, headers=signed_headers(body)).status_code == 200
