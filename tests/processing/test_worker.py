"""Deferred processing: workers claim events, run callbacks, retry with backoff, dead-letter."""

from __future__ import annotations

import threading
from datetime import timedelta

import anyio
import httpx
import msgspec
import pytest

from connect_mw import Delivery, MemoryStore, Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.model import Notification
from connect_mw.processing import RetryPolicy
from connect_mw.stores import EventQuery, ProcessingState, utcnow
from connect_mw.worker import WorkerThread
from support.deliveries import KEY, PATH, signed_headers, signed_request, sim_body
from support.lifespan import with_lifespan
from support.polling import wait_until

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=timedelta(0))


def deferred(**options: object) -> Receiver:
    options.setdefault("hmac_keys", KEY)
    options.setdefault("store", MemoryStore())
    return Receiver(**options)  # type: ignore[arg-type]


def post(receiver: Receiver, *bodies: bytes) -> None:
    for body in bodies:
        assert receiver.handle(signed_request(body)).status == 200


def test_deferred_mode_answers_without_running_callbacks() -> None:
    receiver = deferred()
    release = threading.Event()
    ran: list[str] = []

    @receiver.on_envelope_completed
    def slow(delivery: Delivery) -> None:
        release.wait(30)  # would block the answer if it ran on the request path
        ran.append(delivery.envelope_id)

    post(receiver, sim_body(status="completed"))
    (event,) = receiver.store.list_events()
    assert event.processing is ProcessingState.PENDING and ran == []
    release.set()
    assert receiver.worker().run_once() == 1
    assert ran == ["e8b18544-c605-4499-abcf-52209a7f4438"]
    assert receiver.store.list_events()[0].processing is ProcessingState.PROCESSED


def test_failing_callback_is_retried_with_backoff_then_dead() -> None:
    receiver = deferred(retry=NO_WAIT)
    attempts: list[int] = []
    errors: list[str] = []

    @receiver.on_envelope_completed
    def explode(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        raise RuntimeError("CRM down")

    receiver.on_error(lambda d, exc: errors.append(str(exc)))
    post(receiver, sim_body(status="completed"))
    worker = receiver.worker()
    while worker.run_once(now=utcnow() + timedelta(seconds=1)):
        pass
    assert attempts == [1, 2, 3]
    assert errors == ["CRM down"] * 3
    (dead,) = receiver.store.list_events(processing=ProcessingState.DEAD)
    assert dead.error is not None and "RuntimeError: CRM down" in dead.error
    assert "Traceback" in dead.error


def test_retry_waits_for_its_backoff() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=timedelta(minutes=10), jitter=0)
    receiver = deferred(retry=policy)

    @receiver.on_any
    def always_fails(delivery: Delivery) -> None:
        raise ZeroDivisionError

    post(receiver, sim_body())
    worker = receiver.worker()
    assert worker.run_once() == 1
    assert worker.run_once(now=utcnow() + timedelta(minutes=9)) == 0
    assert worker.run_once(now=utcnow() + timedelta(minutes=11)) == 1
    (event,) = receiver.store.list_events()
    assert (event.processing, event.attempts) == (ProcessingState.FAILED, 2)


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=10), max_delay=timedelta(minutes=1))
    assert policy.delay(1, rand=lambda: 0.0) == timedelta(seconds=10)
    assert policy.delay(3, rand=lambda: 0.0) == timedelta(seconds=40)
    assert policy.delay(9, rand=lambda: 0.0) == timedelta(minutes=1)
    assert policy.delay(1, rand=lambda: 1.0) == timedelta(seconds=5)  # jitter 0.5
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_poison_event_does_not_block_other_envelopes() -> None:
    receiver = deferred(retry=NO_WAIT)
    done: list[str] = []

    @receiver.on_any
    def handler(delivery: Delivery) -> None:
        if delivery.envelope_id == "poison":
            raise ValueError("cannot handle this one")
        done.append(delivery.envelope_id)

    post(
        receiver,
        sim_body(envelope_id="poison"),
        sim_body(envelope_id="fine-1"),
        sim_body(envelope_id="fine-2"),
    )
    receiver.worker().run_once()
    assert sorted(done) == ["fine-1", "fine-2"]


