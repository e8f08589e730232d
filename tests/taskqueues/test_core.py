"""The broker-independent part of the task-queue backends, with a broker that is a list.

:class:`ListProcessing` is a backend whose ``publish`` appends ``(key, delay)`` to a list
(or raises while ``down``); everything else — the receiver's queue, the task body, the
chain to an envelope's next event, retries, the sweeper, the outbox — is the real code,
on a :class:`MemoryStore`.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from connect_mw import ConfigurationError, Delivery, MemoryStore, Receiver, RetryPolicy
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.starlette import ConnectEndpoint
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.keys import default_key
from connect_mw.parse import parse
from connect_mw.queues import Queue, StoreQueue
from connect_mw.stores.api import ProcessingState, Store, utcnow
from connect_mw.taskqueues import BrokerQueue, Outcome, TaskQueueProcessing, from_uri
from connect_mw.taskqueues.outbox import Outbox
from connect_mw.testing import QueueContract
from support.deliveries import KEY, signed_request, sim_body
from support.polling import wait_until

LEASE = timedelta(seconds=30)


class ListProcessing(TaskQueueProcessing):
    """A backend whose broker is a list of ``(key, delay)``; ``down`` makes it refuse."""

    kind = "list"

    def __init__(self, **options: float | None) -> None:
        super().__init__(name="list", **options)  # type: ignore[arg-type]
        self.sent: list[tuple[str, float | None]] = []
        self.down = False

    def publish(self, key: str, delay: float | None = None) -> None:
        if self.down:
            raise ConnectionRefusedError("broker down")
        self.sent.append((key, delay))

    def published(self) -> list[str]:
        return [key for key, _ in self.sent]


def make(
    retry: RetryPolicy | None = None, **options: float | None
) -> tuple[Receiver, ListProcessing]:
    backend = ListProcessing(**options)
    receiver = Receiver(
        hmac_keys=[KEY],
        store=MemoryStore(),
        processing=backend,
        lease_for=LEASE,
        retry=retry or RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=20), jitter=0),
    )
    backend.bind(receiver)
    return receiver, backend


def deliver(receiver: Receiver, envelope: str, step: int, event: str = "envelope-sent") -> str:
    body = sim_body(event, envelope, generated=f"2026-03-01T10:00:{step:02d}.0000000Z")
    response = receiver.handle(signed_request(body))
    assert response.status == 200
    return default_key(parse(body, None))


def ran(receiver: Receiver) -> list[str]:
    calls: list[str] = []
    receiver.on_any(lambda delivery: calls.append(delivery.key))
    return calls


# Wiring --------------------------------------------------------------------------------


def test_the_receiver_queue_is_the_store_queue_publishing_on_notify() -> None:
    receiver, backend = make()
    assert isinstance(receiver.queue, BrokerQueue)
    key = deliver(receiver, "env-1", 0)
    assert backend.outbox.flush(5)
    assert backend.sent == [(key, None)]  # the key only: the body stays in the store
    assert receiver.store.get_event(key) is not None


def test_a_backend_no_receiver_was_built_with_refuses_to_run() -> None:
    backend = ListProcessing()
    with pytest.raises(ConfigurationError, match="not bound"):
        backend.run("any")


def test_the_receiver_binds_its_backend_without_a_bind_call() -> None:
    backend = ListProcessing()
    receiver = Receiver(hmac_keys=[KEY], store=MemoryStore(), processing=backend)
    assert backend.processor is receiver.processor
    calls = ran(receiver)
    key = deliver(receiver, "env-1", 0)
    assert backend.run(key) is Outcome.PROCESSED
    assert calls == [key]


def test_an_explicit_bind_of_the_same_receiver_still_works() -> None:
    receiver, backend = make()  # make() calls backend.bind(receiver) as 0.x code did
    assert backend.processor is receiver.processor
    key = deliver(receiver, "env-1", 0)
    assert backend.run(key) is Outcome.PROCESSED


def test_the_adapters_start_no_worker_for_a_task_queue_unless_asked() -> None:
    receiver, _ = make()
    assert not receiver.queue.in_process_workers and not receiver.wants_worker()
    assert ConnectASGIMiddleware(None, receiver=receiver).worker is None
    assert ConnectWSGIMiddleware(None, receiver=receiver).worker_thread is None
    assert ConnectEndpoint(receiver).worker_thread is None
    assert ConnectWSGIMiddleware(None, receiver=receiver, run_worker=False).worker_thread is None
    assert ConnectASGIMiddleware(None, receiver=receiver, run_worker=True).worker is not None
    builtin = Receiver(hmac_keys=[KEY], store=MemoryStore())
    assert builtin.queue.in_process_workers and builtin.wants_worker()
    assert ConnectASGIMiddleware(None, receiver=builtin).worker is not None
    assert ConnectASGIMiddleware(None, receiver=builtin, run_worker=False).worker is None


def test_a_backend_serves_one_receiver_and_binds_only_it() -> None:
    backend = ListProcessing()
    Receiver(hmac_keys=[KEY], store=MemoryStore(), processing=backend)
    with pytest.raises(ConfigurationError, match="already serves"):
        Receiver(hmac_keys=[KEY], store=MemoryStore(), processing=backend)
    other = Receiver(hmac_keys=[KEY], store=MemoryStore())
    with pytest.raises(ConfigurationError, match="bind the receiver built with"):
        backend.bind(other)


def test_sweeper_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        ListProcessing(sweep_every=0)
    with pytest.raises(ConfigurationError):
        ListProcessing(sweep_after=-1)


# The task --------------------------------------------------------------------------------


def test_a_task_processes_its_event_and_enqueues_the_envelopes_next() -> None:
    receiver, backend = make()
    calls = ran(receiver)
    first = deliver(receiver, "env-1", 0)
    second = deliver(receiver, "env-1", 1, "envelope-delivered")
    backend.outbox.flush(5)
    backend.sent.clear()
    assert backend.run(second) is Outcome.SKIPPED  # its envelope's first event comes first
    assert calls == []
    assert backend.sent == [(first, None)]  # ... and is enqueued, should its message be lost
    backend.sent.clear()
    assert backend.run(first) is Outcome.PROCESSED
    assert calls == [first]
    assert backend.sent == [(second, None)]  # the chain: the next event is claimable now
    assert backend.run(second) is Outcome.PROCESSED
    assert backend.run(second) is Outcome.SKIPPED  # a duplicate message changes nothing
    assert calls == [first, second]
    events = {e.key: e for e in receiver.store.list_events()}
    assert {e.processing for e in events.values()} == {ProcessingState.PROCESSED}
    assert events[first].attempts == events[second].attempts == 1


def test_a_refused_claim_behind_a_running_event_enqueues_nothing() -> None:
    receiver, backend = make()
    first = deliver(receiver, "env-1", 0)
    second = deliver(receiver, "env-1", 1, "envelope-delivered")
    backend.outbox.flush(5)
    backend.sent.clear()
    assert receiver.queue.claim("busy", lease_for=LEASE, key=first)
    assert backend.run(second) is Outcome.SKIPPED
    assert backend.run(first) is Outcome.SKIPPED  # a duplicate message of the running one
    assert backend.sent == []  # the running event's worker enqueues the next


def test_a_claim_refused_under_contention_is_asked_again() -> None:
    receiver, backend = make()
    calls = ran(receiver)
    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.sent.clear()
    inner = receiver.queue.inner  # type: ignore[attr-defined]
    real = inner.claim
    inner.claim = lambda *args, **kwargs: []  # another claimer held the envelope just then
    assert backend.run(key) is Outcome.SKIPPED
    assert backend.sent == [(key, None)]
    inner.claim = real
    assert backend.run(key) is Outcome.PROCESSED
    assert calls == [key]


def test_a_failed_attempt_is_enqueued_again_at_its_retry_time() -> None:
    receiver, backend = make()

    @receiver.on_any
    def fail(delivery: Delivery) -> None:
        raise RuntimeError("downstream is down")

    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.sent.clear()
    assert backend.run(key) is Outcome.FAILED
    ((again, delay),) = backend.sent
    assert again == key and delay is not None and 19 < delay <= 20
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.FAILED
    assert backend.run(key) is Outcome.SKIPPED  # not due yet
    assert receiver.store.get_event(key).attempts == 1  # type: ignore[union-attr]


def test_the_last_attempt_ends_dead_and_the_envelope_moves_on() -> None:
    receiver, backend = make(retry=RetryPolicy(max_attempts=1))

    @receiver.on_any
    def fail(delivery: Delivery) -> None:
        raise RuntimeError("broken callback")

    first = deliver(receiver, "env-1", 0)
    second = deliver(receiver, "env-1", 1, "envelope-delivered")
    backend.outbox.flush(5)
    backend.sent.clear()
    assert backend.run(first) is Outcome.DEAD
    assert backend.sent == [(second, None)]


def test_a_store_failure_at_claim_is_asked_again_later_and_raised() -> None:
    receiver, backend = make(retry_delay=7.0)
    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.sent.clear()
    inner = receiver.queue.inner  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise OSError("store unreachable")

    inner.claim = broken
    with pytest.raises(OSError, match="unreachable"):
        backend.run(key)
    assert backend.sent == [(key, 7.0)]


def test_an_outcome_that_could_not_be_saved_is_asked_again_after_the_lease() -> None:
    receiver, backend = make()
    calls = ran(receiver)
    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.sent.clear()
    inner = receiver.queue.inner  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> bool:
        raise OSError("store unreachable")

    inner.finish = broken
    assert backend.run(key) is Outcome.UNSAVED
    assert calls == [key]
    assert backend.sent == [(key, LEASE.total_seconds())]
    event = receiver.store.get_event(key)
    assert event is not None and event.lease is not None  # held until the lease ends


def test_a_requeued_event_is_enqueued() -> None:
    receiver, backend = make(retry=RetryPolicy(max_attempts=1))

    @receiver.on_any
    def fail(delivery: Delivery) -> None:
        raise RuntimeError("broken callback")

    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    assert backend.run(key) is Outcome.DEAD
    backend.sent.clear()
    assert receiver.queue.requeue(key) is True
    backend.outbox.flush(5)
    assert backend.sent == [(key, None)]


# The sweeper ------------------------------------------------------------------------------


def test_the_sweeper_enqueues_each_envelopes_first_overdue_unleased_event() -> None:
    receiver, backend = make(sweep_after=60.0)
    backend.down = True  # the broker is down when the events are committed
    a1 = deliver(receiver, "env-a", 0)
    deliver(receiver, "env-a", 1, "envelope-delivered")
    b1 = deliver(receiver, "env-b", 2)
    c1 = deliver(receiver, "env-c", 3)
    backend.outbox.flush(5)
    backend.down = False
    assert backend.sent == []
    assert backend.sweep() == 0  # not pending long enough yet
    claimed = receiver.queue.claim("w", lease_for=timedelta(minutes=5), key=c1)
    assert [e.key for e in claimed] == [c1]  # env-c is being processed right now
    later = utcnow() + timedelta(seconds=61)
    assert backend.sweep(later) == 2
    assert sorted(backend.published()) == sorted([a1, b1])


def test_an_expired_lease_is_swept_a_live_one_is_not() -> None:
    receiver, backend = make(sweep_after=0.0)
    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.sent.clear()
    receiver.queue.claim("dead-worker", lease_for=timedelta(seconds=30), key=key)
    assert backend.sweep() == 0
    assert backend.sweep(utcnow() + timedelta(seconds=31)) == 1
    assert backend.published() == [key]


def test_the_sweeper_pages_through_many_envelopes() -> None:
    receiver, backend = make(sweep_after=0.0)
    backend.down = True
    keys = [deliver(receiver, f"env-{n:04d}", n % 60) for n in range(620)]
    backend.outbox.flush(5)
    backend.down = False
    assert backend.sweep() == 620
    assert sorted(backend.published()) == sorted(keys)


def test_about_one_sweeper_sweeps_per_interval() -> None:
    receiver, backend = make(sweep_every=10.0, sweep_after=0.0)
    backend.down = True
    deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.down = False
    now = utcnow()
    assert backend.sweep_if_due(now) == 1
    assert backend.sweep_if_due(now + timedelta(seconds=5)) == 0  # another process swept
    assert backend.sweep_if_due(now + timedelta(seconds=11)) == 1


def test_the_sweeper_thread_sweeps_at_once_and_stops() -> None:
    receiver, backend = make(sweep_every=60.0, sweep_after=0.0)
    backend.down = True
    key = deliver(receiver, "env-1", 0)
    backend.outbox.flush(5)
    backend.down = False
    sweeper = backend.sweeper()
    sweeper.start()
    try:
        wait_until(lambda: backend.published() == [key], what="the first sweep")
    finally:
        started = time.monotonic()
        sweeper.stop()
    assert time.monotonic() - started < 5


def test_the_sweeper_survives_a_down_broker() -> None:
    receiver, backend = make(sweep_every=0.05, sweep_after=0.0)
    backend.down = True
    key = deliver(receiver, "env-1", 0)
    sweeper = backend.sweeper()
    sweeper.start()
    try:
        time.sleep(0.2)  # sweeps fail meanwhile
        backend.down = False
        wait_until(lambda: key in backend.published(), what="a sweep once the broker is back")
    finally:
        sweeper.stop()


# The outbox -------------------------------------------------------------------------------


def test_the_outbox_publishes_in_order_off_the_calling_thread() -> None:
    threads: list[str] = []
    sent: list[str] = []

    def publish(key: str) -> None:
        threads.append(threading.current_thread().name)
        sent.append(key)

    outbox = Outbox(publish, name="test-outbox")
    for n in range(50):
        outbox.put(f"k{n}")
    assert outbox.flush(5)
    assert sent == [f"k{n}" for n in range(50)]
    assert set(threads) == {"test-outbox"}
    outbox.close(1)


def test_the_outbox_pauses_after_a_failure_and_resumes() -> None:
    sent: list[str] = []
    failing = True

    def publish(key: str) -> None:
        if failing:
            raise ConnectionRefusedError("down")
        sent.append(key)

    outbox = Outbox(publish, pause=0.3)
    outbox.put("k1")  # fails: pause
    outbox.put("k2")  # skipped during the pause: left to the sweeper
    assert outbox.flush(5)
    failing = False
    time.sleep(0.35)
    outbox.put("k3")
    assert outbox.flush(5)
    assert sent == ["k3"]
    outbox.close(1)


def test_a_full_outbox_drops_without_blocking() -> None:
    release = threading.Event()
    sent: list[str] = []

    def publish(key: str) -> None:
        release.wait(5)
        sent.append(key)

    outbox = Outbox(publish, capacity=2)
    started = time.monotonic()
    for n in range(10):
        outbox.put(f"k{n}")
    assert time.monotonic() - started < 1
    release.set()
    assert outbox.flush(5)
    assert 2 <= len(sent) <= 3  # the one in flight, then the two the outbox held
    outbox.close(1)


# The queue rules hold through the wrapper -------------------------------------------------


class _WrappedStore(MemoryStore):
    def queue(self) -> Queue:
        return BrokerQueue(StoreQueue(self), ListProcessing())


class TestBrokerQueueContract(QueueContract):
    """The queue contract, run on the queue a task-queue backend gives the receiver."""

    @pytest.fixture
    def store(self) -> Store:
        return _WrappedStore()


# URIs and imports ----------------------------------------------------------------------


def test_uri_shortcuts_build_each_backend() -> None:
    pytest.importorskip("celery")
    pytest.importorskip("dramatiq")
    pytest.importorskip("rq")
    from connect_mw.taskqueues.celery import CeleryProcessing
    from connect_mw.taskqueues.dramatiq import DramatiqProcessing
    from connect_mw.taskqueues.rq import RQProcessing

    celery = from_uri("celery+amqp://guest:guest@127.0.0.1:1//?queue=webhooks")
    assert isinstance(celery, CeleryProcessing) and celery.queue_name == "webhooks"
    assert celery.app.conf.broker_url == "amqp://guest:guest@127.0.0.1:1//"
    redis_celery = from_uri("celery+redis://127.0.0.1:1/2", task_name="t2")
    assert isinstance(redis_celery, CeleryProcessing) and redis_celery.queue_name is None
    dramatiq = from_uri("dramatiq+redis://127.0.0.1:1/0?queue=dq", actor_name="a1")
    assert isinstance(dramatiq, DramatiqProcessing)
    assert dramatiq.actor.queue_name == "dq" and dramatiq.actor.actor_name == "a1"
    rabbit = from_uri("dramatiq+amqp://guest:guest@127.0.0.1:1", actor_name="a2")
    assert type(rabbit.broker).__name__ == "RabbitmqBroker"  # type: ignore[attr-defined]
    rq = from_uri("rq+redis://127.0.0.1:1/3?queue=rq-hooks", receiver="app.connect:receiver")
    assert isinstance(rq, RQProcessing)
    assert rq.rq_queue.name == "rq-hooks" and rq.receiver_path == "app.connect:receiver"


@pytest.mark.parametrize(
    "uri",
    ["amqp://127.0.0.1", "kafka+tcp://127.0.0.1", "celery+127.0.0.1", "rq+redis://127.0.0.1"],
)
def test_bad_uris_are_refused(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        from_uri(uri)


def test_the_package_imports_no_task_queue() -> None:
    script = (
        "import sys, connect_mw.taskqueues\n"
        "from connect_mw.taskqueues import TaskQueueProcessing, from_uri\n"
        "found = {m.split('.')[0] for m in sys.modules} & "
        "{'celery', 'kombu', 'amqp', 'dramatiq', 'pika', 'rq', 'redis', 'psycopg'}\n"
        "print(sorted(found))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
