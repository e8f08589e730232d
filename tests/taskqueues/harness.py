"""Real brokers, real worker processes, and the checks the task-queue tests share.

Each test gets its own queue name (and Dramatiq namespace), its own PostgreSQL schema and
its own Redis list for callback records; all are deleted afterwards. Worker processes run
the real command line of each task queue (``celery worker``, ``dramatiq``,
``python -m connect_mw.taskqueues.rq``) in their own session, so a test can kill one whole.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from connect_mw import Receiver
from connect_mw.stores.api import ProcessingState
from support.deliveries import signed_request, sim_body
from support.services import REDIS_URL, unavailable

from .workerapp import Config

RABBITMQ_PORT = int(os.environ.get("CONNECT_MW_TEST_RABBITMQ_PORT", "5672"))
REDIS_PORT = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])
TESTS = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
#: The event names one envelope goes through, in DocuSign order.
LIFECYCLE = (
    "envelope-sent",
    "recipient-sent",
    "recipient-delivered",
    "recipient-completed",
    "envelope-delivered",
    "envelope-completed",
)


def require_rabbitmq() -> None:
    """Skip (locally) or fail (``CI``) unless RabbitMQ answers an AMQP handshake."""
    try:
        import amqp

        connection = amqp.Connection(f"127.0.0.1:{RABBITMQ_PORT}", connect_timeout=3)
        connection.connect()
        connection.close()
    except Exception as error:
        unavailable("RabbitMQ", error)


def broker_port(backend: str) -> int:
    """The real broker's port for ``backend``."""
    return RABBITMQ_PORT if backend.endswith("amqp") else REDIS_PORT


def broker_url(backend: str, port: int) -> str:
    """The URL of ``backend``'s broker at ``port`` on loopback."""
    if backend.endswith("amqp"):
        return f"amqp://guest:guest@127.0.0.1:{port}/"
    return f"redis://127.0.0.1:{port}/0"


def delete_broker_state(config: Config) -> None:
    """Delete the queues (RabbitMQ) or keys (Redis) the test's name owns."""
    if config.backend.endswith("amqp"):
        import amqp

        connection = amqp.Connection(f"127.0.0.1:{RABBITMQ_PORT}")
        connection.connect()
        try:
            channel = connection.channel()
            for name in (config.queue, f"{config.queue}.DQ", f"{config.queue}.XQ"):
                channel.queue_delete(name)
            channel.exchange_delete(config.queue)  # Celery's direct exchange of the queue
            channel.close()
        finally:
            connection.close()
        return
    client = redis.Redis.from_url(REDIS_URL)
    try:
        delete_redis_state(client, config.queue)
    finally:
        client.close()


def delete_redis_state(client: redis.Redis, name: str) -> None:
    """Delete what a test's Redis broker use left: keys named after its queue, RQ jobs
    whose queue it was, and Celery messages still unacknowledged (killed workers)."""
    workers = client.smembers(f"rq:workers:{name}")
    if workers:
        client.srem("rq:workers", *workers)
    client.srem("rq:queues", f"rq:queue:{name}")
    doomed = list(client.scan_iter(match=f"*{name}*", count=1000))
    for key in client.scan_iter(match="rq:job:*", count=1000):
        if client.hget(key, "origin") == name.encode():
            doomed.append(key)
    if doomed:
        client.delete(*doomed)
    for tag, message in client.hgetall("unacked").items():
        if name.encode() in message:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@dataclass
