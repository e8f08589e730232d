"""The long run per backend: eight parallel workers, interleaved envelopes, an outage, a kill.

Deselected by default (``slow``); run with ``scripts/test -m slow tests/taskqueues``.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

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
from .test_brokers import key_of, keys_by_envelope, outage
from .workerapp import BACKENDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ENVELOPES = 60
PARALLEL = 8


def start_parallel(stack: Stack, total: int = PARALLEL) -> None:
    """``total`` parallel workers: 2 Celery nodes x 4, 2 Dramatiq processes x 4, 8 RQ."""
    if stack.config.backend == "rq":
        for _ in range(total):
            stack.workers.start()
    else:
        for _ in range(2):
            stack.workers.start(concurrency=total // 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_workers_keep_each_envelopes_order_through_an_outage_and_a_kill(
    make_stack: MakeStack, backend: str
) -> None:
    sent = deliveries(envelope_ids("soak", ENVELOPES), events=6)
    victim_key = key_of(sent[2 * ENVELOPES][1])  # an envelope's third event
    stack = make_stack(backend, slow=victim_key, work=0.05, lease=4.0)
    start_parallel(stack)
    first, second, third = sent[:120], sent[120:240], sent[240:]
    for _, body in first:
        assert post(stack.receiver, body) == b"accepted"
        assert post(stack.receiver, body, retry=1) == b"duplicate"
    wait_processed(stack.receiver, len(first), 120, stack.workers)
    for _, body in second:
        assert post(stack.receiver, body) == b"accepted"

    def hanging() -> list[int]:
        return [r.pid for r in runs(stack.config) if r.key == victim_key and r.attempt == 1]

    wait_until(lambda: bool(hanging()), timeout=60, what="the victim's callback to hang")
    os.killpg(os.getpgid(hanging()[0]), signal.SIGKILL)
    stack.workers.start(concurrency=PARALLEL // 2)  # its replacement
    outage(stack, third)
    started = time.monotonic()
    wait_processed(stack.receiver, len(sent), 240, stack.workers)
    print(f"{backend}: drained {len(sent)} events {time.monotonic() - started:.1f} s after")

    order = keys_by_envelope(sent)
    completed = check_order(stack.config, order)
    check_store(stack.receiver, order)
    assert {run.key for run in completed} == {key_of(body) for _, body in sent}
    victim_runs = [
        (r.attempt, r.end is not None) for r in runs(stack.config) if r.key == victim_key
    ]
    assert victim_runs[0] == (1, False) and victim_runs[-1][1]
    workers = {run.worker for run in completed}
    assert len(workers) >= PARALLEL // 2, f"only {len(workers)} workers ran callbacks"
