"""The examples work as their docstrings say: a signed completion reaches the callback."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import anyio
import httpx
import pytest
from werkzeug.test import Client

from connect_mw.cli import build_parser
from connect_mw.cli.simulate import build_messages
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


def load_example(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("CONNECT_MW_HMAC_KEYS", KEY)
    monkeypatch.setenv("CONNECT_MW_STORE", f"sqlite:///{tmp_path / 'events.sqlite3'}")
    monkeypatch.setenv("COMPLETED_LOG", str(tmp_path / "completed.log"))
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def test_asgi_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = load_example("asgi_app", tmp_path, monkeypatch)
    body = sim_body(status="completed")

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=example.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            hooked = await client.post(PATH, content=body, headers=signed_headers(body))
            other = await client.get("/")
            return hooked, other

    hooked, other = anyio.run(scenario)
    assert hooked.status_code == 200
    assert other.text == "hello from the wrapped app\n"
    # httpx's transport runs no lifespan, so no in-process worker: run one batch by hand.
    assert example.receiver.worker().run_once() == 1
    log = (tmp_path / "completed.log").read_text()
    assert log == "e8b18544-c605-4499-abcf-52209a7f4438 completed (Please sign)\n"


def test_wsgi_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = load_example("wsgi_app", tmp_path, monkeypatch)
    body = sim_body(status="completed")
    client = Client(example.app)
    assert client.post(PATH, data=body, headers=signed_headers(body)).status_code == 200
    assert client.get("/").data == b"hello from the wrapped app\n"
    completed = tmp_path / "completed.log"
    wait_until(
        lambda: completed.exists() and completed.read_text().endswith("\n"),
        what="the in-process worker thread to run the callback",
    )
    example.app.worker_thread.stop()
    log = completed.read_text()
    assert log == "e8b18544-c605-4499-abcf-52209a7f4438 completed (Please sign)\n"


def test_the_default_simulation_shows_subjects_in_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``connect-mw simulate``'s default messages carry the summary: never ``completed (None)``."""
    example = load_example("asgi_app", tmp_path, monkeypatch)
    args = build_parser().parse_args(["simulate", "--url", "http://x", "--seed", "3"])
    _, messages = build_messages(args)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=example.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            for message in messages:
                body = message.body()
                headers = message.headers(body, (KEY,))
                assert (await client.post(PATH, content=body, headers=headers)).status_code == 200

    anyio.run(scenario)
    while example.receiver.worker().run_once():
        pass
    lines = (tmp_path / "completed.log").read_text().splitlines()
    completed = {m.lifecycle.envelope_id: m.lifecycle.subject for m in messages}
    expected = {
        f"{m.envelope_id} completed ({completed[m.envelope_id]})"
        for m in messages
        if m.event == "envelope-completed"
    }
    assert set(lines) == expected and expected and not any("(None)" in line for line in lines)
