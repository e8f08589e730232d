"""Each backend against its real broker, with real worker processes of the task queue.

RabbitMQ (Celery, Dramatiq) and Redis (Celery, Dramatiq, RQ) brokers; PostgreSQL is the
store. The receiver and the workers reach the broker through a relay (``proxy.Relay``) that
the tests stop and start: a broker outage as every client sees it. The long runs (eight
parallel workers, many envelopes) are in ``test_brokers_slow.py``.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from connect_mw.keys import default_key
from connect_mw.parse import parse
from connect_mw.stores.api import ProcessingState
from support.polling import wait_until

from .conftest import MakeStack, Stack
from .harness import (
    check_order,
    check_store,
    deliveries,
    envelope_ids,
    post,
    runs,
    wait_processed,
)
from .workerapp import BACKENDS

pytestmark = pytest.mark.timeout(180)


def key_of(body: bytes) -> str:
    return default_key(parse(body, None))


def keys_by_envelope(sent: list[tuple[str, bytes]]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for envelope, body in sent:
        order.setdefault(envelope, []).append(key_of(body))
    return order


def outage(stack: Stack, sent: list[tuple[str, bytes]], hold: float = 2.0) -> None:
    """Deliver ``sent`` (each twice, as DocuSign retries) while the broker is down."""
    stack.relay.stop()
    started = time.monotonic()
    for _, body in sent:
        assert post(stack.receiver, body) == b"accepted"  # committed: 200 without a broker
        assert post(stack.receiver, body, retry=1) == b"duplicate"
    time.sleep(max(0.0, hold - (time.monotonic() - started)))
    stored = {e.key: e for e in stack.receiver.store.list_events()}
    for _, body in sent:  # nothing can run them: no message reached any worker
        assert stored[key_of(body)].processing is ProcessingState.PENDING
    stack.relay.start()


@pytest.mark.parametrize("backend", BACKENDS)
def test_order_and_exactly_once_storage_through_a_broker_outage(
    make_stack: MakeStack, backend: str
) -> None:
    # Callbacks long enough that an envelope's next message arrives while one runs.
    stack = make_stack(backend, work=0.1)
    for _ in range(2 if backend == "rq" else 1):
        stack.workers.start(concurrency=4)
    sent = deliveries(envelope_ids(stack.config.queue, 4), events=4)
    for _, body in sent[:8]:
        assert post(stack.receiver, body) == b"accepted"
    wait_processed(stack.receiver, 8, 60, stack.workers)  # the workers are up
    outage(stack, sent[8:])
    wait_processed(stack.receiver, len(sent), 60, stack.workers)
    order = keys_by_envelope(sent)
    completed = check_order(stack.config, order)
    assert sorted(run.key for run in completed) == sorted(key_of(body) for _, body in sent)
    check_store(stack.receiver, order)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_mid_task(make_stack: MakeStack, backend: str) -> None:
    sent = deliveries(envelope_ids("killed", 3), events=3)
    victim_key = key_of(sent[0][1])
    stack = make_stack(backend, slow=victim_key)
    stack.workers.start(concurrency=2)
    stack.workers.start(concurrency=2)
    for _, body in sent:
        assert post(stack.receiver, body) == b"accepted"

    def hanging() -> list[int]:
        return [r.pid for r in runs(stack.config) if r.key == victim_key and r.attempt == 1]

    wait_until(lambda: bool(hanging()), timeout=30, what="the first callback to hang")
    os.killpg(os.getpgid(hanging()[0]), signal.SIGKILL)  # the whole worker, mid-callback
    killed_at = time.time()

    wait_processed(stack.receiver, len(sent), 60, stack.workers)
    order = keys_by_envelope(sent)
    completed = check_order(stack.config, order)
    victim_runs = [
        (r.attempt, r.end is not None) for r in runs(stack.config) if r.key == victim_key
    ]
    assert victim_runs == [(1, False), (2, True)]  # killed, then run again: at least once
    assert {run.key for run in completed} == {key_of(body) for _, body in sent}
    for key in {run.key for run in completed}:
        # A second run only for an event the killed worker ran without settling it.
        *before, _ = [run for run in completed if run.key == key]
        assert all(run.start < killed_at for run in before), key
    check_store(stack.receiver, order)
    victim = stack.receiver.store.get_event(victim_key)
    assert victim is not None and victim.attempts == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_bursts_never_wait_for_the_sweeper(make_stack: MakeStack, backend: str) -> None:
    # Messages alone must carry every envelope through: the sweeper never looks in time.
    stack = make_stack(backend, work=0.02, sweep_after=3600.0)
    stack.workers.start(concurrency=4)
    stack.workers.start(concurrency=4)
    sent = deliveries(envelope_ids("burst", 6), events=6, seed=5)
    for _, body in sent:
        assert post(stack.receiver, body) == b"accepted"
    wait_processed(stack.receiver, len(sent), 30, stack.workers)
    order = keys_by_envelope(sent)
    check_order(stack.config, order)
    check_store(stack.receiver, order)


@pytest.mark.parametrize("pool", ["threads", "solo"])
def test_celery_pools_without_child_processes_sweep_too(make_stack: MakeStack, pool: str) -> None:
    # Without prefork children the sweeper runs in the node's main process.
    stack = make_stack("celery-amqp")
    stack.workers.start(concurrency=2, pool=pool)
    sent = deliveries(envelope_ids("pool", 2), events=2)
    assert post(stack.receiver, sent[0][1]) == b"accepted"
    wait_processed(stack.receiver, 1, 60, stack.workers)  # the node is up
    outage(stack, sent[1:])
    wait_processed(stack.receiver, len(sent), 30, stack.workers)
    check_store(stack.receiver, keys_by_envelope(sent))
