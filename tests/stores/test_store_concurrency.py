"""Shared stores under several processes: one record per key, one event per envelope at once.

Each test starts fresh interpreters (``spawn``) that open their own store on one namespace of
the real PostgreSQL or Redis, so nothing is shared but the database.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest

from connect_mw.effects import drive
from connect_mw.model import Notification
from connect_mw.recording import record
from connect_mw.stores import ProcessingState
from connect_mw.testing import notification
from connect_mw.testing.builders import BASE_TIME
from support.services import open_test_store, postgres_namespace, redis_namespace

RAW = b'{"event":"concurrency"}'
STATUSES = ("sent", "delivered", "completed")
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(params=["postgres", "redis"])
def shared(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """``(backend, namespace)``: a fresh namespace every process of the test can open."""
    backend: str = request.param
    space: AbstractContextManager[str] = (
        postgres_namespace() if backend == "postgres" else redis_namespace()
    )
    with space as namespace:
        yield backend, namespace


def event(i: int, envelopes: int) -> Notification:
    """The ``i``-th test notification: envelopes take turns, times go back and forth."""
    minutes = (i * 7919) % 997  # a scrambled but fixed DocuSign time
    return notification(
        f"env-{i % envelopes}", STATUSES[i % 3], at=BASE_TIME + timedelta(minutes=minutes)
    )


def deliver(shared: tuple[str, str], count: int, seed: int, barrier: Barrier, results: Any) -> None:
    """Child process: deliver events ``0..count-1`` (shuffled for odd seeds) after the barrier."""
    order = list(range(count))
    if seed % 2:
        random.Random(seed).shuffle(order)
    try:
        with open_test_store(*shared) as store:
            barrier.wait(timeout=60)
            inserted = sum(
                drive(record(store, event(i, count // 10), RAW, f"k{i}")).inserted for i in order
            )
        results.put(("ok", inserted))
    except BaseException as error:
        results.put(("error", repr(error)))


def claim_all(
    shared: tuple[str, str], name: str, total: int, barrier: Barrier, results: Any
) -> None:
    """Child process: claim, hold for a moment, finish, until ``total`` events are processed."""
    held: list[tuple[str, str, float, float]] = []
    try:
        with open_test_store(*shared) as store:
            queue = store.queue()
            barrier.wait(timeout=60)
            while True:
                batch = queue.claim(name, lease_for=timedelta(minutes=10), limit=2)
                if not batch:
                    if len(store.list_events(processing=ProcessingState.PROCESSED)) >= total:
                        break
                    time.sleep(0.0005)
                    continue
                start = time.monotonic()
                time.sleep(0.003)
                end = time.monotonic()
                for claimed in batch:
                    assert queue.finish(claimed.key, name, ProcessingState.PROCESSED)
                    held.append((claimed.key, claimed.envelope_id, start, end))
        results.put(("ok", held))
    except BaseException as error:
        results.put(("error", repr(error)))


def run(target: Any, jobs: list[tuple[Any, ...]], results: Any, meanwhile: Any = None) -> list[Any]:
    """Run ``target(*job)`` in one spawned process per job (and ``meanwhile()`` here).

    Returns their results; fails the test if one of them failed.
    """
    processes = [SPAWN.Process(target=target, args=job) for job in jobs]
    for process in processes:
        process.start()
    try:
        if meanwhile is not None:
            meanwhile()
        outcomes = [results.get(timeout=90) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert errors == []
    return [detail for _, detail in outcomes]


def deliver_concurrently(shared: tuple[str, str], count: int) -> None:
    backend, namespace = shared
    barrier, results = SPAWN.Barrier(8), SPAWN.Queue()
    jobs = [(shared, count, seed, barrier, results) for seed in range(8)]
    inserted = run(deliver, jobs, results)
    assert sum(inserted) == count
    with open_test_store(backend, namespace) as store:
        assert len(store.list_events()) == count
        states = store.list_envelopes(limit=count)
        assert sum(state.event_count for state in states) == count
        assert len(states) == count // 10


def test_eight_processes_deliver_the_same_events_once(shared: tuple[str, str]) -> None:
    deliver_concurrently(shared, 200)


@pytest.mark.slow
def test_eight_processes_deliver_the_same_thousand_events_once(shared: tuple[str, str]) -> None:
    deliver_concurrently(shared, 1000)


def pair(i: int, envelopes: int) -> Notification:
    """Events come in pairs per envelope: the newer one first, then an older one."""
    minutes = i // 2 * 10 + (0 if i % 2 else 5)
    return notification(
        f"env-{i // 2 % envelopes}", STATUSES[i % 2], at=BASE_TIME + timedelta(minutes=minutes)
    )


def test_claimers_never_overlap_on_an_envelope_nor_share_an_event(
    shared: tuple[str, str],
) -> None:
    """A late, older event arriving just after a newer one tempts two claimers at once."""
    backend, namespace = shared
    total, envelopes, workers = 160, 8, 4
    barrier, results = SPAWN.Barrier(workers + 1), SPAWN.Queue()
    jobs = [(shared, f"w{n}", total, barrier, results) for n in range(workers)]

    def produce() -> None:
        with open_test_store(backend, namespace) as store:
            barrier.wait(timeout=60)
            for i in range(total):
                drive(record(store, pair(i, envelopes), RAW, f"k{i}"))
                if i % 2:
                    time.sleep(0.004)

    held = [entry for log in run(claim_all, jobs, results, produce) for entry in log]
    assert Counter(key for key, *_ in held) == Counter(f"k{i}" for i in range(total))
    by_envelope: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _, envelope_id, start, end in held:
        by_envelope[envelope_id].append((start, end))
    for envelope_id, spans in by_envelope.items():
        spans.sort()
        overlaps = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
        assert overlaps == [], f"{envelope_id}: two events held at once"
