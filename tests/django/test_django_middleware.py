"""``ConnectDjangoMiddleware`` under WSGI and ASGI Django: answers, limits, CSRF, pass-through."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from support import django_settings

django_settings.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.test.client import RequestFactory  # noqa: E402

from connect_mw.adapters.django import get_receiver  # noqa: E402
from connect_mw.adapters.django.models import Envelope, Event  # noqa: E402
from support.deliveries import KEY, PATH, sim_body  # noqa: E402
from support.django_settings import DATA_UPLOAD_MAX_MEMORY_SIZE, client_headers  # noqa: E402

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"


@pytest.fixture(autouse=True)
def empty_tables() -> Iterator[None]:
    django_settings.reset_tables()
    yield


def post(client: Client, body: bytes, path: str = PATH, **extra: str) -> Any:
    content_type, headers = client_headers(body, **extra)
    return client.post(path, data=body, content_type=content_type, headers=headers)


def padded_body(size: int) -> bytes:
    message = json.loads(sim_body(status="completed"))
    message["padding"] = "x" * size
    return json.dumps(message).encode()


def test_signed_notification_is_stored_in_django_models() -> None:
    response = post(Client(), sim_body(status="completed"))
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert response["content-type"] == "application/json"
    assert Envelope.objects.get(pk=ENVELOPE).status == "completed"
    assert Event.objects.get().processing == "processed"  # MODE inline in the test settings


def test_asgi_django_answers_and_deduplicates() -> None:
    body = sim_body(status="sent")

    async def scenario() -> list[Any]:
        client = AsyncClient()
        content_type, headers = client_headers(body)
        return [
            await client.post(PATH, data=body, content_type=content_type, headers=headers)
            for _ in range(2)
        ]

    first, again = anyio.run(scenario)
    assert [first.json()["status"], again.json()["status"]] == ["accepted", "duplicate"]
    assert Event.objects.count() == 1


def test_connect_path_needs_no_csrf_token_other_paths_still_do() -> None:
    client = Client(enforce_csrf_checks=True)
    assert post(client, sim_body()).status_code == 200
    assert client.post("/protected", data=b"x", content_type="text/plain").status_code == 403


def test_django_upload_cap_is_replaced_by_max_body_size_on_the_connect_path_only() -> None:
    big = padded_body(DATA_UPLOAD_MAX_MEMORY_SIZE * 2)
    client = Client()
    assert post(client, big).status_code == 200
    assert Event.objects.get().raw_size == len(big)
    assert client.post("/echo", data=big, content_type="text/plain").status_code == 400
    small = b"\x00raw \xff" * 100
    echoed = client.post("/echo", data=small, content_type="application/x-raw")
    assert echoed.content == b"echo:" + small


def test_max_body_size_is_enforced_sync_and_async() -> None:
    body = padded_body(5000)
    with override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "MAX_BODY_SIZE": 1000}):
        assert post(Client(), body).status_code == 413

        async def scenario() -> int:
            content_type, headers = client_headers(body)
            client = AsyncClient()
            response = await client.post(PATH, body, content_type=content_type, headers=headers)
            return int(response.status_code)

        assert anyio.run(scenario) == 413
    assert not Event.objects.exists()


def test_rejections_come_from_the_core() -> None:
    client = Client()
    assert post(client, sim_body(), key="wrong").status_code == 401
    refused = client.get(PATH)
    assert (refused.status_code, refused["allow"]) == (405, "POST")
    assert client.post(PATH, data=b"{}", content_type="text/plain").status_code == 415
    assert post(client, sim_body(), path=PATH + "/").status_code == 200
    assert Event.objects.count() == 1


class _Slow(io.RawIOBase):
    """A request body arriving in small pieces, a little late each time."""

    def __init__(self, pieces: int) -> None:
        self.pieces = pieces

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pieces:
            return 0
        self.pieces -= 1
        time.sleep(0.02)
        buffer[:1] = b" "
        return 1


def wsgi_call(environ: dict[str, Any]) -> str:
    statuses: list[str] = []
    handler = WSGIHandler()
    b"".join(handler(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[0]


def raw_environ(stream: Any, **meta: Any) -> dict[str, Any]:
    environ: dict[str, Any] = RequestFactory().post(PATH, content_type="application/json").environ
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True, **meta})
    return environ


def test_chunked_body_over_the_limit_is_413_while_streaming() -> None:
    stream = io.BytesIO(b"x" * 1_000_000)
    with override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "MAX_BODY_SIZE": 1000}):
        assert wsgi_call(raw_environ(stream)).startswith("413")
    assert stream.tell() < 200_000


def test_slow_body_is_408() -> None:
    with override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "READ_TIMEOUT": 0.05}):
        assert wsgi_call(raw_environ(io.BufferedReader(_Slow(20), 1))).startswith("408")


def test_truncated_body_is_400() -> None:
    body = sim_body()
    environ = raw_environ(io.BytesIO(body[:10]), CONTENT_LENGTH=str(len(body)))
    del environ["wsgi.input_terminated"]
    assert wsgi_call(environ).startswith("400")


def test_store_uri_replaces_the_django_store() -> None:
    with override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "STORE": "memory://"}):
        assert post(Client(), sim_body(status="sent")).status_code == 200
        assert get_receiver().store.get_envelope(ENVELOPE) is not None
    assert not Event.objects.exists()