def test_events_of_one_envelope_run_in_docusign_order_one_at_a_time() -> None:
    receiver = deferred()
    seen: list[str] = []
    receiver.on_any(lambda d: seen.append(d.notification.event))
    post(
        receiver,
        sim_body("envelope-completed", "env", generated="2026-01-05T09:10:00Z"),
        sim_body("envelope-sent", "env", generated="2026-01-05T09:00:00Z"),
        sim_body("envelope-delivered", "env", generated="2026-01-05T09:05:00Z"),
    )
    worker = receiver.worker(concurrency=8)
    assert [worker.run_once() for _ in range(4)] == [1, 1, 1, 0]
    assert seen == ["envelope-sent", "envelope-delivered", "envelope-completed"]


def test_two_workers_never_run_one_envelope_at_once() -> None:
    receiver = deferred()
    running: dict[str, int] = {}
    overlaps: list[str] = []
    processed: list[str] = []
    lock = threading.Lock()

    @receiver.on_any
    def track(delivery: Delivery) -> None:
        with lock:
            running[delivery.envelope_id] = running.get(delivery.envelope_id, 0) + 1
            if running[delivery.envelope_id] > 1:
                overlaps.append(delivery.envelope_id)
        threading.Event().wait(0.005)
        with lock:
            running[delivery.envelope_id] -= 1
            processed.append(delivery.key)

    for i in range(30):
        post(
            receiver,
            sim_body(f"envelope-{i}", f"env-{i % 5}", generated=f"2026-01-05T09:{i:02}:00Z"),
        )
    threads = [WorkerThread(receiver.worker(concurrency=3, poll_interval=0.01)) for _ in range(2)]
    for thread in threads:
        thread.ensure_started()
    wait_until(lambda: len(processed) == 30, what="all events processed")
    for thread in threads:
        thread.stop()
    assert overlaps == []
    assert len(set(processed)) == 30


def test_expired_lease_is_taken_over_and_crashes_end_dead() -> None:
    receiver = deferred(retry=NO_WAIT, lease_for=timedelta(seconds=1))
    receiver.on_any(lambda d: None)
    post(receiver, sim_body())
    for i in range(3):  # three workers claim it and die without finishing
        assert len(receiver.queue.claim(f"crashed-{i}", lease_for=timedelta(0))) == 1
    assert receiver.worker().run_once(now=utcnow() + timedelta(seconds=1)) == 1
    (dead,) = receiver.store.list_events(processing=ProcessingState.DEAD)
    assert dead.error is not None and "claimed 4 times" in dead.error


def test_requeue_replays_a_processed_event() -> None:
    receiver = deferred()
    runs: list[int] = []
    receiver.on_any(lambda d: runs.append(d.attempt))
    post(receiver, sim_body())
    worker = receiver.worker()
    worker.run_once()
    (event,) = receiver.store.list_events()
    assert receiver.queue.requeue(event.key)
    worker.run_once()
    assert runs == [1, 1]


