"""Reconciliation through a real ``Receiver`` (MemoryStore and SQLiteStore) against the fake."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connect_mw import Receiver
from connect_mw.errors import StoreUnavailable
from connect_mw.model import PayloadFormat
from connect_mw.rest import AsyncESignClient, DocuSignSettings, reconcile_receiver
from connect_mw.rest.reconcile import WATERMARK, ReconcileReport, marker_value
from connect_mw.stores import MemoryStore, SQLiteStore, Store
from connect_mw.stores.api import Commit, EnvelopeState, StoredEvent

from .conftest import Sleeps
from .fake_data import ACCOUNT_ID, envelope_id, make_envelope
from .fake_esign import FakeESign
from .receivers import HMAC_KEY, Calls, connect_message, deliver, drain, watch

STATUSES = ["sent", "delivered", "completed", "declined", "voided"]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each test runs against both stores."""
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "r.db")
    yield made
    made.close()


def _receiver(store: Store, **options: Any) -> Receiver:
    return Receiver(hmac_keys=HMAC_KEY, store=store, **options)


def _ten_minutes_apart(fake: FakeESign) -> list[datetime]:
    """Envelopes 1..5, changed ten minutes apart, the last ten minutes ago."""
    times = [fake.now() - timedelta(minutes=10 * (6 - n)) for n in range(1, 6)]
    fake.add(*(make_envelope(n, STATUSES[n - 1], times[n - 1]) for n in range(1, 6)))
    return times


def _final(calls: Calls, number: int) -> str:
    """The last envelope transition fired for envelope ``number``."""
    return [name for name in calls.of(envelope_id(number)) if name.startswith("envelope-")][-1]


def _run(settings: DocuSignSettings, receiver: Receiver, **options: Any) -> ReconcileReport:
    async def main() -> ReconcileReport:
        async with AsyncESignClient(settings, sleep=Sleeps().asleep) as client:
            return await reconcile_receiver(receiver, client, **{"page_size": 2, **options})

    return asyncio.run(main())


def test_missed_events_are_recovered_and_their_callbacks_fire_once(
    fake: FakeESign, settings: DocuSignSettings, store: Store
) -> None:
    times = _ten_minutes_apart(fake)
    receiver = _receiver(store)
    calls = watch(receiver)
    report = _run(settings, receiver, since=times[0] - timedelta(minutes=1))
    assert (report.found, report.new, report.duplicates) == (5, 5, 0)
    assert calls.transitions == []  # deferred: the worker runs them
    assert drain(receiver) == 5
    assert [_final(calls, n) for n in range(1, 6)] == [f"envelope-{s}" for s in STATUSES]
    assert calls.of(envelope_id(3)) == [
        "envelope-created",
        "envelope-sent",
        "envelope-delivered",
        "envelope-completed",
        "recipient-sent:1",
        "recipient-delivered:1",
        "recipient-completed:1",
        "recipient-sent:2",
        "recipient-delivered:2",
        "recipient-completed:2",
    ]
    stored = [store.list_events(envelope_id(n)) for n in range(1, 6)]
    assert [[e.format for e in events] for events in stored] == [[PayloadFormat.REST_POLL]] * 5
    assert all(e.account_id == ACCOUNT_ID and e.key.startswith("rest-poll:") for [e] in stored)
    state = store.get_envelope(envelope_id(4))
    assert state is not None and state.status == "declined"
    assert {t.name for t in report.transitions} >= {"envelope-completed", "envelope-voided"}

    again = _run(settings, receiver, since=times[0] - timedelta(minutes=1))
    assert (again.new, again.duplicates, again.transitions) == (0, 5, ())
    assert drain(receiver) == 0
    assert Counter(calls.transitions).most_common(1)[0][1] == 1


def test_a_poll_repeating_what_connect_delivered_fires_no_transition(
    fake: FakeESign, settings: DocuSignSettings, store: Store
) -> None:
    times = _ten_minutes_apart(fake)
    receiver = _receiver(store)
    calls = watch(receiver)
    for number in (1, 3):  # Connect delivered envelopes 1 and 3; 2, 4 and 5 were lost
        deliver(receiver, connect_message(fake.envelopes[envelope_id(number)]))
    drain(receiver)
    delivered = {n: calls.of(envelope_id(n)) for n in (1, 3)}
    assert delivered[3][-1] == "recipient-completed:2" and "envelope-completed" in delivered[3]
    events_before = len(calls.deliveries)

    report = _run(settings, receiver, since=times[0] - timedelta(minutes=1))
    assert report.new == 5  # every poll is an event of its own (format rest-poll)...
    delivered_ids = (envelope_id(1), envelope_id(3))
    assert [t for t in report.transitions if t.envelope_id in delivered_ids] == []
    drain(receiver)
    assert {n: calls.of(envelope_id(n)) for n in (1, 3)} == delivered  # ...firing no transition
    for number in (2, 4, 5):
        assert _final(calls, number) == f"envelope-{STATUSES[number - 1]}"
    polls = [d for d in calls.deliveries[events_before:] if d.key.startswith("rest-poll:")]
    assert len(polls) == 5 and all(d.transition is None for d in polls)
    assert len(calls.transitions) == len(set(calls.transitions))


