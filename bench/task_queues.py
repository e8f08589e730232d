"""The built-in worker against each task queue: callbacks per second and receive→callback latency.

    .venv/bin/python bench/task_queues.py [--rows builtin-inprocess,celery-amqp,...]
                                          [--events 2000] [--rate 50] [--paced 250]

Every row uses the same store (PostgreSQL, a fresh schema), the same receiver (HMAC-signed
JSON SIM deliveries through ``Receiver.handle`` in this process, as a WSGI server would call
it) and the same callback (it writes its start time to Redis and counts itself), with eight
parallel processing slots:

* ``builtin-inprocess``: ``receiver.worker(concurrency=8)`` in a thread of the receiving
  process, woken by each commit (the embedded default);
* ``builtin-processes``: two ``Worker(concurrency=4)`` processes on the same store; they
  learn of new events by polling, every ``poll_interval`` (1 s, the default);
* ``celery-amqp`` / ``celery-redis``: two ``celery worker`` nodes, prefork, 4 processes each;
* ``dramatiq-amqp`` / ``dramatiq-redis``: two ``dramatiq`` processes, 4 threads each;
* ``rq``: eight ``python -m connect_mw.taskqueues.rq`` workers (RQ runs one job at a time).

Measured per row, after a warm-up of 40 events: **throughput**, ``--events`` deliveries over
400 envelopes posted from 4 threads, from the first post to the last callback's end
(``callbacks/s``; ``received/s`` is how fast the receiver took them, for reference); then
**latency**, ``--paced`` deliveries at ``--rate`` per second, from just before
``Receiver.handle`` to the callback's start (p50, p95, max). Results go to
``bench/results/task-queues-<timestamp>.json``. Brokers: RabbitMQ 127.0.0.1:5672, Redis
127.0.0.1:6379; only loopback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis

from connect_mw import Delivery, Receiver
from connect_mw.http import Request
from connect_mw.stores.postgres import PostgresStore
from connect_mw.taskqueues import TaskQueueProcessing
from connect_mw.verify import sign
from connect_mw.worker import WorkerThread

BENCH = Path(__file__).resolve().parent
ROWS = (
    "builtin-inprocess",
    "builtin-processes",
    "celery-amqp",
    "celery-redis",
    "dramatiq-amqp",
    "dramatiq-redis",
    "rq",
)
POSTGRES = os.environ.get("CONNECT_MW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CONNECT_MW_BENCH_REDIS", "redis://127.0.0.1:6379/0")
AMQP = os.environ.get("CONNECT_MW_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
HMAC_KEY = "bench-hmac-key"
ACCOUNT = "7ed99888-4cf3-42ad-b3d5-5b0f016a294a"
WARM_UP = 40
SLOTS = 8


@dataclass(frozen=True)
class Config:
    """One row's names, passed to worker processes as environment variables."""

    row: str
    name: str  # schema, queue name, Redis key prefix

    def env(self) -> dict[str, str]:
        return {"CMW_BENCH_ROW": self.row, "CMW_BENCH_NAME": self.name}


# The receiver, the same in the driver and in every worker process ------------------------


def build(config: Config) -> tuple[Receiver, Any]:
    """The row's receiver and the task queue's app object (Celery app, Dramatiq broker)."""
    processing, app = _processing(config)
    store = PostgresStore(POSTGRES, schema=config.name, max_size=8)
    receiver = Receiver(hmac_keys=[HMAC_KEY], store=store, processing=processing)
    if processing is not None:
        processing.bind(receiver)
    log = redis.Redis.from_url(REDIS)
    starts, done = f"{config.name}:starts", f"{config.name}:done"

    @receiver.on_any
    def record(delivery: Delivery) -> None:
        log.hsetnx(starts, delivery.key, repr(time.time()))
        log.incr(done)

    return receiver, app


