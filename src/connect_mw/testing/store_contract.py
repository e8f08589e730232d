"""The store contract suite: what every :class:`~connect_mw.stores.Store` must do.

Use it for your own store::

    from connect_mw.testing import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self, tmp_path):
            return MyStore(...)  # an empty store

pytest collects every ``test_*`` method below for your subclass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from ..stores.base import Lease, ProcessingState, Store, utcnow
from .builders import BASE_TIME, notification, recipient

RAW = b'{"event":"envelope-sent"}'
LEASE = timedelta(minutes=5)


class StoreContract:
    """Base class of store test suites; implement :meth:`make_store`."""

    def make_store(self, tmp_path: Path) -> Store:
        """Return a new, empty store (``tmp_path`` is a fresh directory)."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        """The store under test, closed afterwards."""
        store = self.make_store(tmp_path)
        yield store
        store.close()

    # Recording --------------------------------------------------------------------

    def test_record_new_event_folds_state(self, store: Store) -> None:
        outcome = store.record(notification("e1", "sent", subject="Contract"), RAW, "k1")
        assert outcome.inserted
        assert [t.name for t in outcome.transitions] == ["envelope-sent"]
        state = store.get_envelope("e1")
        assert state is not None
        assert state == outcome.state
        assert state.status == "sent"
        assert state.subject == "Contract"
        assert state.account_id == "acct-1"

    def test_duplicate_key_is_not_recorded_twice(self, store: Store) -> None:
        first = store.record(notification("e1", "sent"), RAW, "k1")
        again = store.record(notification("e1", "sent"), RAW + b" ", "k1")
        assert first.inserted and not again.inserted
        assert again.transitions == ()
        assert again.state == first.state
        assert [e.key for e in store.events("e1")] == ["k1"]
        event = store.get_event("k1")
        assert event is not None and event.raw == RAW

    def test_concurrent_records_of_one_key_insert_once(self, store: Store) -> None:
        barrier = threading.Barrier(8)
        results: list[bool] = []

        def deliver() -> None:
            barrier.wait()
            results.append(store.record(notification("e1", "sent"), RAW, "same").inserted)

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False] * 7 + [True]
        state = store.get_envelope("e1")
        assert state is not None and state.event_count == 1

    def test_concurrent_records_of_one_envelope_lose_no_fold(self, store: Store) -> None:
        barrier = threading.Barrier(6)
        statuses = ["sent", "delivered", "completed"]

        def deliver(i: int) -> None:
            barrier.wait()
            status = statuses[i % 3]
            n = notification("e1", status, at=BASE_TIME + timedelta(minutes=i % 3))
            store.record(n, RAW, f"k{i}")

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        state = store.get_envelope("e1")
        assert state is not None
        assert state.status == "completed"
        assert state.event_count == 6
        assert state.reached >= {"sent", "delivered", "completed"}

    def test_raw_body_is_kept_byte_for_byte(self, store: Store) -> None:
        raw = bytes(range(256)) * 3
        store.record(notification("e1", "sent"), raw, "k1")
        event = store.get_event("k1")
        assert event is not None
        assert event.raw == raw
        assert event.raw_size == len(raw)

    def test_unicode_survives(self, store: Store) -> None:
        n = notification(
            "e1",
            "sent",
            subject="Zoë — 契約書 ✍",
            recipients=(recipient("1", "sent", name="渡辺 Müller", email="zoë@example.com"),),
        )
        store.record(n, "é".encode(), "k1")
        state = store.get_envelope("e1")
        assert state is not None
        assert state.subject == "Zoë — 契約書 ✍"
        assert state.recipients[0].name == "渡辺 Müller"

    # Folding ----------------------------------------------------------------------

    def test_older_event_never_overwrites_newer_status(self, store: Store) -> None:
        store.record(notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1)), RAW, "k2")
        outcome = store.record(notification("e1", "sent", at=BASE_TIME), RAW, "k1")
        assert outcome.inserted and outcome.stale
        state = store.get_envelope("e1")
        assert state is not None and state.status == "delivered"
        assert state.reached == {"sent", "delivered"}

    def test_terminal_status_stays_terminal(self, store: Store) -> None:
        store.record(notification("e1", "completed", at=BASE_TIME), RAW, "k1")
        store.record(notification("e1", "sent", at=BASE_TIME + timedelta(days=1)), RAW, "k2")
        state = store.get_envelope("e1")
        assert state is not None and state.status == "completed"

    def test_recipient_state_is_folded(self, store: Store) -> None:
        first = notification(
            "e1",
            "sent",
            recipients=(
                recipient("1", "completed", signed_at=BASE_TIME),
                recipient("2", "sent"),
            ),
        )
        outcome = store.record(first, RAW, "k1")
        assert {(t.name, t.recipient_id) for t in outcome.transitions} == {
            ("envelope-sent", None),
            ("recipient-completed", "1"),
            ("recipient-sent", "2"),
        }
        state = store.get_envelope("e1")
        assert state is not None
        one, two = state.recipient("1"), state.recipient("2")
        assert one is not None and one.status == "completed"
        assert two is not None and two.status == "sent"

    # Queries ----------------------------------------------------------------------

    def test_unknown_envelope_and_event(self, store: Store) -> None:
        assert store.get_envelope("nope") is None
        assert store.get_event("nope") is None
        assert store.events("nope") == []

    def test_events_are_in_docusign_time_order(self, store: Store) -> None:
        for minutes, status in ((20, "completed"), (0, "sent"), (10, "delivered")):
            n = notification("e1", status, at=BASE_TIME + timedelta(minutes=minutes))
            store.record(n, RAW, f"k-{status}")
        events = store.events("e1")
        assert [e.event for e in events] == [
            "envelope-sent",
            "envelope-delivered",
            "envelope-completed",
        ]
        assert all(e.raw is None for e in events)
        assert events[2].transitions[0].name == "envelope-completed"

    def test_list_envelopes_filters_orders_and_limits(self, store: Store) -> None:
        for i in range(5):
            status = "completed" if i % 2 else "sent"
            n = notification(f"e{i}", status, at=BASE_TIME + timedelta(minutes=i))
            store.record(n, RAW, f"k{i}")
        assert [s.envelope_id for s in store.list_envelopes()] == ["e4", "e3", "e2", "e1", "e0"]
        assert [s.envelope_id for s in store.list_envelopes(status="completed")] == ["e3", "e1"]
        assert len(store.list_envelopes(limit=2)) == 2

    # Claims, leases, retries, dead letters ---------------------------------------------

    def test_new_event_is_pending_and_due(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.attempts, event.lease) == (ProcessingState.PENDING, 0, None)
        assert event.next_attempt_at is not None and event.next_attempt_at <= utcnow()

    def test_claim_leases_the_event_to_one_worker(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        (claimed,) = store.claim("w1", lease_for=LEASE)
        assert (claimed.key, claimed.raw, claimed.attempts) == ("k1", RAW, 1)
        assert claimed.lease is not None and claimed.lease.worker == "w1"
        assert claimed.lease.until > utcnow()
        assert store.claim("w2", lease_for=LEASE) == []
        assert store.finish("k1", "w2", ProcessingState.PROCESSED) is False
        assert store.finish("k1", "w1", ProcessingState.PROCESSED) is True
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.lease, event.attempts) == (
            ProcessingState.PROCESSED,
            None,
            1,
        )
        assert store.claim("w2", lease_for=LEASE) == []

    def test_expired_lease_is_claimed_again(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        now = utcnow()
        store.claim("dead-worker", lease_for=timedelta(minutes=1), now=now)
        (again,) = store.claim("w2", lease_for=LEASE, now=now + timedelta(minutes=2))
        assert again.attempts == 2
        assert again.lease is not None and again.lease.worker == "w2"
        assert store.finish("k1", "dead-worker", ProcessingState.PROCESSED) is False
        assert store.finish("k1", "w2", ProcessingState.PROCESSED) is True

    def test_one_envelope_runs_one_event_at_a_time_in_docusign_order(self, store: Store) -> None:
        for minutes, status in ((20, "completed"), (0, "sent"), (10, "delivered")):
            n = notification("e1", status, at=BASE_TIME + timedelta(minutes=minutes))
            store.record(n, RAW, f"k-{status}")
        order = []
        for _ in range(3):
            claimed = store.claim("w", lease_for=LEASE, limit=10)
            assert len(claimed) == 1
            order.append(claimed[0].key)
            store.finish(claimed[0].key, "w", ProcessingState.PROCESSED)
        assert order == ["k-sent", "k-delivered", "k-completed"]
        assert store.claim("w", lease_for=LEASE, limit=10) == []

    def test_envelopes_are_claimed_in_parallel(self, store: Store) -> None:
        for i in range(3):
            store.record(notification(f"e{i}", "sent"), RAW, f"k{i}")
        claimed = store.claim("w", lease_for=LEASE, limit=10)
        assert sorted(e.key for e in claimed) == ["k0", "k1", "k2"]

    def test_late_older_event_waits_for_the_event_in_flight(self, store: Store) -> None:
        store.record(notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1)), RAW, "new")
        (in_flight,) = store.claim("w1", lease_for=LEASE)
        store.record(notification("e1", "sent", at=BASE_TIME), RAW, "old")
        assert store.claim("w2", lease_for=LEASE, limit=10) == []
        store.finish(in_flight.key, "w1", ProcessingState.PROCESSED)
        assert [e.key for e in store.claim("w2", lease_for=LEASE)] == ["old"]

    def test_failed_event_is_retried_at_its_time(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        now = utcnow()
        store.claim("w", lease_for=LEASE, now=now)
        retry_at = now + timedelta(hours=1)
        assert store.finish("k1", "w", ProcessingState.FAILED, error="boom", retry_at=retry_at)
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.error) == (ProcessingState.FAILED, "boom")
        assert event.next_attempt_at == retry_at
        assert store.claim("w", lease_for=LEASE, now=now + timedelta(minutes=30)) == []
        (retried,) = store.claim("w", lease_for=LEASE, now=now + timedelta(hours=2))
        assert (retried.key, retried.attempts, retried.error) == ("k1", 2, "boom")

    def test_poison_event_blocks_its_envelope_only_until_dead(self, store: Store) -> None:
        store.record(notification("e1", "sent", at=BASE_TIME), RAW, "poison")
        store.record(notification("e1", "delivered", at=BASE_TIME + timedelta(1)), RAW, "next")
        store.record(notification("e2", "sent"), RAW, "other")
        now = utcnow()
        claimed = {e.key for e in store.claim("w", lease_for=LEASE, limit=10, now=now)}
        assert claimed == {"poison", "other"}
        store.finish("other", "w", ProcessingState.PROCESSED)
        later = now + timedelta(days=1)
        store.finish("poison", "w", ProcessingState.FAILED, error="bad", retry_at=later)
        assert store.claim("w", lease_for=LEASE, limit=10, now=now) == []
        (poison,) = store.claim("w", lease_for=LEASE, limit=10, now=later)
        store.finish(poison.key, "w", ProcessingState.DEAD, error="gave up")
        assert [e.key for e in store.claim("w", lease_for=LEASE, limit=10, now=later)] == ["next"]
        dead = store.events(processing=ProcessingState.DEAD)
        assert [(e.key, e.error) for e in dead] == [("poison", "gave up")]

    def test_failed_without_retry_time_is_due_at_once(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        store.claim("w", lease_for=LEASE)
        assert store.finish("k1", "w", ProcessingState.FAILED, error="boom")
        (again,) = store.claim("w", lease_for=LEASE, now=utcnow() + timedelta(seconds=1))
        assert (again.key, again.attempts) == ("k1", 2)

    def test_duplicate_key_of_another_envelope_records_nothing(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "same-key")
        outcome = store.record(notification("e2", "sent"), RAW, "same-key")
        assert not outcome.inserted
        assert outcome.state.envelope_id == "e2" and outcome.transitions == ()
        assert store.get_envelope("e2") is None

    def test_release_returns_the_event_untried(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        store.claim("w", lease_for=LEASE)
        assert store.finish("k1", "w", ProcessingState.PENDING)
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.attempts, event.lease) == (ProcessingState.PENDING, 0, None)
        assert [e.key for e in store.claim("w2", lease_for=LEASE)] == ["k1"]

    def test_requeue_replays_a_final_event(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "k1")
        store.claim("w", lease_for=LEASE)
        assert store.requeue("k1") is False  # under a live lease
        store.finish("k1", "w", ProcessingState.DEAD, error="gave up")
        assert store.requeue("k1") is True
        assert store.requeue("unknown") is False
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.attempts) == (ProcessingState.PENDING, 0)
        assert [e.key for e in store.claim("w", lease_for=LEASE)] == ["k1"]

    def test_record_with_a_lease_is_claimed_already(self, store: Store) -> None:
        lease = Lease("inline", utcnow() + LEASE)
        store.record(notification("e1", "sent"), RAW, "k1", lease=lease)
        assert store.claim("w", lease_for=LEASE) == []
        event = store.get_event("k1")
        assert event is not None and event.attempts == 1 and event.lease == lease
        assert store.finish("k1", "inline", ProcessingState.PROCESSED)

    def test_concurrent_claims_never_share_an_event(self, store: Store) -> None:
        for i in range(24):
            store.record(notification(f"e{i}", "sent"), RAW, f"k{i}")
        barrier = threading.Barrier(6)
        claimed: list[str] = []

        def worker(name: str) -> None:
            barrier.wait()
            for _ in range(3):
                claimed.extend(e.key for e in store.claim(name, lease_for=LEASE, limit=3))

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(claimed) == sorted(f"k{i}" for i in range(24))

    def test_events_filter_by_processing_state_and_limit(self, store: Store) -> None:
        for i in range(3):
            store.record(notification(f"e{i}", "sent", at=BASE_TIME + timedelta(i)), RAW, f"k{i}")
        (first,) = store.claim("w", lease_for=LEASE)
        store.finish(first.key, "w", ProcessingState.PROCESSED)
        assert [e.key for e in store.events(processing=ProcessingState.PENDING)] == ["k1", "k2"]
        assert [e.key for e in store.events(limit=2)] == ["k0", "k1"]
        assert [e.key for e in store.events("e2")] == ["k2"]

    def test_purge_deletes_old_final_events_only(self, store: Store) -> None:
        store.record(notification("e1", "sent"), RAW, "done")
        store.record(notification("e2", "sent"), RAW, "pending")
        store.claim("w", lease_for=LEASE, limit=1)
        store.finish("done", "w", ProcessingState.PROCESSED)
        assert store.purge(utcnow() - timedelta(minutes=1)) == 0
        assert store.purge(utcnow() + timedelta(minutes=1)) == 1
        assert store.get_event("done") is None
        assert store.get_event("pending") is not None
        assert store.get_envelope("e1") is not None

    def test_async_twins_match_sync_methods(self, store: Store) -> None:
        async def scenario() -> None:
            outcome = await store.arecord(notification("e1", "sent"), RAW, "k1")
            assert outcome.inserted
            assert await store.aget_envelope("e1") == outcome.state
            assert [e.key for e in await store.aevents("e1")] == ["k1"]
            (claimed,) = await store.aclaim("w", lease_for=LEASE)
            assert await store.afinish(claimed.key, "w", ProcessingState.PROCESSED)
            event = await store.aget_event("k1")
            assert event is not None and event.processing is ProcessingState.PROCESSED
            assert len(await store.alist_envelopes()) == 1

        anyio.run(scenario)
