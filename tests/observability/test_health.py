"""``/healthz`` and ``/readyz`` through ASGI, WSGI and ``connect-mw serve``."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import httpx
import pytest
from werkzeug.test import Client

from connect_mw import Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.health import HealthASGIMiddleware, HealthWSGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.health import PROBE_ENVELOPE, HealthCheck
from connect_mw.stores import MemoryStore, Snapshot
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until
from support.serving import serving

SECRET = "S3cretDbPassword"


class HangingStore(MemoryStore):
    """Answers everything but the readiness question until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.answered = threading.Event()

    def load(self, envelope_id: str) -> Snapshot | None:
        if envelope_id == PROBE_ENVELOPE:
            self.release.wait(30)
            self.answered.set()
        return super().load(envelope_id)


class BrokenStore(MemoryStore):
    def load(self, envelope_id: str) -> Snapshot | None:
        raise ConnectionError(f"cannot reach postgresql://app:{SECRET}@db/events")


def _asgi(store: MemoryStore) -> HealthASGIMiddleware:
    receiver = Receiver(hmac_keys=KEY, store=store)
    inner = ConnectASGIMiddleware(receiver=receiver, run_worker=False)
    return HealthASGIMiddleware(inner, store, timeout=0.2)


def _asgi_get(app: HealthASGIMiddleware, *paths: str, method: str = "GET") -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.request(method, path) for path in paths]

    return anyio.run(main)


def test_asgi_live_and_ready() -> None:
    app = _asgi(MemoryStore())
    live, ready, other = _asgi_get(app, "/healthz", "/readyz", "/elsewhere")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert other.status_code == 404  # passed on to the Connect middleware (no app: 404)
    assert live.headers["cache-control"] == "no-store"


def test_asgi_passes_connect_requests_through() -> None:
    app = _asgi(MemoryStore())
    body = sim_body(status="completed")

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(PATH, content=body, headers=signed_headers(body))

    assert anyio.run(main).status_code == 200


def test_asgi_readyz_503_on_a_store_that_hangs() -> None:
    store = HangingStore()
    app = _asgi(store)
    first, second, live = _asgi_get(app, "/readyz", "/readyz", "/healthz")
    assert first.status_code == 503
    assert first.json() == {
        "status": "unavailable",
        "reason": "the store did not answer within 0.2 s",
    }
    # while the first check still waits, the next answers at once: probes never pile up
    assert second.status_code == 503
    assert second.json()["reason"] == "the store has not answered a previous check"
    assert live.status_code == 200  # liveness does not ask the store
    store.release.set()
    wait_until(store.answered.is_set, what="the hung check to finish")
    wait_until(lambda: _asgi_get(app, "/readyz")[0].status_code == 200, what="ready again")


def test_asgi_readyz_names_only_the_error_type() -> None:
    (ready,) = _asgi_get(_asgi(BrokenStore()), "/readyz")
    assert ready.status_code == 503
    assert ready.json()["reason"] == "the store failed: ConnectionError"
    assert SECRET not in ready.text


def test_only_get_and_head() -> None:
    app = _asgi(MemoryStore())
    (posted,) = _asgi_get(app, "/healthz", method="POST")
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    (head,) = _asgi_get(app, "/readyz", method="HEAD")
    assert head.status_code == 200 and head.content == b""


def _wsgi(store: MemoryStore) -> Client:
    receiver = Receiver(hmac_keys=KEY, store=store)
    inner = ConnectWSGIMiddleware(receiver=receiver, run_worker=False)
    return Client(HealthWSGIMiddleware(inner, store, timeout=0.2))


def test_wsgi_live_and_ready() -> None:
    client = _wsgi(MemoryStore())
    live, ready = client.get("/healthz"), client.get("/readyz")
    assert (live.status_code, live.json) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json) == (200, {"status": "ready"})
    body = sim_body(status="completed")
    assert client.post(PATH, data=body, headers=signed_headers(body)).status_code == 200


def test_wsgi_readyz_503_on_a_store_that_hangs() -> None:
    store = HangingStore()
    client = _wsgi(store)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json is not None and "did not answer within 0.2 s" in ready.json["reason"]
    assert client.get("/readyz").json == {
        "status": "unavailable",
        "reason": "the store has not answered a previous check",
    }
    store.release.set()
    wait_until(store.answered.is_set, what="the hung check to finish")
    wait_until(lambda: client.get("/readyz").status_code == 200, what="ready again")


def test_wsgi_broken_store() -> None:
    ready = _wsgi(BrokenStore()).get("/readyz")
    assert ready.status_code == 503 and SECRET not in ready.text


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_timeout_must_be_positive(timeout: float) -> None:
    # NaN passed "timeout <= 0" and then failed every check as "the store failed: ValueError"
    with pytest.raises(ValueError, match="positive"):
        HealthCheck(MemoryStore(), timeout)


def test_serve_answers_health_and_no_health_turns_it_off(tmp_path: Path) -> None:
    store = ["--hmac-key", KEY, "--store", f"sqlite:///{tmp_path / 'events.sqlite3'}"]
    with serving(store, tmp_path, {}) as server:
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(server.url + "/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        body = sim_body(status="completed")
        posted = httpx.post(server.url + PATH, content=body, headers=signed_headers(body))
        assert posted.status_code == 200
    with serving([*store, "--no-health"], tmp_path, {}) as server:
        assert httpx.get(server.url + "/healthz").status_code == 404


def test_asgi_readyz_recovers_after_a_check_that_never_got_a_thread() -> None:
    # Every worker thread busy (sync stores under load): the check times out waiting for
    # one, so the probe never runs; the next check must not stay "not answered" forever.
    check = HealthCheck(MemoryStore(), 0.2)

    async def main() -> tuple[int, int]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        tokens, limiter.total_tokens = limiter.total_tokens, 1
        holder = object()
        try:
            await limiter.acquire_on_behalf_of(holder)
            starved = await check.aanswer("GET", "/readyz")
            limiter.release_on_behalf_of(holder)
            after = await check.aanswer("GET", "/readyz")
        finally:
            limiter.total_tokens = tokens
        return starved.status, after.status

    assert anyio.run(main) == (503, 200)