def test_asgi_lifespan_runs_the_in_process_worker() -> None:
    receiver = deferred()
    done = anyio.Event()
    seen: list[str] = []

    @receiver.on_envelope_completed
    async def completed(delivery: Delivery) -> None:
        seen.append(delivery.envelope_id)
        done.set()

    app = ConnectASGIMiddleware(receiver=receiver, worker_options={"poll_interval": 0.05})

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            body = sim_body(status="completed")
            reply = await client.post(PATH, content=body, headers=signed_headers(body))
            assert reply.status_code == 200
        with anyio.fail_after(15):
            await done.wait()

    sent = anyio.run(with_lifespan, app, scenario)
    assert seen == ["e8b18544-c605-4499-abcf-52209a7f4438"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert receiver.store.list_events()[0].processing is ProcessingState.PROCESSED


def test_processing_context_runs_an_in_process_worker_while_inside() -> None:
    receiver = deferred()
    done = anyio.Event()
    seen: list[str] = []

    @receiver.on_envelope_completed
    async def completed(delivery: Delivery) -> None:
        seen.append(delivery.envelope_id)
        done.set()

    async def scenario() -> None:
        async with receiver.processing(poll_interval=0.05) as worker:
            assert worker.processor is receiver.processor
            response = await receiver.ahandle(signed_request(sim_body(status="completed")))
            assert response.status == 200
            with anyio.fail_after(15):
                await done.wait()
        # Outside the block nothing claims any more.
        response = await receiver.ahandle(signed_request(sim_body("envelope-sent", status="sent")))
        assert response.status == 200
        await anyio.sleep(0.2)

    anyio.run(scenario)
    assert seen == ["e8b18544-c605-4499-abcf-52209a7f4438"]
    states = sorted(e.processing.value for e in receiver.store.list_events())
    assert states == ["pending", "processed"]


def test_inline_mode_keeps_the_envelope_order() -> None:
    receiver = deferred(mode="inline")
    ran: list[str] = []
    receiver.on_any(lambda d: ran.append(d.notification.event))
    later = sim_body("envelope-completed", status="completed", generated="2026-01-05T10:00:00Z")
    earlier = sim_body("envelope-sent", status="sent", generated="2026-01-05T09:00:00Z")
    receiver.queue.claim("a-worker", lease_for=timedelta(minutes=5))  # nothing yet
    post(receiver, later)
    assert ran == ["envelope-completed"]
    # The earlier event arrives while a worker holds the envelope: inline leaves it queued.
    (held,) = [e for e in receiver.store.list_events()]
    assert receiver.queue.requeue(held.key)
    assert [e.key for e in receiver.queue.claim("a-worker", lease_for=timedelta(minutes=5))] == [
        held.key
    ]
    post(receiver, earlier)
    assert ran == ["envelope-completed"]
    pending = [e for e in receiver.store.list_events() if e.event == "envelope-sent"]
    assert [e.processing for e in pending] == [ProcessingState.PENDING]


def test_enrich_completes_the_notification_before_the_callbacks() -> None:
    calls: list[str] = []

    async def enrich(notification: Notification) -> Notification:
        calls.append(notification.envelope_id)
        return msgspec.structs.replace(notification, subject="fetched from DocuSign")

    receiver = deferred(enrich=enrich)
    subjects: list[str | None] = []
    receiver.on_any(lambda d: subjects.append(d.notification.subject))
    post(receiver, sim_body())
    assert receiver.worker().run_once() == 1
    assert subjects == ["fetched from DocuSign"]
    assert calls == ["e8b18544-c605-4499-abcf-52209a7f4438"]


def test_a_failing_enrich_is_retried_like_a_failing_callback() -> None:
    def enrich(notification: Notification) -> Notification:
        raise ConnectionError("DocuSign unreachable")

    receiver = deferred(enrich=enrich, retry=NO_WAIT)
    ran: list[str] = []
    receiver.on_any(lambda d: ran.append(d.key))
    post(receiver, sim_body())
    assert receiver.worker().run_once() == 1
    (event,) = receiver.store.list_events()
    assert ran == [] and event.processing is ProcessingState.FAILED
    assert event.error is not None and "DocuSign unreachable" in event.error


@pytest.mark.parametrize("poll_interval", [0.0, -1.0, float("nan"), float("inf")])
def test_poll_interval_must_be_positive_and_finite(poll_interval: float) -> None:
    # NaN passed "<= 0": an idle worker's wait then returned at once, polling the store
    # in a busy loop
    receiver = Receiver(hmac_keys="k", store=MemoryStore())
    with pytest.raises(ValueError, match="poll_interval"):
        receiver.worker(poll_interval=poll_interval)


def _processing_of(store: MemoryStore) -> list[ProcessingState]:
    return [event.processing for event in store.events(EventQuery())]


@pytest.mark.parametrize("drain", [False, True])
def test_a_worker_without_callbacks_claims_nothing_unless_draining(
    drain: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # An in-process worker started before any callback is registered (or with none) would
    # mark every event processed, and callbacks added later would never see them.
    store = MemoryStore()
    receiver = Receiver(hmac_keys=KEY, store=store)
    assert receiver.handle(signed_request(sim_body())).status == 200
    worker = receiver.worker(poll_interval=0.01, drain=drain)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        if drain:
            wait_until(lambda: _processing_of(store) == [ProcessingState.PROCESSED])
            assert "claims nothing" not in caplog.text
            return
        wait_until(lambda: "claims nothing: the receiver has no callbacks" in caplog.text)
        assert _processing_of(store) == [ProcessingState.PENDING]
        seen: list[str] = []
        receiver.on_any(lambda delivery: seen.append(delivery.key))
        worker.wake()
        wait_until(lambda: _processing_of(store) == [ProcessingState.PROCESSED])
        assert len(seen) == 1
    finally:
        stop.set()
        worker.wake()
        thread.join(10)
