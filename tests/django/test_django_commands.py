"""``manage.py connect_mw_replay`` and ``connect_mw_worker`` on the configured store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from support import django_settings

django_settings.setup()

from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from connect_mw.adapters.django import get_receiver, signals  # noqa: E402
from connect_mw.adapters.django.worker import django_worker  # noqa: E402
from connect_mw.effects import drive  # noqa: E402
from connect_mw.recording import record  # noqa: E402
from connect_mw.stores import ProcessingState, Store  # noqa: E402
from connect_mw.testing import notification  # noqa: E402
from support.deliveries import KEY, signed_request, sim_body  # noqa: E402

LEASE = timedelta(minutes=5)


@pytest.fixture
def store() -> Iterator[Store]:
    django_settings.reset_tables()
    store, queue = get_receiver().store, get_receiver().queue
    for key, envelope in (("dead-1", "e1"), ("dead-2", "e2"), ("done", "e3")):
        drive(record(store, notification(envelope, "sent"), b"{}", key))
    assert len(queue.claim("w", lease_for=LEASE, limit=10)) == 3
    assert queue.finish("dead-1", "w", ProcessingState.DEAD, error="gave up")
    assert queue.finish("dead-2", "w", ProcessingState.DEAD, error="gave up")
    assert queue.finish("done", "w", ProcessingState.PROCESSED)
    yield store


def replay(*args: str) -> str:
    out = io.StringIO()
    call_command("connect_mw_replay", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def state(store: Store, key: str) -> ProcessingState:
    event = store.get_event(key)
    assert event is not None
    return event.processing


def test_replay_keys(store: Store) -> None:
    assert replay("done") == "queued done\n"
    assert state(store, "done") is ProcessingState.PENDING
    with pytest.raises(CommandError, match="1 of 2 event"):
        replay("dead-1", "unknown")
    assert state(store, "dead-1") is ProcessingState.PENDING


def test_replay_every_dead_letter(store: Store) -> None:
    assert replay("--dead") == "queued dead-1\nqueued dead-2\n"
    assert store.list_events(processing=ProcessingState.DEAD) == []
    assert replay("--dead") == "nothing to replay\n"
    assert state(store, "done") is ProcessingState.PROCESSED


def test_replay_one_envelope(store: Store) -> None:
    assert replay("--envelope", "e3") == "queued done\n"
    assert state(store, "dead-1") is ProcessingState.DEAD


@pytest.mark.parametrize("args", [(), ("k", "--dead"), ("--dead", "--envelope", "e1")])
def test_replay_needs_exactly_one_selection(store: Store, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match="one of them"):
        replay(*args)


def test_worker_command_processes_pending_events_with_signals() -> None:
    django_settings.reset_tables()
    heard: list[Any] = []

    def completed(delivery: Any, **kwargs: Any) -> None:
        heard.append(delivery.key)

    config = {"HMAC_KEYS": [KEY], "MODE": "deferred", "RUN_WORKER": False}
    with override_settings(CONNECT_MW=config):
        assert get_receiver().handle(signed_request(sim_body(status="completed"))).status == 200
        signals.envelope_completed.connect(completed)
        try:
            out = io.StringIO()
            call_command("connect_mw_worker", "--once", stdout=out)
        finally:
            signals.envelope_completed.disconnect(completed)
        (event,) = get_receiver().store.list_events()
    assert out.getvalue() == "processed 1 event(s)\n"
    assert heard == [event.key] and event.processing is ProcessingState.PROCESSED


def test_the_django_worker_closes_stale_connections_around_each_batch() -> None:
    django_settings.reset_tables()
    config = {"HMAC_KEYS": [KEY], "MODE": "deferred", "RUN_WORKER": False}
    with override_settings(CONNECT_MW=config):
        receiver = get_receiver()
        assert receiver.handle(signed_request(sim_body(status="completed"))).status == 200
        seen: list[object] = []
        receiver.on_any(lambda delivery: seen.append(connection.connection))
        worker = django_worker(receiver, concurrency=1)
        assert connection.connection is not None  # the request's connection is open
        assert worker.run_once() == 1
        assert seen and seen[0] is not None  # the callback had a connection
        assert connection.connection is None  # CONN_MAX_AGE = 0: closed after the batch


def test_worker_command_refuses_when_no_signal_receiver_is_connected() -> None:
    django_settings.reset_tables()
    config = {"HMAC_KEYS": [KEY], "MODE": "deferred", "RUN_WORKER": False}
    with override_settings(CONNECT_MW=config):
        receiver = get_receiver()
        assert receiver.router.empty  # nothing in this process listens to the signals
        assert receiver.handle(signed_request(sim_body(status="completed"))).status == 200
        with pytest.raises(CommandError, match="has no callbacks: a worker would mark") as info:
            call_command("connect_mw_worker", "--once", stdout=io.StringIO())
        assert info.value.returncode == 2
        assert "connect a receiver to a connect_mw signal" in str(info.value)
        (event,) = receiver.store.list_events()
        assert event.processing is ProcessingState.PENDING
        out = io.StringIO()
        call_command("connect_mw_worker", "--once", "--drain", stdout=out)
        assert out.getvalue() == "processed 1 event(s)\n"
        (event,) = receiver.store.list_events()
        assert event.processing is ProcessingState.PROCESSED


def test_a_connected_signal_receiver_counts_as_a_callback() -> None:
    def completed(delivery: Any, **kwargs: Any) -> None:
        """Listens."""

    def empty() -> bool:
        return get_receiver().router.empty

    config = {"HMAC_KEYS": [KEY], "MODE": "deferred", "RUN_WORKER": False}
    with override_settings(CONNECT_MW=config):
        assert empty()
        signals.envelope_completed.connect(completed)
        try:
            assert not empty()
            with pytest.raises(CommandError, match="leave --drain out") as info:
                call_command("connect_mw_worker", "--once", "--drain", stdout=io.StringIO())
            assert info.value.returncode == 2
        finally:
            signals.envelope_completed.disconnect(completed)
        assert empty()