def _processing(config: Config) -> tuple[TaskQueueProcessing | None, Any]:
    row, name = config.row, config.name
    if row.startswith("celery"):
        from celery import Celery  # noqa: PLC0415 (optional: only its row needs it)

        from connect_mw.taskqueues.celery import CeleryProcessing  # noqa: PLC0415 (optional: only its row needs it)

        broker = AMQP if row.endswith("amqp") else REDIS
        app = Celery(f"bench-{name}", broker=broker, set_as_current=False)
        app.conf.update(
            broker_connection_retry_on_startup=True,
            worker_enable_remote_control=False,
            worker_send_task_events=False,
            task_default_queue=name,
        )
        return CeleryProcessing(app, queue=name), app
    if row.startswith("dramatiq"):
        from connect_mw.taskqueues.dramatiq import DramatiqProcessing  # noqa: PLC0415 (optional: only its row needs it)

        dramatiq_broker: Any
        if row.endswith("redis"):
            from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415 (optional: only its row needs it)

            dramatiq_broker = RedisBroker(url=REDIS, namespace=name)  # type: ignore[no-untyped-call]
        else:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker  # noqa: PLC0415 (optional: only its row needs it)

            dramatiq_broker = RabbitmqBroker(url=AMQP)
        return DramatiqProcessing(dramatiq_broker, queue_name=name), dramatiq_broker
    if row == "rq":
        from rq import Queue  # noqa: PLC0415 (optional: only its row needs it)

        from connect_mw.taskqueues.rq import RQProcessing  # noqa: PLC0415 (optional: only its row needs it)

        queue = Queue(name, connection=redis.Redis.from_url(REDIS))
        return RQProcessing(queue, receiver="task_queues:receiver"), None
    return None, None


if os.environ.get("CMW_BENCH_ROW"):  # imported by a worker process
    logging.getLogger("connect_mw").setLevel(logging.WARNING)
    receiver, app = build(Config(os.environ["CMW_BENCH_ROW"], os.environ["CMW_BENCH_NAME"]))


# Worker processes ----------------------------------------------------------------------


