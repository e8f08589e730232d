"""``connect-mw serve`` end to end: a real uvicorn process, real HTTP, a real SQLite file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connect_mw import ProcessingState, SQLiteStore
from connect_mw.cli import build_parser, build_receiver, main
from support.deliveries import KEY, PATH, signed_headers, sim_body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    port = free_port()
    db = tmp_path / "events.sqlite3"
    env = {**os.environ, "CONNECT_MW_HMAC_KEYS": KEY}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connect_mw",
            "serve",
            "--port",
            str(port),
            "--store",
            f"sqlite:///{db}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    else:  # pragma: no cover - diagnostic only
        proc.kill()
        pytest.fail(f"server did not start: {proc.communicate()[0].decode()}")
    yield url, db, proc
    proc.terminate()
    proc.wait(timeout=10)


def test_serve_stores_once_and_rejects_bad_signatures(
    server: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, db, proc = server
    body = sim_body(status="completed")
    with httpx.Client(base_url=url) as client:
        assert client.post(PATH, content=body, headers=signed_headers(body)).status_code == 200
        retry = sim_body(status="completed", retry_count=1)
        again = client.post(PATH, content=retry, headers=signed_headers(retry))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        other = sim_body(envelope_id="forged")
        assert (
            client.post(PATH, content=other, headers=signed_headers(other, key="x")).status_code
            == 401
        )
    proc.terminate()
    output = proc.communicate(timeout=10)[0].decode()
    assert "received new envelope=e8b18544" in output
    assert "received duplicate" in output
    assert "rejected 401" in output
    with SQLiteStore(db) as store:
        (event,) = store.list_events("e8b18544-c605-4499-abcf-52209a7f4438")
        assert event.processing is ProcessingState.PENDING  # no callbacks here: a worker's job
        state = store.get_envelope("e8b18544-c605-4499-abcf-52209a7f4438")
        assert state is not None and state.status == "completed"
        assert store.get_envelope("forged") is None


def test_serve_refuses_to_start_without_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONNECT_MW_HMAC_KEYS", raising=False)
    assert main(["serve", "--store", "memory://"]) == 2
    assert "no authentication configured" in capsys.readouterr().err


def test_cli_options_build_the_receiver() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--hmac-key",
            "a",
            "--hmac-key",
            "b",
            "--account-key",
            "acct=c",
            "--basic-auth",
            "user:pa:ss",
            "--store",
            "memory://",
            "--path",
            "/hooks/ds",
        ]
    )
    receiver = build_receiver(args)
    assert receiver.path == "/hooks/ds"
    assert receiver.authenticator.hmac_keys.default == ("a", "b")
    assert receiver.authenticator.hmac_keys.for_account("ACCT") == ("c",)
    assert receiver.authenticator.basic is not None
    assert receiver.authenticator.basic.password == "pa:ss"
