"""The store contract suite: what every :class:`~connect_mw.stores.api.Store` must do.

Use it for your own store::

    from connect_mw.testing import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self, tmp_path):
            return MyStore(...)  # an empty store

pytest collects every ``test_*`` method for your subclass: the six storage primitives,
recording through the core (whole outcomes: inserted, state, transitions), and the work
queue over your store (:class:`~connect_mw.testing.queue_contract.QueueContract`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta, timezone
from pathlib import Path

import anyio
import pytest

from ..effects import adrive, drive
from ..errors import ConfigurationError
from ..keys import default_key
from ..model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat, Transition
from ..parse import parse
from ..recording import RecordOutcome, record
from ..stores.api import (
    PURGEABLE,
    Commit,
    EnvelopeQuery,
    EnvelopeSearch,
    EventQuery,
    Lease,
    ProcessingState,
    Progress,
    Store,
    StoredEvent,
    StoreEncodingError,
    utcnow,
)
from .builders import BASE_TIME, notification, recipient
from .overview_contract import OverviewContract
from .queue_contract import QueueContract

RAW = b'{"event":"envelope-sent"}'
#: A DocuSign JSON SIM body whose default key is pinned below.
KNOWN_BODY = (
    b'{"event":"envelope-sent","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/'
    b'5d1c8f3a-2b47-4e9a-9c31-7f0e6a2d4b18/envelopes/4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a",'
    b'"retryCount":0,"configurationId":10011234,"generatedDateTime":"2024-03-05T17:21:09.1234567Z",'
    b'"data":{"accountId":"5d1c8f3a-2b47-4e9a-9c31-7f0e6a2d4b18","userId":'
    b'"c0ffee00-1234-4abc-8def-0123456789ab","envelopeId":"4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a"}}'
)


def stored_event(
    key: str = "k1",
    envelope_id: str = "e1",
    *,
    minutes: float = 0,
    raw: bytes = RAW,
    occurred: bool = True,
) -> StoredEvent:
    """An event as the core hands it to ``commit`` (every field set, ``sequence`` 0)."""
    now = utcnow()
    return StoredEvent(
        key=key,
        envelope_id=envelope_id,
        account_id="acct-1",
        event="envelope-sent",
        status=EnvelopeStatus.SENT,
        format=PayloadFormat.JSON_SIM,
        occurred_at=BASE_TIME + timedelta(minutes=minutes) if occurred else None,
        received_at=now,
        raw_size=len(raw),
        transitions=(Transition("envelope", "sent"), Transition("recipient", "sent", "1")),
        next_attempt_at=now,
        raw=raw,
    )


def state_of(envelope_id: str = "e1", status: str = "sent", minutes: float = 0) -> EnvelopeState:
    """A folded-looking envelope state."""
    at = BASE_TIME + timedelta(minutes=minutes)
    return EnvelopeState(
        envelope_id=envelope_id,
        account_id="acct-1",
        status=EnvelopeStatus(status),
        status_at=at,
        updated_at=at,
        reached=frozenset({status}),
        event_count=1,
    )


def in_threads(count: int, task: Callable[[int], object]) -> list[object]:
    """Run ``task(i)`` in ``count`` threads released together; their results in order."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = task(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class StoreContract(QueueContract, OverviewContract):
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

    @staticmethod
    def record(store: Store, n: Notification, raw: bytes = RAW, key: str = "k1") -> RecordOutcome:
        """Record through the core, as the receiver does."""
        return drive(record(store, n, raw, key))

    def overwrite_state(self, store: Store, envelope_id: str, text: str) -> None:
        """Replace the stored state text of ``envelope_id`` by ``text``, past the codec.

        Optional: implement it for a store that keeps states as text (``dump_state``) to
        check that text which does not decode fails as :class:`StoreEncodingError`.
        """
        pytest.skip("this store keeps no state text to damage (optional)")

    # The primitives: load and commit ----------------------------------------------

    def test_unknown_envelope_and_event(self, store: Store) -> None:
        assert store.load("nope") is None
        assert store.get_event("nope") is None
        assert store.events(EventQuery(envelope_id="nope")) == []
        assert store.envelopes(EnvelopeQuery()) == []

    def test_commit_stores_event_and_state_with_version_one(self, store: Store) -> None:
        event, state = stored_event(), state_of()
        assert store.commit(event, state, 0) is Commit.INSERTED
        snapshot = store.load("e1")
        assert snapshot is not None and (snapshot.state, snapshot.version) == (state, 1)
        stored = store.get_event("k1")
        assert stored is not None and stored.sequence > 0
        assert stored == dataclasses.replace(event, sequence=stored.sequence)

    def test_every_field_survives_the_round_trip(self, store: Store) -> None:
        event = stored_event(occurred=False)
        odd = event.received_at.replace(microsecond=123456)
        event = dataclasses.replace(
            event, received_at=odd, next_attempt_at=odd, account_id=None, status=None
        )
        state = EnvelopeState(envelope_id="e1")
        assert store.commit(event, state, 0) is Commit.INSERTED
        stored = store.get_event("k1")
        assert stored is not None
        assert stored == dataclasses.replace(event, sequence=stored.sequence)
        assert stored.received_at.tzinfo is not None
        assert stored.received_at.utcoffset() == timezone.utc.utcoffset(None)
        snapshot = store.load("e1")
        assert snapshot is not None and snapshot.state == state

    def test_commit_of_a_stored_key_is_a_duplicate_and_writes_nothing(self, store: Store) -> None:
        store.commit(stored_event(), state_of(), 0)
        again = stored_event(raw=RAW + b" ")
        assert store.commit(again, state_of(status="delivered"), 1) is Commit.DUPLICATE
        snapshot = store.load("e1")
        assert snapshot is not None and (snapshot.state, snapshot.version) == (state_of(), 1)
        stored = store.get_event("k1")
        assert stored is not None and stored.raw == RAW

    def test_duplicate_key_of_another_envelope_writes_nothing(self, store: Store) -> None:
        store.commit(stored_event(), state_of(), 0)
        other = stored_event(envelope_id="e2")
        assert store.commit(other, state_of("e2"), 0) is Commit.DUPLICATE
        assert store.load("e2") is None

    def test_commit_on_a_changed_envelope_is_a_conflict(self, store: Store) -> None:
        store.commit(stored_event("k1"), state_of(), 0)
        assert store.commit(stored_event("k2"), state_of(status="delivered"), 0) is Commit.CONFLICT
        assert store.commit(stored_event("k2"), state_of(status="delivered"), 5) is Commit.CONFLICT
        assert store.get_event("k2") is None
        snapshot = store.load("e1")
        assert snapshot is not None and (snapshot.state, snapshot.version) == (state_of(), 1)
        assert store.commit(stored_event("k2"), state_of(status="delivered"), 1) is Commit.INSERTED
        snapshot = store.load("e1")
        assert snapshot is not None and snapshot.version == 2
        assert snapshot.state.status == "delivered"

    def test_an_event_about_no_envelope_is_stored_alone(self, store: Store) -> None:
        dead = dataclasses.replace(
            stored_event("unparsed:1", ""),
            status=None,
            occurred_at=None,
            transitions=(),
            processing=ProcessingState.DEAD,
            error="JSON: not well-formed",
        )
        assert store.commit(dead, None, 0) is Commit.INSERTED
        assert store.commit(dead, None, 0) is Commit.DUPLICATE
        assert store.load("") is None
        assert store.envelopes(EnvelopeQuery()) == []
        stored = store.get_event("unparsed:1")
        assert stored is not None
        assert stored == dataclasses.replace(dead, sequence=stored.sequence)
        listed = store.list_events(processing=ProcessingState.DEAD)
        assert [(e.key, e.error) for e in listed] == [("unparsed:1", "JSON: not well-formed")]
        assert store.queue().claim("w", lease_for=timedelta(minutes=5), limit=10) == []

    @pytest.mark.parametrize(
        "text",
        [
            "{not json",
            '{"envelope_id": 7}',
            '{"envelope_id": "e1", "recipients": [{"id": null}]}',
            '{"envelope_id": "e1", "status_at": "yesterday"}',
        ],
    )
    def test_stored_state_that_does_not_decode_is_a_store_encoding_error(
        self, store: Store, text: str
    ) -> None:
        self.record(store, notification("e1"))
        self.overwrite_state(store, "e1", text)
        with pytest.raises(StoreEncodingError):
            store.load("e1")
        assert store.envelopes(EnvelopeQuery()) == []  # left out, see the test below
        later = notification("e1", "delivered", at=BASE_TIME + timedelta(minutes=1))
        with pytest.raises(StoreEncodingError):
            self.record(store, later, key="k2")
        assert store.get_event("k2") is None

    def test_a_damaged_state_is_left_out_of_listings_with_a_warning(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        for i in (1, 2, 3):  # e3 was updated last: listed first
            at = BASE_TIME + timedelta(minutes=i)
            self.record(store, notification(f"e{i}", at=at, subject=f"s{i}"), key=f"k{i}")
        self.overwrite_state(store, "e2", "{not json")
        with caplog.at_level(logging.WARNING, logger="connect_mw"):
            listed = [state.envelope_id for state in store.envelopes(EnvelopeQuery())]
        assert listed == ["e3", "e1"]
        damaged = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(damaged) == 1 and "e2" in damaged[0].getMessage()
        # A page short of the damaged state reads on: only the listing's end is short.
        assert [s.envelope_id for s in store.envelopes(EnvelopeQuery(limit=2))] == ["e3", "e1"]
        found = store.search_envelopes(EnvelopeSearch("e"))
        assert [state.envelope_id for state in found] == ["e3", "e1"]
        # A count kept by the database includes it; the default, which reads states, cannot.
        assert store.envelope_counts() in ({"sent": 3}, {"sent": 2})
        with pytest.raises(StoreEncodingError):  # the envelope itself is still an error
            store.load("e2")

    def test_sequence_grows_with_each_commit(self, store: Store) -> None:
        for i in range(3):
            store.commit(stored_event(f"k{i}", f"e{i}"), state_of(f"e{i}"), 0)
        sequences = [e.sequence for e in store.events(EventQuery())]
        assert sequences == sorted(sequences) and len(set(sequences)) == 3

    def test_concurrent_commits_of_one_key_insert_once(self, store: Store) -> None:
        results = in_threads(8, lambda i: store.commit(stored_event(), state_of(), 0))
        assert results.count(Commit.INSERTED) == 1
        # The losers saw the key (duplicate) or, racing the same version, the envelope.
        assert results.count(Commit.DUPLICATE) + results.count(Commit.CONFLICT) == 7
        assert len(store.events(EventQuery(envelope_id="e1"))) == 1

    def test_concurrent_commits_on_one_version_insert_once(self, store: Store) -> None:
        results = in_threads(8, lambda i: store.commit(stored_event(f"k{i}"), state_of(), 0))
        assert results.count(Commit.INSERTED) == 1
        assert results.count(Commit.CONFLICT) == 7
        assert len(store.events(EventQuery(envelope_id="e1"))) == 1

    def test_raw_body_is_kept_byte_for_byte(self, store: Store) -> None:
        raw = bytes(range(256)) * 3
        store.commit(stored_event(raw=raw), state_of(), 0)
        stored = store.get_event("k1")
        assert stored is not None and (stored.raw, stored.raw_size) == (raw, len(raw))

    def test_a_large_body_is_kept(self, store: Store) -> None:
        raw = b"<PDFBytes>" + b"QUJD" * 300_000 + b"</PDFBytes>"
        store.commit(stored_event(raw=raw), state_of(), 0)
        stored = store.get_event("k1")
        assert stored is not None and stored.raw == raw

    # The primitives: queries ------------------------------------------------------

    def test_events_come_in_docusign_order_without_bodies(self, store: Store) -> None:
        for key, minutes in (("late", 20), ("early", 0), ("middle", 10)):
            store.commit(
                stored_event(key, f"env-{key}", minutes=minutes), state_of(f"env-{key}"), 0
            )
        events = store.events(EventQuery())
        assert [e.key for e in events] == ["early", "middle", "late"]
        assert all(e.raw is None for e in events)

    def test_events_of_one_time_come_in_recording_order(self, store: Store) -> None:
        for i in range(3):
            store.commit(stored_event(f"k{i}", f"e{i}"), state_of(f"e{i}"), 0)
        assert [e.key for e in store.events(EventQuery())] == ["k0", "k1", "k2"]

    def test_event_query_filters(self, store: Store) -> None:
        for i in range(2):
            store.commit(stored_event(f"k{i}", f"e{i}", minutes=i), state_of(f"e{i}"), 0)
        assert [e.key for e in store.events(EventQuery(envelope_id="e0"))] == ["k0"]
        first = store.get_event("k0")
        assert first is not None
        later = utcnow() + timedelta(hours=1)
        failed = Progress(ProcessingState.FAILED, 1, later, None, "boom", first.revision + 1)
        assert store.update_event("k0", first.revision, failed)
        states = frozenset({ProcessingState.FAILED})
        assert [e.key for e in store.events(EventQuery(processing=states))] == ["k0"]
        due_now = store.events(EventQuery(due_by=utcnow()))
        assert [e.key for e in due_now] == ["k1"]
        assert [e.key for e in store.events(EventQuery(due_by=later))] == ["k0", "k1"]
        before = store.events(EventQuery(received_before=utcnow() + timedelta(seconds=1)))
        assert len(before) == 2
        assert store.events(EventQuery(received_before=first.received_at)) == []

    def test_event_pages_follow_the_keyset(self, store: Store) -> None:
        for i in range(7):
            store.commit(stored_event(f"k{i}", f"e{i}", minutes=i % 3), state_of(f"e{i}"), 0)
        expected = [e.key for e in store.events(EventQuery())]
        seen: list[str] = []
        after = None
        while True:
            page = store.events(EventQuery(after=after, limit=3))
            seen.extend(e.key for e in page)
            if len(page) < 3:
                break
            after = page[-1].position
        assert seen == expected and len(seen) == 7

    def test_envelopes_filter_order_and_page(self, store: Store) -> None:
        for i in range(5):
            status = "completed" if i % 2 else "sent"
            store.commit(stored_event(f"k{i}", f"e{i}"), state_of(f"e{i}", status, i), 0)
        store.commit(stored_event("kn", "e-none"), EnvelopeState(envelope_id="e-none"), 0)
        ids = [s.envelope_id for s in store.envelopes(EnvelopeQuery())]
        assert ids == ["e4", "e3", "e2", "e1", "e0", "e-none"]
        completed = store.envelopes(EnvelopeQuery(status="completed"))
        assert [s.envelope_id for s in completed] == ["e3", "e1"]
        first = store.envelopes(EnvelopeQuery(limit=2))
        rest = store.envelopes(EnvelopeQuery(after=(first[-1].updated_at, "e3"), limit=10))
        assert [s.envelope_id for s in first + rest] == ids

    def test_envelopes_of_one_time_page_by_id(self, store: Store) -> None:
        for name in ("b", "a", "c"):
            store.commit(stored_event(f"k{name}", name), state_of(name), 0)
        ids = [s.envelope_id for s in store.envelopes(EnvelopeQuery())]
        assert ids == ["a", "b", "c"]
        page = store.envelopes(EnvelopeQuery(after=(BASE_TIME, "a"), limit=1))
        assert [s.envelope_id for s in page] == ["b"]

    # The primitives: compare-and-set ------------------------------------------------

    def test_update_event_replaces_progress_on_the_right_revision(self, store: Store) -> None:
        store.commit(stored_event(), state_of(), 0)
        event = store.get_event("k1")
        assert event is not None
        lease = Lease("w1", utcnow() + timedelta(minutes=5))
        progress = Progress(
            ProcessingState.FAILED, 3, utcnow(), lease, "boom ✗", event.revision + 1
        )
        assert store.update_event("k1", event.revision, progress)
        stored = store.get_event("k1")
        assert stored is not None and stored == event.with_progress(progress)
        assert not store.update_event("k1", event.revision, Progress(revision=99))
        assert not store.update_event("unknown", 0, Progress())
        stored = store.get_event("k1")
        assert stored is not None and stored.progress == progress

    def test_update_event_without_progress_leaves_a_tombstone(self, store: Store) -> None:
        store.commit(stored_event(), state_of(), 0)
        event = store.get_event("k1")
        assert event is not None
        assert not store.update_event("k1", event.revision + 1, None)
        assert store.update_event("k1", event.revision, None)
        self.assert_tombstone(store, "k1")
        assert store.load("e1") is not None

    def test_concurrent_updates_of_one_revision_succeed_once(self, store: Store) -> None:
        store.commit(stored_event(), state_of(), 0)
        event = store.get_event("k1")
        assert event is not None

        def take(i: int) -> bool:
            lease = Lease(f"w{i}", utcnow() + timedelta(minutes=5))
            progress = Progress(lease=lease, attempts=1, revision=event.revision + 1)
            return store.update_event("k1", event.revision, progress)

        assert in_threads(8, take).count(True) == 1

    @staticmethod
    def finish(store: Store, key: str, state: ProcessingState = ProcessingState.PROCESSED) -> None:
        """Mark stored event ``key`` final (processed by default)."""
        event = store.get_event(key)
        assert event is not None
        final = Progress(state, 1, utcnow(), None, "why", event.revision + 1)
        assert store.update_event(key, event.revision, final)

    @staticmethod
    def assert_tombstone(store: Store, key: str) -> None:
        """``key`` is a tombstone: no body, never listed as final again, still a duplicate."""
        gone = store.get_event(key)
        assert gone is None or (gone.processing is ProcessingState.PURGED and not gone.raw)
        listed = store.events(EventQuery(processing=PURGEABLE))
        assert key not in [event.key for event in listed]
        again = stored_event(key, "e9")
        assert store.commit(again, state_of("e9"), 0) is Commit.DUPLICATE
        assert store.load("e9") is None

    def test_purge_tombstones_old_final_events_only(self, store: Store) -> None:
        store.commit(stored_event("done", "e1"), state_of("e1"), 0)
        store.commit(stored_event("pending", "e2"), state_of("e2"), 0)
        self.finish(store, "done")
        assert store.purge(utcnow() - timedelta(minutes=1)) == 0
        assert store.purge(utcnow() + timedelta(minutes=1)) == 1
        self.assert_tombstone(store, "done")
        pending = store.get_event("pending")
        assert pending is not None and pending.raw == RAW
        assert store.load("e1") is not None

    def test_purge_counts_a_tombstone_once(self, store: Store) -> None:
        store.commit(stored_event("done", "e1"), state_of("e1"), 0)
        self.finish(store, "done", ProcessingState.DEAD)
        later = utcnow() + timedelta(minutes=1)
        assert store.purge(later) == 1
        assert store.purge(later) == 0
        self.assert_tombstone(store, "done")

    def test_purge_expired_keeps_recent_events(self, store: Store) -> None:
        store.commit(stored_event("done", "e1"), state_of("e1"), 0)
        self.finish(store, "done")
        assert store.purge_expired() == 0
        kept = store.get_event("done")
        assert kept is not None and kept.raw == RAW
        assert store.purge_expired(utcnow() + store.retention + timedelta(minutes=1)) == 1
        self.assert_tombstone(store, "done")

    def test_update_event_to_none_leaves_a_tombstone(self, store: Store) -> None:
        store.commit(stored_event("done", "e1"), state_of("e1"), 0)
        self.finish(store, "done")
        event = store.get_event("done")
        assert event is not None
        assert store.update_event("done", event.revision, None) is True
        assert store.update_event("done", event.revision, None) is False
        self.assert_tombstone(store, "done")

    def test_a_tombstone_is_never_requeued(self, store: Store) -> None:
        store.commit(stored_event("done", "e1"), state_of("e1"), 0)
        self.finish(store, "done")
        assert store.purge(utcnow() + timedelta(minutes=1)) == 1
        assert store.queue().requeue("done") is False
        self.assert_tombstone(store, "done")

    def test_a_purged_message_recorded_again_is_a_duplicate(self, store: Store) -> None:
        n = notification(status="sent")
        assert self.record(store, n, key="k1").inserted
        self.finish(store, "k1")
        assert store.purge(utcnow() + timedelta(minutes=1)) == 1
        outcome = self.record(store, n, key="k1")
        assert not outcome.inserted
        snapshot = store.load(n.envelope_id)
        assert snapshot is not None and snapshot.version == 1

    def test_markers_are_kept_when_supported(self, store: Store) -> None:
        try:
            assert store.read_marker("reconcile:acct-1") is None
        except ConfigurationError:
            pytest.skip("this store keeps no markers (optional)")
        store.write_marker("reconcile:acct-1", "2026-01-05T09:00:00.0000000Z")
        store.write_marker("reconcile:acct-1", "2026-01-06T09:00:00.0000000Z")
        assert store.read_marker("reconcile:acct-1") == "2026-01-06T09:00:00.0000000Z"

    def test_blocking_calls_run_from_async_code(self, store: Store) -> None:
        async def scenario() -> None:
            outcome = await adrive(record(store, notification("e1", "sent"), RAW, "k1"))
            assert outcome.inserted
            assert await store.offload(lambda: store.get_envelope("e1")) == outcome.state

        anyio.run(scenario)

    # Recording through the core: whole outcomes ----------------------------------

    def test_record_new_event_folds_state(self, store: Store) -> None:
        outcome = self.record(store, notification("e1", "sent", subject="Contract"))
        state = store.get_envelope("e1")
        assert state is not None
        assert outcome == RecordOutcome(
            "k1", True, state, (Transition("envelope", "sent"),), stale=False
        )
        assert (state.status, state.subject, state.account_id) == ("sent", "Contract", "acct-1")
        assert state.event_count == 1
        event = store.get_event("k1")
        assert event is not None and event.transitions == outcome.transitions

    def test_duplicate_returns_the_current_state_and_no_transition(self, store: Store) -> None:
        first = self.record(store, notification("e1", "sent"))
        again = self.record(store, notification("e1", "sent"), RAW + b" ")
        assert again == RecordOutcome("k1", False, first.state)
        assert len(store.events(EventQuery(envelope_id="e1"))) == 1
        event = store.get_event("k1")
        assert event is not None and event.raw == RAW

    def test_duplicate_of_an_unknown_envelope_gets_an_empty_state(self, store: Store) -> None:
        self.record(store, notification("e1", "sent"), key="same-key")
        outcome = self.record(store, notification("e2", "sent"), key="same-key")
        assert outcome == RecordOutcome("same-key", False, EnvelopeState("e2", "acct-1"))
        assert store.get_envelope("e2") is None

    def test_concurrent_records_of_one_key_insert_once(self, store: Store) -> None:
        results = in_threads(8, lambda i: self.record(store, notification("e1", "sent")))
        inserted = [r for r in results if isinstance(r, RecordOutcome) and r.inserted]
        assert len(inserted) == 1
        state = store.get_envelope("e1")
        assert state is not None and state.event_count == 1

    def test_concurrent_records_of_one_envelope_lose_no_fold(self, store: Store) -> None:
        statuses = ["sent", "delivered", "completed"]

        def deliver(i: int) -> RecordOutcome:
            n = notification("e1", statuses[i % 3], at=BASE_TIME + timedelta(minutes=i % 3))
            return self.record(store, n, key=f"k{i}")

        in_threads(6, deliver)
        state = store.get_envelope("e1")
        assert state is not None
        assert (state.status, state.event_count) == ("completed", 6)
        assert state.reached >= {"sent", "delivered", "completed"}

    def test_unicode_survives(self, store: Store) -> None:
        n = notification(
            "e1",
            "sent",
            subject="Zoë — 契約書 ✍",
            recipients=(recipient("1", "sent", name="渡辺 Müller", email="zoë@example.com"),),
        )
        self.record(store, n, "é".encode())
        state = store.get_envelope("e1")
        assert state is not None
        assert state.subject == "Zoë — 契約書 ✍"
        assert state.recipients[0].name == "渡辺 Müller"

    def test_older_event_never_overwrites_newer_status(self, store: Store) -> None:
        later = notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1))
        self.record(store, later, key="k2")
        outcome = self.record(store, notification("e1", "sent", at=BASE_TIME), key="k1")
        assert outcome.inserted and outcome.stale
        state = store.get_envelope("e1")
        assert state is not None and state.status == "delivered"
        assert state.reached == {"sent", "delivered"}

    def test_terminal_status_stays_terminal(self, store: Store) -> None:
        self.record(store, notification("e1", "completed", at=BASE_TIME), key="k1")
        self.record(store, notification("e1", "sent", at=BASE_TIME + timedelta(days=1)), key="k2")
        state = store.get_envelope("e1")
        assert state is not None and state.status == "completed"

    def test_recipient_state_is_folded(self, store: Store) -> None:
        first = notification(
            "e1",
            "sent",
            recipients=(recipient("1", "completed", signed_at=BASE_TIME), recipient("2", "sent")),
        )
        outcome = self.record(store, first)
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

    def test_new_event_is_pending_and_due(self, store: Store) -> None:
        self.record(store, notification("e1", "sent"))
        event = store.get_event("k1")
        assert event is not None
        assert (event.processing, event.attempts, event.lease) == (ProcessingState.PENDING, 0, None)
        assert event.next_attempt_at is not None and event.next_attempt_at <= utcnow()

    def test_default_key_is_stable_across_versions(self, store: Store) -> None:
        # Pinned: a changed key would make every DocuSign retry after an upgrade a new event.
        n = parse(KNOWN_BODY, "application/json")
        assert default_key(n) == "sim:d0c3279ec5745866e205293beb20518a7f961235"
        assert self.record(store, n, KNOWN_BODY, default_key(n)).inserted
        assert not self.record(
            store, n, KNOWN_BODY.replace(b'"retryCount":0', b'"retryCount":3'), default_key(n)
        ).inserted
