"""``/healthz`` and ``/readyz`` views under WSGI and ASGI Django."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from support import django_settings

django_settings.setup()

from django.test import AsyncClient, Client  # noqa: E402

from connect_mw.adapters.django import get_receiver  # noqa: E402
from support.polling import wait_until  # noqa: E402


def test_live_and_ready_under_wsgi() -> None:
    client = Client()
    live, ready = client.get("/healthz"), client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert ready["content-type"] == "application/json"
    assert client.post("/healthz").status_code == 405


def test_live_and_ready_under_asgi() -> None:
    async def main() -> list[Any]:
        client = AsyncClient()
        return [await client.get("/healthz"), await client.get("/ops/readyz")]

    live, ready = anyio.run(main)
    assert live.status_code == 200 and ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_readyz_503_when_the_store_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    store = get_receiver().store
    release, answered = threading.Event(), threading.Event()
    real_load = store.load

    def hanging(envelope_id: str) -> Any:
        release.wait(30)
        answered.set()
        return real_load(envelope_id)

    monkeypatch.setattr(store, "load", hanging)
    client = Client()
    ready = client.get("/ops/readyz")  # bounded by 0.2 s
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "reason": "the store did not answer within 0.2 s",
    }
    assert client.get("/healthz").status_code == 200
    release.set()
    wait_until(answered.is_set, what="the hung check to finish")
    monkeypatch.undo()
    wait_until(lambda: client.get("/ops/readyz").status_code == 200, what="ready again")