def test_the_watermark_is_kept_in_the_store(
    fake: FakeESign, settings: DocuSignSettings, tmp_path: Path
) -> None:
    times = _ten_minutes_apart(fake)
    until = fake.now()
    path = tmp_path / "kept.db"
    with SQLiteStore(path) as store:
        report = _run(settings, _receiver(store), since=times[0], until=until)
    assert report.watermark == marker_value(until)
    with SQLiteStore(path) as reopened:
        assert reopened.read_marker(WATERMARK) == marker_value(until)
        fake.add(make_envelope(6, "sent", fake.now()))
        resumed = _run(settings, _receiver(reopened))
    assert resumed.since == until - timedelta(minutes=5)
    assert (resumed.envelopes, resumed.new) == ((envelope_id(6),), 1)


def test_each_watermark_written_covers_only_committed_envelopes(
    fake: FakeESign, settings: DocuSignSettings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    times = _ten_minutes_apart(fake)
    write = store.write_marker
    checked: list[str] = []

    def checking(name: str, value: str) -> None:
        mark = datetime.fromisoformat(value)
        committed = {state.envelope_id for state in store.list_envelopes()}
        older = {n for n, changed in enumerate(times, 1) if changed <= mark}
        assert {envelope_id(n) for n in older} <= committed, f"{value} before its commits"
        checked.append(value)
        write(name, value)

    monkeypatch.setattr(store, "write_marker", checking)
    until = fake.now()
    _run(settings, _receiver(store), since=times[0], until=until, page_size=1)
    assert checked == [*(marker_value(t) for t in times[:4]), marker_value(until)]


def _crash_on(store: Store, monkeypatch: pytest.MonkeyPatch, call: int) -> list[int]:
    """Make the store's ``call``-th commit fail (as a crash would: nothing written)."""
    commit = store.commit
    count = [0]

    def failing(event: StoredEvent, state: EnvelopeState, version: int) -> Commit:
        count[0] += 1
        if count[0] == call:
            raise OSError("disk gone")
        return commit(event, state, version)

    monkeypatch.setattr(store, "commit", failing)
    return count


def test_a_crash_mid_page_repeats_work_and_skips_nothing(
    fake: FakeESign, settings: DocuSignSettings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    times = _ten_minutes_apart(fake)
    receiver = _receiver(store)
    calls = watch(receiver)
    _crash_on(store, monkeypatch, 4)  # page 1 (envelopes 1, 2) committed, page 2 half
    with pytest.raises(StoreUnavailable):
        _run(settings, receiver, since=times[0] - timedelta(minutes=1))
    assert store.read_marker(WATERMARK) == marker_value(times[1])  # page 1, confirmed
    assert {s.envelope_id for s in store.list_envelopes()} == {envelope_id(n) for n in (1, 2, 3)}
    monkeypatch.undo()

    report = _run(settings, receiver)
    assert report.since == times[1] - timedelta(minutes=5)
    assert report.envelopes == tuple(envelope_id(n) for n in (2, 3, 4, 5))
    assert (report.new, report.duplicates) == (2, 2)
    assert {s.envelope_id for s in store.list_envelopes()} == {envelope_id(n) for n in range(1, 6)}
    drain(receiver)
    assert [_final(calls, n) for n in range(1, 6)] == [f"envelope-{s}" for s in STATUSES]
    assert len(calls.transitions) == len(set(calls.transitions))  # nothing fired twice


def test_an_inline_receiver_runs_the_callbacks_during_the_run(
    fake: FakeESign, settings: DocuSignSettings, store: Store
) -> None:
    times = _ten_minutes_apart(fake)
    receiver = _receiver(store, mode="inline")
    calls = watch(receiver)
    _run(settings, receiver, since=times[0])
    assert [_final(calls, n) for n in range(1, 6)] == [f"envelope-{s}" for s in STATUSES]
    assert drain(receiver) == 0


def test_a_dry_run_touches_nothing_in_the_store(
    fake: FakeESign, settings: DocuSignSettings, store: Store
) -> None:
    times = _ten_minutes_apart(fake)
    report = _run(settings, _receiver(store), since=times[0], dry_run=True)
    assert (report.found, report.new, report.watermark) == (5, 0, None)
    assert store.list_envelopes() == [] and store.read_marker(WATERMARK) is None


def test_callbacks_of_a_reconciled_event_see_a_rest_poll_notification(
    fake: FakeESign, settings: DocuSignSettings, store: Store
) -> None:
    times = _ten_minutes_apart(fake)
    receiver = _receiver(store)
    calls = watch(receiver)
    _run(settings, receiver, since=times[0])
    drain(receiver)
    assert {d.notification.format for d in calls.deliveries} == {PayloadFormat.REST_POLL}
