"""Retention on a schedule: the worker loop purges expired events and keeps their keys."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from connect_mw import MemoryStore, Receiver
from connect_mw.effects import drive
from connect_mw.errors import ConfigurationError
from connect_mw.retention import RetentionSchedule, RetentionThread
from connect_mw.stores import ProcessingState
from support.deliveries import KEY, signed_request, sim_body
from support.polling import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StopAfter:
    """Stops a worker loop after ``turns`` checks."""

    def __init__(self, turns: int) -> None:
        self.turns = turns

    def is_set(self) -> bool:
        self.turns -= 1
        return self.turns < 0


class BrokenStore(MemoryStore):
    def purge(self, before: datetime) -> int:
        raise OSError("disk gone")


def processed_receiver(purge_every: float, retention: timedelta) -> Receiver:
    receiver = Receiver(
        hmac_keys=KEY, store=MemoryStore(), retention=retention, purge_every=purge_every
    )
    assert receiver.handle(signed_request(sim_body())).status == 200
    assert receiver.worker().run_once() == 1
    return receiver


def test_the_schedule_purges_at_first_and_then_every_interval() -> None:
    store, clock = MemoryStore(), Clock()
    schedule = RetentionSchedule(store, 60, clock=clock)
    assert schedule.due()
    assert drive(schedule.steps()) == 0
    assert not schedule.due() and drive(schedule.steps()) is None
    clock.now += 59.9
    assert not schedule.due()
    clock.now += 0.1
    assert schedule.due()


def test_zero_turns_retention_off_and_negative_is_refused() -> None:
    assert not RetentionSchedule(MemoryStore(), 0).due()
    with pytest.raises(ValueError):
        RetentionSchedule(MemoryStore(), -1)
    with pytest.raises(ConfigurationError):
        Receiver(hmac_keys=KEY, store=MemoryStore(), purge_every=-1)


@pytest.mark.parametrize(
    "every", [float("nan"), float("inf"), -float("inf"), 1e300, -1, "60", True]
)
def test_an_interval_that_is_not_a_finite_number_is_refused_at_construction(every: object) -> None:
    """inf would kill the retention thread at its first wait; NaN would turn it off silently."""
    with pytest.raises(ConfigurationError, match="purge_every"):
        RetentionSchedule(MemoryStore(), every)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="purge_every"):
        RetentionThread(MemoryStore(), every)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="purge_every"):
        Receiver(hmac_keys=KEY, store=MemoryStore(), purge_every=every)  # type: ignore[arg-type]
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    with pytest.raises(ConfigurationError, match="purge_every"):
        receiver.worker(purge_every=every)


@pytest.mark.parametrize(
    "retention", [timedelta(seconds=-1), timedelta.max, timedelta(days=40_000), 30, "30d"]
)
def test_a_retention_that_is_not_a_sensible_duration_is_refused(retention: object) -> None:
    with pytest.raises(ConfigurationError, match="retention"):
        Receiver(hmac_keys=KEY, store=MemoryStore(), retention=retention)  # type: ignore[arg-type]


def test_sensible_settings_are_kept() -> None:
    receiver = Receiver(
        hmac_keys=KEY, store=MemoryStore(), retention=timedelta(days=36_500), purge_every=0.5
    )
    assert receiver.store.retention == timedelta(days=36_500) and receiver.purge_every == 0.5
    assert RetentionSchedule(MemoryStore(), 365 * 24 * 3600).enabled


def test_a_failed_purge_is_logged_and_tried_again_next_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    schedule = RetentionSchedule(BrokenStore(), 60, clock=clock)
    with caplog.at_level(logging.ERROR, logger="connect_mw"):
        assert drive(schedule.steps()) is None
    assert "retention: purge failed" in caplog.text
    clock.now += 60
    assert schedule.due()


def test_the_worker_loop_purges_expired_events_and_keeps_their_keys() -> None:
    receiver = processed_receiver(purge_every=3600, retention=timedelta(0))
    (event,) = receiver.store.list_events()
    assert event.processing is ProcessingState.PROCESSED
    drive(receiver.worker().loop(StopAfter(1)))
    (tombstone,) = receiver.store.list_events()
    assert tombstone.processing is ProcessingState.PURGED
    stored = receiver.store.get_event(event.key)
    assert stored is not None and stored.raw is None
    calls: list[str] = []
    receiver.on_any(lambda n: calls.append(n.event))
    assert receiver.handle(signed_request(sim_body())).status == 200
    assert receiver.worker().run_once() == 0 and calls == []
    assert len(receiver.store.list_events()) == 1


def test_a_worker_with_purging_off_keeps_every_body() -> None:
    receiver = processed_receiver(purge_every=0, retention=timedelta(0))
    drive(receiver.worker().loop(StopAfter(1)))
    (event,) = receiver.store.list_events()
    assert event.processing is ProcessingState.PROCESSED
    assert receiver.worker(purge_every=1).retention.every == 1


def test_a_retention_thread_purges_where_no_worker_runs() -> None:
    receiver = processed_receiver(purge_every=3600, retention=timedelta(0))
    purging = RetentionThread(receiver.store, receiver.purge_every)
    assert purging.start()
    try:
        wait_until(
            lambda: receiver.store.list_events()[0].processing is ProcessingState.PURGED,
            what="the first purge",
        )
    finally:
        purging.stop()
    assert not RetentionThread(receiver.store, 0).start()
