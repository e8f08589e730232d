"""Parity: every pipeline gives the same results through both drivers.

Recording, the whole request pipeline, processing (callbacks plain and ``async def``, passing
and failing, ``on_error``) and the worker's batch are each written once as effects; the only
sync/async pair left is ``effects.drive`` / ``effects.adrive``. These tests run the same
inputs through both and compare what comes out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import pytest

from connect_mw import Delivery, MemoryStore, Receiver, Response, RetryPolicy
from connect_mw.effects import Blocking, Gather, Invoke, Steps, Wait, adrive, drive
from connect_mw.http import Request
from connect_mw.recording import record
from connect_mw.stores import ProcessingState, SQLiteStore, Store
from connect_mw.testing import notification
from support.deliveries import KEY, signed_request, sim_body

Drive = Callable[[Steps[Any]], Any]


def run_sync(steps: Steps[Any]) -> Any:
    return drive(steps)


def run_async(steps: Steps[Any]) -> Any:
    async def main() -> Any:
        return await adrive(steps)

    return anyio.run(main)


DRIVERS = [run_sync, run_async]


class BlockingStore(MemoryStore):
    """A store whose calls block (they run in worker threads under the async driver)."""

    async def offload(self, call: Callable[[], Any]) -> Any:
        return await Store.offload(self, call)


def requests() -> list[Request]:
    completed = sim_body(status="completed")
    return [
        signed_request(sim_body(status="sent", generated="2026-01-05T08:00:00.0000000Z")),
        signed_request(completed),
        signed_request(sim_body(status="completed", retry_count=2)),  # a duplicate
        signed_request(completed, key="not-the-key"),  # 401
        signed_request(b"{not json"),  # signed: kept as a dead letter, 200
        Request("GET", "/docusign/connect", {}),  # 405
    ]


def outcome_of(receiver: Receiver, drive_with: Drive) -> tuple[list[Response], list[Any]]:
    answers = [drive_with(receiver.steps(request)) for request in requests()]
    events = [
        (e.key, e.event, e.status, e.transitions, e.processing, e.attempts)
        for e in receiver.store.list_events()
    ]
    return answers, [events, receiver.store.list_envelopes()]


def with_callbacks(receiver: Receiver, seen: list[str]) -> Receiver:
    @receiver.on_envelope_sent
    def sent(delivery: Delivery) -> None:
        seen.append(f"sent:{delivery.attempt}")

    @receiver.on_envelope_completed
    async def completed(delivery: Delivery) -> None:
        await anyio.sleep(0)
        seen.append(f"completed:{delivery.attempt}")
        raise RuntimeError("completed handler fails")

    @receiver.on_error
    async def report(delivery: Delivery, exc: BaseException) -> None:
        seen.append(f"error:{exc}")

    return receiver


@pytest.mark.parametrize("mode", ["inline", "deferred"])
@pytest.mark.parametrize("store_kind", ["memory", "blocking"])
def test_the_request_pipeline_answers_alike(mode: str, store_kind: str) -> None:
    results = []
    for drive_with in DRIVERS:
        store = MemoryStore() if store_kind == "memory" else BlockingStore()
        seen: list[str] = []
        receiver = with_callbacks(
            Receiver(hmac_keys=KEY, store=store, mode=mode),  # type: ignore[arg-type]
            seen,
        )
        results.append((outcome_of(receiver, drive_with), seen))
    assert results[0] == results[1]
    (answers, _), seen = results[0]
    assert [a.status for a in answers] == [200, 200, 200, 401, 200, 405]
    assert seen == (
        ["sent:1", "completed:1", "error:completed handler fails"] if mode == "inline" else []
    )


def test_recording_gives_the_same_outcomes(tmp_path: Any) -> None:
    outcomes = []
    for i, drive_with in enumerate(DRIVERS):
        store = SQLiteStore(tmp_path / f"parity-{i}.sqlite3")
        runs = [
            drive_with(record(store, notification("e1", "sent"), b"{}", "k1")),
            drive_with(record(store, notification("e1", "completed"), b"{}", "k2")),
            drive_with(record(store, notification("e1", "completed"), b"{}", "k2")),
        ]
        outcomes.append(runs)
        store.close()
    assert outcomes[0] == outcomes[1]
    assert [o.inserted for o in outcomes[0]] == [True, True, False]


def test_processing_and_the_worker_batch_settle_alike() -> None:
    results = []
    for drive_with in DRIVERS:
        seen: list[str] = []
        retry = RetryPolicy(max_attempts=2, base_delay=timedelta(0), jitter=0)
        receiver = with_callbacks(Receiver(hmac_keys=KEY, store=BlockingStore(), retry=retry), seen)
        for request in requests()[:2]:
            assert receiver.handle(request).status == 200
        worker = receiver.worker(concurrency=4)
        counts = [drive_with(worker.batch()) for _ in range(4)]
        states = [(e.processing, e.attempts) for e in receiver.store.list_events()]
        results.append((counts, states, sorted(seen)))
    assert results[0] == results[1]
    counts, states, _ = results[0]
    assert states == [(ProcessingState.PROCESSED, 1), (ProcessingState.DEAD, 2)]
    assert counts == [1, 1, 1, 0]  # one envelope: its two events run one after the other


def test_effects_do_the_same_work() -> None:
    def plain(x: int) -> int:
        return x + 1

    async def coroutine(x: int) -> int:
        await anyio.sleep(0)
        return x + 2

    def returns_awaitable(x: int) -> Any:
        return coroutine(x)

    def pipeline() -> Steps[list[Any]]:
        a = yield Invoke(plain, (1,))
        b = yield Invoke(coroutine, (1,))
        c = yield Invoke(returns_awaitable, (1,))
        d = yield Blocking(lambda: threading.current_thread().name != "")
        e = yield Gather([sub(i) for i in range(3)])
        event = threading.Event()
        event.set()
        yield Wait(event, 5)
        try:
            yield Invoke(fails, ())
        except LookupError as exc:
            f = str(exc)
        return [a, b, c, d, e, f, event.is_set()]

    def sub(i: int) -> Steps[int]:
        value: int = yield Invoke(plain, (i,))
        return value * 10

    def fails() -> None:
        raise LookupError("thrown back into the pipeline")

    results = [drive_with(pipeline()) for drive_with in DRIVERS]
    assert (
        results[0]
        == results[1]
        == [
            2,
            3,
            3,
            True,
            [10, 20, 30],
            "thrown back into the pipeline",
            False,
        ]
    )
