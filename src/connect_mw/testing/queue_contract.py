"""The queue contract suite: the claim rules of :mod:`connect_mw.queues.api`, checked.

Part of :class:`~connect_mw.testing.StoreContract`: every test runs on ``store.queue()``,
the queue a receiver uses for that store (the store-backed default, or the store's own).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from ..effects import drive
from ..queues.api import Queue
from ..recording import RecordOutcome, record
from ..stores.api import Lease, ProcessingState, Store, StoredEvent, utcnow
from .builders import BASE_TIME, notification

if TYPE_CHECKING:
    from ..model import Notification

RAW = b'{"event":"envelope-sent"}'
LEASE = timedelta(minutes=5)


def _record(store: Store, n: Notification, key: str) -> RecordOutcome:
    return drive(record(store, n, RAW, key))


def _keys(events: list[StoredEvent]) -> list[str]:
    return [e.key for e in events]


class QueueContract:
    """The queue rules, on the queue of the ``store`` fixture the subclass provides."""

    def test_claim_leases_the_event_to_one_worker(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        (claimed,) = queue.claim("w1", lease_for=LEASE)
        assert (claimed.key, claimed.attempts, claimed.processing) == (
            "k1",
            1,
            ProcessingState.PENDING,
        )
        assert claimed.lease is not None and claimed.lease.worker == "w1"
        assert claimed.lease.until > utcnow()
        assert queue.claim("w2", lease_for=LEASE) == []
        assert queue.finish("k1", "w2", ProcessingState.PROCESSED) is False
        assert queue.finish("k1", "w1", ProcessingState.PROCESSED) is True
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.lease, event.attempts, event.raw) == (
            ProcessingState.PROCESSED,
            None,
            1,
            RAW,
        )
        assert queue.claim("w2", lease_for=LEASE) == []

    def test_expired_lease_is_claimed_again(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        now = utcnow()
        queue.claim("dead-worker", lease_for=timedelta(minutes=1), now=now)
        (again,) = queue.claim("w2", lease_for=LEASE, now=now + timedelta(minutes=2))
        assert again.attempts == 2
        assert again.lease is not None and again.lease.worker == "w2"
        assert queue.finish("k1", "dead-worker", ProcessingState.PROCESSED) is False
        assert queue.finish("k1", "w2", ProcessingState.PROCESSED) is True

    def test_one_envelope_runs_one_event_at_a_time_in_docusign_order(self, store: Store) -> None:
        queue = store.queue()
        for minutes, status in ((20, "completed"), (0, "sent"), (10, "delivered")):
            n = notification("e1", status, at=BASE_TIME + timedelta(minutes=minutes))
            _record(store, n, f"k-{status}")
        order = []
        for _ in range(3):
            claimed = queue.claim("w", lease_for=LEASE, limit=10)
            assert len(claimed) == 1
            order.append(claimed[0].key)
            queue.finish(claimed[0].key, "w", ProcessingState.PROCESSED)
        assert order == ["k-sent", "k-delivered", "k-completed"]
        assert queue.claim("w", lease_for=LEASE, limit=10) == []

    def test_envelopes_are_claimed_in_parallel(self, store: Store) -> None:
        queue = store.queue()
        for i in range(3):
            _record(store, notification(f"e{i}", "sent"), f"k{i}")
        claimed = queue.claim("w", lease_for=LEASE, limit=10)
        assert sorted(_keys(claimed)) == ["k0", "k1", "k2"]

    def test_limit_bounds_a_claim(self, store: Store) -> None:
        queue = store.queue()
        for i in range(5):
            _record(store, notification(f"e{i}", "sent"), f"k{i}")
        assert len(queue.claim("w", lease_for=LEASE, limit=2)) == 2
        assert len(queue.claim("w", lease_for=LEASE, limit=10)) == 3

    def test_late_older_event_waits_for_the_event_in_flight(self, store: Store) -> None:
        queue = store.queue()
        later = notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1))
        _record(store, later, "new")
        (in_flight,) = queue.claim("w1", lease_for=LEASE)
        _record(store, notification("e1", "sent", at=BASE_TIME), "old")
        assert queue.claim("w2", lease_for=LEASE, limit=10) == []
        queue.finish(in_flight.key, "w1", ProcessingState.PROCESSED)
        assert _keys(queue.claim("w2", lease_for=LEASE)) == ["old"]

    def test_failed_event_is_retried_at_its_time(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        now = utcnow()
        queue.claim("w", lease_for=LEASE, now=now)
        retry_at = now + timedelta(hours=1)
        assert queue.finish("k1", "w", ProcessingState.FAILED, error="boom", retry_at=retry_at)
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.error) == (ProcessingState.FAILED, "boom")
        assert event.next_attempt_at == retry_at
        assert queue.claim("w", lease_for=LEASE, now=now + timedelta(minutes=30)) == []
        (retried,) = queue.claim("w", lease_for=LEASE, now=now + timedelta(hours=2))
        assert (retried.key, retried.attempts, retried.error) == ("k1", 2, "boom")

    def test_poison_event_blocks_its_envelope_only_until_dead(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent", at=BASE_TIME), "poison")
        _record(store, notification("e1", "delivered", at=BASE_TIME + timedelta(1)), "next")
        _record(store, notification("e2", "sent"), "other")
        now = utcnow()
        claimed = set(_keys(queue.claim("w", lease_for=LEASE, limit=10, now=now)))
        assert claimed == {"poison", "other"}
        queue.finish("other", "w", ProcessingState.PROCESSED)
        later = now + timedelta(days=1)
        queue.finish("poison", "w", ProcessingState.FAILED, error="bad", retry_at=later)
        assert queue.claim("w", lease_for=LEASE, limit=10, now=now) == []
        (poison,) = queue.claim("w", lease_for=LEASE, limit=10, now=later)
        queue.finish(poison.key, "w", ProcessingState.DEAD, error="gave up")
        assert _keys(queue.claim("w", lease_for=LEASE, limit=10, now=later)) == ["next"]
        dead = store.list_events(processing=ProcessingState.DEAD)
        assert [(e.key, e.error) for e in dead] == [("poison", "gave up")]

    def test_failed_without_retry_time_is_due_at_once(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        queue.claim("w", lease_for=LEASE)
        assert queue.finish("k1", "w", ProcessingState.FAILED, error="boom")
        (again,) = queue.claim("w", lease_for=LEASE, now=utcnow() + timedelta(seconds=1))
        assert (again.key, again.attempts) == ("k1", 2)

    def test_release_returns_the_event_untried(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        queue.claim("w", lease_for=LEASE)
        assert queue.finish("k1", "w", ProcessingState.PENDING)
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.attempts, event.lease) == (ProcessingState.PENDING, 0, None)
        assert _keys(queue.claim("w2", lease_for=LEASE)) == ["k1"]

    def test_requeue_replays_a_final_event(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        queue.claim("w", lease_for=LEASE)
        assert queue.requeue("k1") is False  # under a live lease
        queue.finish("k1", "w", ProcessingState.DEAD, error="gave up")
        assert queue.requeue("k1") is True
        assert queue.requeue("unknown") is False
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.attempts) == (ProcessingState.PENDING, 0)
        assert _keys(queue.claim("w", lease_for=LEASE)) == ["k1"]

    def test_claim_by_key_obeys_the_envelope_order(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent", at=BASE_TIME), "first")
        _record(store, notification("e1", "delivered", at=BASE_TIME + timedelta(1)), "second")
        _record(store, notification("e2", "sent"), "other")
        assert queue.claim("inline", lease_for=LEASE, key="second") == []
        assert _keys(queue.claim("inline", lease_for=LEASE, key="other")) == ["other"]
        assert _keys(queue.claim("inline", lease_for=LEASE, key="first")) == ["first"]
        assert queue.claim("inline", lease_for=LEASE, key="first") == []  # leased now
        assert queue.claim("inline", lease_for=LEASE, key="unknown") == []

    def test_concurrent_claims_never_share_an_event(self, store: Store) -> None:
        for i in range(24):
            _record(store, notification(f"e{i}", "sent"), f"k{i}")
        claimed = self._claim_concurrently(store, workers=6, rounds=3, limit=3)
        assert sorted(claimed) == sorted(f"k{i}" for i in range(24))

    def test_concurrent_claims_never_run_two_events_of_one_envelope(self, store: Store) -> None:
        for i in range(6):
            at = BASE_TIME + timedelta(minutes=i)
            _record(store, notification(f"e{i % 2}", "sent", at=at), f"k{i}")
        claimed = self._claim_concurrently(store, workers=6, rounds=1, limit=3)
        envelopes = [key for key in claimed if key in {"k0", "k1"}]
        assert sorted(claimed) == sorted(envelopes) == ["k0", "k1"]

    @staticmethod
    def _claim_concurrently(store: Store, *, workers: int, rounds: int, limit: int) -> list[str]:
        queues: list[Queue] = [store.queue() for _ in range(workers)]
        barrier = threading.Barrier(workers)
        claimed: list[str] = []

        def work(i: int) -> None:
            barrier.wait()
            for _ in range(rounds):
                claimed.extend(_keys(queues[i].claim(f"w{i}", lease_for=LEASE, limit=limit)))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return claimed

    def test_events_filter_by_processing_state_and_limit(self, store: Store) -> None:
        queue = store.queue()
        for i in range(3):
            n = notification(f"e{i}", "sent", at=BASE_TIME + timedelta(i))
            _record(store, n, f"k{i}")
        (first,) = queue.claim("w", lease_for=LEASE)
        queue.finish(first.key, "w", ProcessingState.PROCESSED)
        assert _keys(store.list_events(processing=ProcessingState.PENDING)) == ["k1", "k2"]
        assert _keys(store.list_events(limit=2)) == ["k0", "k1"]
        assert _keys(store.list_events("e2")) == ["k2"]

    def test_a_claimed_lease_is_what_the_store_shows(self, store: Store) -> None:
        queue = store.queue()
        _record(store, notification("e1", "sent"), "k1")
        now = utcnow()
        (claimed,) = queue.claim("w", lease_for=LEASE, now=now)
        event = store.get_event("k1")
        assert event is not None
        assert event.lease == claimed.lease == Lease("w", now + LEASE)