def commands(row: str, name: str) -> list[list[str]]:
    """The worker processes of ``row``: eight processing slots each time."""
    python = sys.executable
    if row == "builtin-processes":
        return [[python, str(BENCH / "task_queues.py"), "--worker"]] * 2
    if row.startswith("celery"):
        node = [
            str(Path(python).parent / "celery"),
            "--app=task_queues:app",
            "worker",
            "--concurrency=4",
            "--pool=prefork",
            f"--queues={name}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ]
        return [[*node, f"--hostname=n{i}-{name}@bench"] for i in range(2)]
    if row.startswith("dramatiq"):
        dramatiq = str(Path(python).parent / "dramatiq")
        process = [dramatiq, "task_queues:app", "--processes=1", "--threads=4", f"-Q={name}"]
        return [process] * 2
    if row == "rq":
        return [[python, "-m", "connect_mw.taskqueues.rq", "task_queues:receiver"]] * SLOTS
    return []


@contextmanager
def workers(config: Config, receiver: Receiver, logs: Path) -> Iterator[None]:
    """Run the row's workers while inside the block."""
    if config.row == "builtin-inprocess":
        thread = WorkerThread(receiver.worker(concurrency=SLOTS))
        thread.ensure_started()
        try:
            yield
        finally:
            thread.stop()
        return
    env = {**os.environ, **config.env(), "PYTHONPATH": str(BENCH)}
    processes = []
    for index, command in enumerate(commands(config.row, config.name)):
        out = (logs / f"{config.row}-{index}.log").open("wb")
        processes.append(
            subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=BENCH)
        )
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def run_worker() -> None:
    """``--worker``: one built-in worker process (builtin-processes row)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    receiver.worker(concurrency=4).run(stop)


# Traffic and measures --------------------------------------------------------------------


def body(envelope: str, step: int) -> bytes:
    """A JSON SIM delivery; ``step`` makes its idempotency key distinct within the envelope."""
    stamp = f"2026-02-01T10:{step // 60:02d}:{step % 60:02d}.0000000Z"
    return json.dumps(
        {
            "event": "envelope-sent",
            "apiVersion": "v2.1",
            "uri": f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/{envelope}",
            "retryCount": 0,
            "configurationId": 10502729,
            "generatedDateTime": stamp,
            "data": {"accountId": ACCOUNT, "userId": "u-1", "envelopeId": envelope},
        }
    ).encode()


def post(receiver: Receiver, payload: bytes) -> tuple[str, float]:
    """Deliver ``payload``; its key and the wall time just before the receiver took it."""
    headers = {
        "content-type": "application/json",
        "x-docusign-signature-1": sign(HMAC_KEY, payload),
    }
    received = time.time()
    response = receiver.handle(Request("POST", "/docusign/connect", headers, payload))
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {response.body!r}")
    return json.loads(response.body)["key"], received


def wait_done(client: redis.Redis, name: str, count: int, timeout: float = 300) -> float:
    """Wait until ``count`` callbacks ran; the time they had."""
    deadline = time.monotonic() + timeout
    while (done := int(client.get(f"{name}:done") or 0)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done}/{count} callbacks in {timeout} s")
        time.sleep(0.005)
    return time.time()


def measure(config: Config, events: int, rate: float, paced: int, logs: Path) -> dict[str, Any]:
    """One row: warm-up, throughput, latency."""
    receiver, _ = build(config)
    client = redis.Redis.from_url(REDIS)
    try:
        with workers(config, receiver, logs):
            for n in range(WARM_UP):
                post(receiver, body(f"warm-{n % 8}", n))
            wait_done(client, config.name, WARM_UP, timeout=120)

            deliveries = [body(f"tp-{n % 400:03d}", n // 400) for n in range(events)]
            started = time.time()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda payload: post(receiver, payload), deliveries))
            received = time.time()
            finished = wait_done(client, config.name, WARM_UP + events)

            sent = []
            next_at = time.monotonic()
            for n in range(paced):
                sent.append(post(receiver, body(f"lat-{n % 50:02d}", n // 50)))
                next_at += 1 / rate
                time.sleep(max(0.0, next_at - time.monotonic()))
            wait_done(client, config.name, WARM_UP + events + paced)
            starts = client.hgetall(f"{config.name}:starts")
            latencies = sorted(
                (float(starts[key.encode()]) - at) * 1000
                for key, at in sent
                if key.encode() in starts
            )
    finally:
        backend = getattr(receiver.queue, "backend", None)
        if isinstance(backend, TaskQueueProcessing):
            backend.close(timeout=2)
        receiver.store.close()
        cleanup(config, client)
    return {
        "row": config.row,
        "events": events,
        "received_per_s": events / (received - started),
        "callbacks_per_s": events / (finished - started),
        "latency_ms": {
            "p50": statistics.median(latencies),
            "p95": latencies[int(0.95 * (len(latencies) - 1))],
            "max": latencies[-1],
            "n": len(latencies),
        },
    }


def cleanup(config: Config, client: redis.Redis) -> None:
    """Drop the row's schema, Redis keys and RabbitMQ queues."""
    import psycopg  # noqa: PLC0415 (optional: only its row needs it)

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{config.name}" CASCADE')
    name = config.name
    workers = client.smembers(f"rq:workers:{name}")
    if workers:
        client.srem("rq:workers", *workers)
    client.srem("rq:queues", f"rq:queue:{name}")
    doomed = list(client.scan_iter(match=f"*{name}*", count=1000))
    doomed += [
        k for k in client.scan_iter(match="rq:job:*") if client.hget(k, "origin") == name.encode()
    ]
    if doomed:
        client.delete(*doomed)
    for tag, message in client.hgetall("unacked").items():  # Celery's, Redis broker
        if name.encode() in message:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    if config.row.endswith("amqp"):
        import amqp  # noqa: PLC0415 (optional: only its row needs it)

        connection = amqp.Connection("127.0.0.1:5672")
        connection.connect()
        channel = connection.channel()
        for queue in (config.name, f"{config.name}.DQ", f"{config.name}.XQ"):
            channel.queue_delete(queue)
        channel.exchange_delete(config.name)  # Celery's direct exchange of the queue
        channel.close()
        connection.close()


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| row | callbacks/s | received/s | latency p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['row']} | error: {r['error']} | | | | |")
            continue
        lat = r["latency_ms"]
        lines.append(
            f"| {r['row']} | {r['callbacks_per_s']:.0f} | {r['received_per_s']:.0f} | "
            f"{lat['p50']:.1f} | {lat['p95']:.1f} | {lat['max']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--paced", type=int, default=250)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker()
        return 0
    logging.basicConfig(level=logging.WARNING)
    logs = Path(tempfile.mkdtemp(prefix="cmw-bench-tq-"))
    results: list[dict[str, Any]] = []
    for row in args.rows.split(","):
        config = Config(row, f"cmw_bench_{uuid.uuid4().hex[:10]}")
        try:
            results.append(measure(config, args.events, args.rate, args.paced, logs))
        except Exception as exc:
            results.append({"row": row, "error": f"{type(exc).__name__}: {exc}"[:300]})
        print(table(results[-1:]).splitlines()[-1], flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    out = BENCH / "results" / f"task-queues-{stamp}.json"
    machine = {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": sys.version.split()[0]}
    out.write_text(json.dumps({"machine": machine, "logs": str(logs), "rows": results}, indent=2))
    print(table(results))
    print(f"wrote {out}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
