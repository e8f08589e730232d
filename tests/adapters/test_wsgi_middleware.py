"""The pure WSGI middleware, driven by werkzeug's test client and raw environs."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from werkzeug.test import Client, EnvironBuilder

from connect_mw import MemoryStore, Receiver
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from support.deliveries import KEY, PATH, signed_headers, sim_body


def echo_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response("299 Echo", [("content-type", "application/octet-stream")])
    return [b"echo:" + body]


def middleware(**options: Any) -> ConnectWSGIMiddleware:
    options.setdefault("hmac_keys", KEY)
    options.setdefault("store", MemoryStore())
    return ConnectWSGIMiddleware(echo_app, **options)


def test_connect_path_is_answered_and_stored() -> None:
    app = middleware()
    body = sim_body(status="completed")
    response = Client(app).post(PATH, data=body, headers=signed_headers(body))
    assert response.status_code == 200
    assert response.json is not None and response.json["status"] == "accepted"
    assert app.receiver.store.list_envelopes()[0].status == "completed"


def test_duplicate_is_200_and_stored_once() -> None:
    app = middleware()
    client = Client(app)
    for retry in range(3):
        body = sim_body(retry_count=retry)
        assert client.post(PATH, data=body, headers=signed_headers(body)).status_code == 200
    assert len(app.receiver.store.list_events("e8b18544-c605-4499-abcf-52209a7f4438")) == 1


def test_other_paths_reach_the_app_with_their_body_untouched() -> None:
    body = b"\x00raw \xff" * 500
    response = Client(middleware()).post("/upload", data=body, content_type="x/y")
    assert response.status_code == 299
    assert response.data == b"echo:" + body


def test_wrong_signature_method_and_type() -> None:
    client = Client(middleware())
    body = sim_body()
    assert client.post(PATH, data=body, headers=signed_headers(body, key="x")).status_code == 401
    assert client.get(PATH).status_code == 405
    plain = signed_headers(body, content_type="text/plain")
    assert client.post(PATH, data=body, headers=plain).status_code == 415


def test_declared_oversized_body_is_413() -> None:
    body = sim_body()
    response = Client(middleware(max_body_size=10)).post(
        PATH, data=body, headers=signed_headers(body)
    )
    assert response.status_code == 413


def call(app: ConnectWSGIMiddleware, environ: dict[str, Any]) -> str:
    statuses: list[str] = []
    b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[0]


def test_chunked_body_over_the_limit_is_413_while_streaming() -> None:
    app = middleware(max_body_size=1000)
    environ = EnvironBuilder(
        path=PATH, method="POST", content_type="application/json"
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(b"x" * 1_000_000)
    environ["wsgi.input_terminated"] = True
    assert call(app, environ).startswith("413")
    assert environ["wsgi.input"].tell() < 200_000


def test_truncated_body_is_400() -> None:
    body = sim_body()
    environ = EnvironBuilder(
        path=PATH, method="POST", headers=list(signed_headers(body).items())
    ).get_environ()
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body[:10])
    assert call(middleware(), environ).startswith("400")


def test_standalone_app_answers_404_elsewhere() -> None:
    app = ConnectWSGIMiddleware(receiver=Receiver(hmac_keys=KEY, store=MemoryStore()))
    assert Client(app).get("/").status_code == 404
