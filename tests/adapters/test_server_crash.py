"""``connect-mw serve`` killed with SIGKILL while a sender retries like DocuSign.

Counters in the style of Jepsen: every event the sender saw acknowledged must be stored
(no 2xx without a committed record), every event ends stored exactly once after the retries
(lost = 0, duplicated = 0), and the restarted servers' in-process workers process them all.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from connect_mw import ProcessingState, SQLiteStore
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, db: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CONNECT_MW_HMAC_KEYS": KEY,
        "CONNECT_MW_STORE": f"sqlite:///{db}",  # read by the example's receiver
        "COMPLETED_LOG": str(db.parent / "completed.log"),
    }
    command = [
        sys.executable,
        "-m",
        "connect_mw",
        "serve",
        "--port",
        str(port),
        "--app",
        "examples.asgi_app:receiver",  # callbacks to run: serve's in-process worker runs them
        "--log-level",
        "warning",
        "--lease-seconds",
        "1",  # a killed server's claims expire fast
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    wait_until(lambda: answers(port), timeout=20, what="the server to listen")
    return server


def answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
    except httpx.TransportError:
        return False
    return True


class Sender:
    """Posts each body until it gets a 2xx, as DocuSign retries a failed delivery."""

    def __init__(self, url: str, bodies: list[bytes]) -> None:
        self.url = url
        self.bodies = bodies
        self.acked: list[str] = []
        self.failures = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            for body in self.bodies:
                self.deliver(client, body)
                threading.Event().wait(0.05)  # DocuSign's pace, so the kills land mid-stream

    def deliver(self, client: httpx.Client, body: bytes) -> None:
        for _ in range(2000):
            try:
                reply = client.post(self.url, content=body, headers=signed_headers(body))
            except httpx.TransportError:
                reply = None
            if reply is not None and reply.status_code == 200:
                self.acked.append(reply.json()["key"])
                return
            self.failures += 1
            threading.Event().wait(0.02)
        raise AssertionError("a delivery never got acknowledged")


def lifecycles(envelopes: int) -> list[bytes]:
    return [
        sim_body(
            f"envelope-{status}",
            f"crash-env-{i}",
            generated=f"2026-01-05T09:0{step}:00Z",
            status=status,
        )
        for i in range(envelopes)
        for step, status in enumerate(("sent", "delivered", "completed"))
    ]


def run_with_kills(tmp_path: Path, envelopes: int, kills: int) -> None:
    db, port = tmp_path / "events.sqlite3", free_port()
    sender = Sender(f"http://127.0.0.1:{port}{PATH}", lifecycles(envelopes))
    server = start_server(port, db)
    sender.thread.start()
    rng = random.Random(7)
    for _ in range(kills):
        threading.Event().wait(rng.uniform(0.05, 0.4))
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = start_server(port, db)
    sender.thread.join(timeout=300)
    try:
        assert not sender.thread.is_alive()
        with SQLiteStore(db) as store:
            stored = {e.key for e in store.list_events()}
        lost = set(sender.acked) - stored
        assert lost == set()  # no 2xx without a committed record
        assert len(sender.acked) == len(stored) == envelopes * 3  # none lost, none doubled
        assert sender.failures > 0  # the kills did interrupt deliveries
        wait_until(lambda: all_processed(db), timeout=60, what="workers to process everything")
    finally:
        server.terminate()
        server.wait(timeout=30)


def all_processed(db: Path) -> bool:
    with SQLiteStore(db) as store:
        return all(e.processing is ProcessingState.PROCESSED for e in store.list_events())


def test_server_sigkill_loses_nothing(tmp_path: Path) -> None:
    run_with_kills(tmp_path, envelopes=8, kills=4)


@pytest.mark.slow
def test_server_sigkill_many_times(tmp_path: Path) -> None:
    run_with_kills(tmp_path, envelopes=60, kills=40)