class Workers:
    """Worker processes of one task queue for one test; every one stopped at the end."""

    config: Config
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, concurrency: int = 2, pool: str = "prefork") -> subprocess.Popen[bytes]:
        """Start one worker process (a Celery node, a Dramatiq process, an RQ worker).

        ``pool`` is the Celery node's execution pool.
        """
        index = len(self.processes)
        env = {
            **os.environ,
            **self.config.env(),
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        }
        log = (self.logs / f"worker-{index}.log").open("wb")
        process = subprocess.Popen(
            self._command(index, concurrency, pool),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=TESTS.parent,
        )
        self.processes.append(process)
        return process

    def _command(self, index: int, concurrency: int, pool: str) -> list[str]:
        target = "taskqueues.worker_main"
        if self.config.backend.startswith("celery"):
            return [
                str(VENV_BIN / "celery"),
                f"--app={target}:app",
                "worker",
                f"--concurrency={concurrency}",
                f"--pool={pool}",
                f"--queues={self.config.queue}",
                f"--hostname=w{index}-{self.config.queue}@{socket.gethostname()}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ]
        if self.config.backend.startswith("dramatiq"):
            return [
                str(VENV_BIN / "dramatiq"),
                f"{target}:app",
                "--processes=1",
                f"--threads={concurrency}",
                f"--queues={self.config.queue}",
            ]
        return [sys.executable, "-m", "connect_mw.taskqueues.rq", f"{target}:receiver"]

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the whole worker (its session: main process and pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        """Stop every worker: SIGTERM, then SIGKILL after 5 s.

        (A Celery node without pool processes may sit in its event loop until its next
        timer after a reconnection before it sees the warm shutdown.)
        """
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def tails(self) -> str:
        """The end of each worker's log, for a failure message."""
        parts = []
        for path in sorted(self.logs.glob("worker-*.log")):
            text = path.read_text(errors="replace")
            parts.append(f"--- {path.name}\n{text[-3000:]}")
        return "\n".join(parts)


# Traffic --------------------------------------------------------------------------------


def envelope_ids(prefix: str, count: int) -> list[str]:
    """``count`` envelope ids for one test."""
    return [f"{prefix}-env-{n:03d}" for n in range(count)]


def deliveries(
    envelopes: list[str], events: int = len(LIFECYCLE), *, seed: int = 17
) -> list[tuple[str, bytes]]:
    """Each envelope's first ``events`` events, in DocuSign order within each envelope.

    Envelopes are interleaved at random (``seed``): an envelope's next event is often only
    a few deliveries behind, so it reaches a worker while the previous one still runs.
    Returns ``(envelope_id, body)``; ``generatedDateTime`` grows within each envelope.
    """
    rng = random.Random(seed)
    turns = [envelope for envelope in envelopes for _ in range(events)]
    rng.shuffle(turns)
    step = dict.fromkeys(envelopes, 0)
    sent = []
    for envelope in turns:
        n = step[envelope]
        step[envelope] += 1
        stamp = f"2026-02-01T{10 + n:02d}:00:00.0000000Z"
        sent.append((envelope, sim_body(LIFECYCLE[n], envelope, generated=stamp)))
    return sent


def post(receiver: Receiver, body: bytes, retry: int = 0) -> bytes:
    """Deliver ``body`` (as DocuSign's ``retry``-th retry); the answer's status word."""
    if retry:
        body = body.replace(b'"retryCount": 0', b'"retryCount": %d' % retry)
    response = receiver.handle(signed_request(body))
    assert response.status == 200, response.body
    return bytes(json.loads(response.body)["status"].encode())


# Records and checks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One callback run as the worker recorded it (``end`` is ``None`` if it was killed)."""

    key: str
    envelope: str
    attempt: int
    pid: int
    worker: str  # process and thread
    start: float
    end: float | None


def runs(config: Config) -> list[Run]:
    """Every callback run recorded so far, in start order."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        records = [json.loads(raw) for raw in client.lrange(config.log, 0, -1)]
    finally:
        client.close()
    starts: dict[tuple[str, int], dict[str, Any]] = {}
    ends: dict[tuple[str, int], float] = {}
    for record in records:
        ident = (record["k"], record["a"])
        if record["t"] == "start":
            starts[ident] = record
        else:
            ends[ident] = record["at"]
    found = [
        Run(r["k"], r["e"], r["a"], r["p"], r["w"], r["at"], ends.get(ident))
        for ident, r in starts.items()
    ]
    return sorted(found, key=lambda run: run.start)


def check_order(config: Config, order: dict[str, list[str]]) -> list[Run]:
    """Assert each envelope's completed runs follow DocuSign order and never overlap.

    ``order`` maps each envelope to its keys in DocuSign order. Every key has a completed
    run (at least once); a key's runs before its completed one are killed runs. Returns
    the completed runs.
    """
    completed = [run for run in runs(config) if run.end is not None]
    by_envelope: dict[str, list[Run]] = defaultdict(list)
    for run in completed:
        by_envelope[run.envelope].append(run)
    for envelope, keys in order.items():
        done = by_envelope[envelope]
        first: dict[str, Run] = {}
        for run in done:
            first.setdefault(run.key, run)
        assert list(first) == keys, f"{envelope}: callbacks ran out of order or are missing"
        for before, after in itertools.pairwise(done):
            assert before.end is not None and before.end <= after.start, (
                f"{envelope}: two callbacks of one envelope overlapped: {before} / {after}"
            )
    return completed


def check_store(receiver: Receiver, order: dict[str, list[str]]) -> None:
    """Assert the store holds exactly the expected events, each once, all processed."""
    events = receiver.store.list_events()
    assert sorted(e.key for e in events) == sorted(k for keys in order.values() for k in keys)
    assert {e.processing for e in events} == {ProcessingState.PROCESSED}


def wait_processed(receiver: Receiver, count: int, timeout: float, workers: Workers) -> None:
    """Wait until ``count`` events are processed; fail with the worker logs if not."""
    deadline = time.monotonic() + timeout
    while True:
        done = receiver.store.list_events(processing=ProcessingState.PROCESSED)
        if len(done) >= count:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{len(done)}/{count} events processed in {timeout} s\n{workers.tails()}")
        time.sleep(0.1)
