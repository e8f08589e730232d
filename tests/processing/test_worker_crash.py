"""Worker subprocesses killed with SIGKILL at random points lose nothing and duplicate no effect."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connect_mw import Receiver
from connect_mw.stores import ProcessingState, SQLiteStore
from support.deliveries import signed_request, sim_body
from support.polling import wait_until

TESTS = Path(__file__).resolve().parents[1]
ENVELOPES = 12
STATUSES = ("sent", "delivered", "completed")


def record_lifecycles(store_path: Path) -> set[str]:
    receiver = Receiver(hmac_keys="crash-test-key", store=SQLiteStore(store_path))
    keys = set()
    for i in range(ENVELOPES):
        for minute, status in enumerate(STATUSES):
            body = sim_body(
                f"envelope-{status}",
                f"env-{i}",
                generated=f"2026-01-05T09:0{minute}:00Z",
                status=status,
            )
            response = receiver.handle(signed_request(body, key="crash-test-key"))
            assert response.status == 200
            keys.add(response.body.decode().split('"key":"')[1].split('"')[0])
    receiver.store.close()
    return keys


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "connect_mw",
        "--log-level",
        "warning",
        "worker",
        "support.crash_app:receiver",
        "--concurrency",
        "4",
        "--poll-interval",
        "0.05",
    ]
    return subprocess.Popen(command, cwd=TESTS, env=env, stderr=subprocess.DEVNULL)


def all_final(store_path: Path, expected: int) -> bool:
    with SQLiteStore(store_path) as store:
        events = store.list_events()
    return len(events) == expected and all(e.processing.is_final for e in events)


def crash_and_recover(tmp_path: Path, kills: int) -> None:
    store_path, ledger_path = tmp_path / "events.sqlite3", tmp_path / "ledger.sqlite3"
    keys = record_lifecycles(store_path)
    env = {
        **os.environ,
        "CRASH_STORE": str(store_path),
        "CRASH_LEDGER": str(ledger_path),
        "CRASH_LEASE": "0.5",
        "PYTHONPATH": str(TESTS),
    }
    rng = random.Random(4)
    for _ in range(kills):
        worker = start_worker(env)
        time.sleep(rng.uniform(0.5, 1.5))  # let it start and get somewhere, then kill it
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    survivor = start_worker(env)
    try:
        wait_until(lambda: all_final(store_path, len(keys)), timeout=120, what="all events final")
    finally:
        survivor.kill()
        survivor.wait()
    with SQLiteStore(store_path) as store:
        states = {e.key: e.processing for e in store.list_events()}
    assert states == dict.fromkeys(keys, ProcessingState.PROCESSED)  # none lost, none dead
    conn = sqlite3.connect(ledger_path)
    effects = [row[0] for row in conn.execute("SELECT effect FROM effects")]
    invoked = {row[0] for row in conn.execute("SELECT effect FROM invocations")}
    conn.close()
    assert len(effects) == len(keys) == len(set(effects))  # every effect exactly once
    assert invoked == set(effects)


def test_sigterm_stops_the_worker_gracefully(tmp_path: Path) -> None:
    store_path = tmp_path / "events.sqlite3"
    keys = record_lifecycles(store_path)
    env = {
        **os.environ,
        "CRASH_STORE": str(store_path),
        "CRASH_LEDGER": str(tmp_path / "l.db"),
        "PYTHONPATH": str(TESTS),
    }
    command = [sys.executable, "-m", "connect_mw", "worker", "support.crash_app:receiver"]
    worker = subprocess.Popen(command, cwd=TESTS, env=env, stderr=subprocess.PIPE, text=True)
    assert worker.stderr is not None
    for line in worker.stderr:  # wait until it runs (and has its signal handlers)
        if "started" in line:
            break
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    with SQLiteStore(store_path) as store:
        events = store.list_events()
    assert len(events) == len(keys)
    # Whatever it had claimed when told to stop, it finished: no event is left leased.
    assert all(e.lease is None for e in events)


def test_sigkilled_workers_lose_nothing(tmp_path: Path) -> None:
    crash_and_recover(tmp_path, kills=6)


@pytest.mark.slow
def test_many_sigkills(tmp_path: Path) -> None:
    crash_and_recover(tmp_path, kills=60)
