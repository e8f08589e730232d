"""``RedisStore`` against a real Redis: the contract, plus what is specific to it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from support.services import REDIS_URL, redis_namespace, require_module
from support.stored_state import overwrite_redis

require_module("redis")

import redis  # noqa: E402

from connect_mw.effects import adrive, drive  # noqa: E402
from connect_mw.model import EnvelopeState, Notification  # noqa: E402
from connect_mw.recording import EnvelopeContention, RecordOutcome, record  # noqa: E402
from connect_mw.stores import open_store  # noqa: E402
from connect_mw.stores.api import (  # noqa: E402
    Commit,
    EnvelopeQuery,
    EventQuery,
    Lease,
    ProcessingState,
    Progress,
    Snapshot,
    Store,
    StoreEncodingError,
    dump_state,
    utcnow,
)
from connect_mw.stores.redis import RedisStore  # noqa: E402
from connect_mw.testing import StoreContract, notification  # noqa: E402
from connect_mw.testing.builders import BASE_TIME  # noqa: E402
from connect_mw.testing.queue_contract import LEASE  # noqa: E402
from connect_mw.testing.store_contract import RAW, state_of, stored_event  # noqa: E402

PENDING = ProcessingState.PENDING
FAILED = ProcessingState.FAILED
PROCESSED = ProcessingState.PROCESSED
DEAD = ProcessingState.DEAD


class TestRedisStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _prefix(self) -> Iterator[None]:
        with redis_namespace() as prefix:
            self.prefix = prefix
            yield

    def make_store(self, tmp_path: Path) -> Store:
        return RedisStore(REDIS_URL, prefix=self.prefix)

    def overwrite_state(self, store: Store, envelope_id: str, text: str) -> None:
        assert isinstance(store, RedisStore)
        overwrite_redis(store, envelope_id, text)


@pytest.fixture
def prefix() -> Iterator[str]:
    with redis_namespace() as name:
        yield name


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


@pytest.fixture
def store(prefix: str) -> Iterator[RedisStore]:
    with RedisStore(REDIS_URL, prefix=prefix) as rs:
        yield rs


def deliver(store: Store, n: Notification, key: str) -> RecordOutcome:
    """Record through the core, as the receiver does."""
    return drive(record(store, n, RAW, key))


def finish_one(store: RedisStore, key: str, state: ProcessingState) -> None:
    queue = store.queue()
    (claimed,) = queue.claim("w", lease_for=LEASE)
    assert claimed.key == key
    assert queue.finish(key, "w", state)


def keys_under(client: redis.Redis, prefix: str) -> list[str]:
    return sorted(k.decode()[len(prefix) :] for k in client.scan_iter(match=prefix + "*"))


# Expiry and purge ------------------------------------------------------------------


def test_pending_events_never_expire_final_ones_do(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    deliver(store, notification("e1"), "k1")
    assert client.ttl(prefix + "ev:k1") == -1
    finish_one(store, "k1", PROCESSED)
    ttl = client.ttl(prefix + "ev:k1")
    assert timedelta(days=29) < timedelta(seconds=ttl) <= timedelta(days=30)
    assert store.queue().requeue("k1")
    assert client.ttl(prefix + "ev:k1") == -1
    assert client.ttl(prefix + "env:e1") == -1


def test_update_event_sets_and_clears_the_expiry(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    deliver(store, notification("e1"), "k1")
    event = store.get_event("k1")
    assert event is not None
    dead = Progress(DEAD, 1, utcnow(), None, "gave up", event.revision + 1)
    assert store.update_event("k1", event.revision, dead)
    assert client.ttl(prefix + "ev:k1") > 0
    assert client.zcard(prefix + "fin") == 1 and client.zcard(prefix + "u:e1") == 0
    again = Progress(PENDING, 0, utcnow(), None, None, dead.revision + 1)
    assert store.update_event("k1", dead.revision, again)
    assert client.ttl(prefix + "ev:k1") == -1
    assert client.zcard(prefix + "fin") == 0 and client.zcard(prefix + "u:e1") == 1


def test_expired_event_leaves_no_visible_trace(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    deliver(store, notification("e1"), "k1")
    deliver(store, notification("e2"), "k2")
    finish_one(store, "k1", DEAD)
    client.delete(prefix + "ev:k1")  # what expiry does
    assert [e.key for e in store.list_events()] == ["k2"]
    assert store.list_events(processing=DEAD) == []
    assert store.list_events("e1") == []
    assert store.purge(utcnow() + timedelta(days=1)) == 0  # index entries only
    assert client.zcard(prefix + "all") == 1
    assert not deliver(store, notification("e1"), "k1").inserted  # a tombstone: duplicate
    assert store.list_events("e1") == []


def test_a_page_skips_expired_entries_and_still_fills_its_limit(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    for i in range(6):
        deliver(store, notification(f"e{i}", at=BASE_TIME + timedelta(minutes=i)), f"k{i}")
    client.delete(prefix + "ev:k1", prefix + "ev:k2")  # expired final events, indexes stale
    assert [e.key for e in store.events(EventQuery(limit=3))] == ["k0", "k3", "k4"]
    first = store.get_event("k0")
    assert first is not None
    page = store.events(EventQuery(after=first.position, limit=2))
    assert [e.key for e in page] == ["k3", "k4"]
    assert not deliver(store, notification("e1", at=BASE_TIME + timedelta(hours=1)), "k1").inserted
    assert deliver(store, notification("e1", at=BASE_TIME + timedelta(hours=1)), "k9").inserted
    assert [e.key for e in store.list_events()] == ["k0", "k3", "k4", "k5", "k9"]


def test_purge_cleans_every_index(store: RedisStore, client: redis.Redis, prefix: str) -> None:
    deliver(store, notification("e1"), "k1")
    finish_one(store, "k1", PROCESSED)
    assert store.purge(utcnow() + timedelta(minutes=1)) == 1
    kept = ["env:e1", "keys", "keys:all", "seq", "updated", "updated:sent"]
    assert keys_under(client, prefix) == kept
    assert client.smembers(prefix + "keys") == {b"k1"}


def test_deleting_an_event_cleans_every_index(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    deliver(store, notification("e1"), "k1")
    store.queue().claim("w", lease_for=LEASE)  # leased: in `u:e1`, the envelope not due
    event = store.get_event("k1")
    assert event is not None
    assert store.update_event("k1", event.revision, None)
    assert keys_under(client, prefix) == ["env:e1", "keys", "seq", "updated", "updated:sent"]


def test_short_retention_expires_final_events(prefix: str) -> None:
    with RedisStore(REDIS_URL, prefix=prefix, retention=timedelta(0)) as store:
        deliver(store, notification("e1"), "k1")
        finish_one(store, "k1", PROCESSED)
        assert store.get_event("k1") is None
        assert store.get_envelope("e1") is not None
        assert not deliver(store, notification("e1"), "k1").inserted  # the key stays


def test_purge_remembers_keys_of_events_stored_before_the_key_set(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    deliver(store, notification("e1"), "k1")
    deliver(store, notification("e2"), "k2")
    client.delete(prefix + "keys")  # as the previous release left them
    client.delete(prefix + "ev:k1")  # and k1 expired since
    store.purge(utcnow())
    assert client.smembers(prefix + "keys") == {b"k1", b"k2"}
    assert not deliver(store, notification("e1"), "k1").inserted


# Encoding --------------------------------------------------------------------------


def test_lone_surrogate_is_refused_and_nothing_is_written(store: RedisStore) -> None:
    with pytest.raises(StoreEncodingError):
        deliver(store, notification("e1", subject="\ud800"), "k1")
    assert store.list_events() == [] and store.list_envelopes() == []
    deliver(store, notification("e1", subject="nul \x00 kept"), "k1")
    state = store.get_envelope("e1")
    assert state is not None and state.subject == "nul \x00 kept"


def test_error_text_is_made_storable(store: RedisStore) -> None:
    deliver(store, notification("e1"), "k1")
    queue = store.queue()
    queue.claim("w", lease_for=LEASE)
    assert queue.finish("k1", "w", DEAD, error="bad \udcff")
    event = store.get_event("k1")
    assert event is not None and event.error == "bad \\udcff"
    progress = Progress(FAILED, 1, utcnow(), None, "worse \udcfe", event.revision + 1)
    assert store.update_event("k1", event.revision, progress)
    event = store.get_event("k1")
    assert event is not None and event.error == "worse \\udcfe"


# Connections -----------------------------------------------------------------------


def test_unreachable_server_raises() -> None:
    with (
        RedisStore("redis://127.0.0.1:9/0", socket_connect_timeout=1) as dead,
        pytest.raises(redis.ConnectionError),
    ):
        deliver(dead, notification("e1"), "k1")


def test_hung_server_raises_within_the_socket_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections, never answers
        port = listener.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0"
        with (
            RedisStore(url, socket_timeout=0.5, socket_connect_timeout=0.5) as hung,
            pytest.raises(redis.TimeoutError),
        ):
            hung.get_envelope("e1")


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_open_store_builds_a_redis_store(scheme: str) -> None:
    store = open_store(f"{scheme}://127.0.0.1:6379/0?prefix=app:&socket_timeout=3")
    try:
        assert isinstance(store, RedisStore)
        assert store.prefix == "app:"
    finally:
        store.close()


# Recording through the core on Redis's compare-and-set -------------------------------


def test_a_stale_read_is_folded_again(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    deliver(store, notification("e1", "sent"), "k1")
    real = store.load
    reads: list[str] = []

    def stale_once(envelope_id: str) -> Snapshot | None:
        reads.append(envelope_id)
        return None if len(reads) == 1 else real(envelope_id)

    monkeypatch.setattr(store, "load", stale_once)
    later = notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1))
    outcome = deliver(store, later, "k2")
    assert reads == ["e1", "e1"]
    assert outcome.inserted and outcome.state.event_count == 2
    assert outcome.state.reached >= {"sent", "delivered"}
    assert store.get_envelope("e1") == outcome.state


def test_endless_contention_raises_and_writes_nothing(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(store, notification("e1", "sent"), "k1")
    monkeypatch.setattr(store, "load", lambda envelope_id: None)
    with pytest.raises(EnvelopeContention):
        deliver(store, notification("e1", "delivered"), "k2")
    assert store.get_event("k2") is None
    monkeypatch.undo()
    snapshot = store.load("e1")
    assert snapshot is not None and (snapshot.version, snapshot.state.status) == (1, "sent")


def test_a_key_reused_by_another_envelope_is_a_duplicate(store: RedisStore) -> None:
    deliver(store, notification("e1"), "k1")
    assert not deliver(store, notification("e2"), "k1").inserted
    assert store.get_envelope("e2") is None


# Queries ---------------------------------------------------------------------------


def test_events_of_several_states_merge_in_docusign_order(store: RedisStore) -> None:
    for i in range(6):
        store.commit(stored_event(f"k{i}", f"e{i}", minutes=5 - i), state_of(f"e{i}"), 0)
    for key in ("k1", "k3", "k4"):
        event = store.get_event(key)
        assert event is not None
        failed = Progress(FAILED, 1, utcnow(), None, "boom", event.revision + 1)
        assert store.update_event(key, event.revision, failed)
    unfinished = frozenset({PENDING, FAILED})
    every = store.events(EventQuery(processing=unfinished))
    assert [e.key for e in every] == ["k5", "k4", "k3", "k2", "k1", "k0"]
    page = store.events(EventQuery(processing=unfinished, after=every[1].position, limit=3))
    assert [e.key for e in page] == ["k3", "k2", "k1"]
    assert [e.key for e in store.events(EventQuery(processing=frozenset({FAILED})))] == [
        "k4",
        "k3",
        "k1",
    ]
    assert store.events(EventQuery(processing=frozenset())) == []


def test_envelopes_without_update_time_page_by_id(store: RedisStore) -> None:
    for name in ("c", "a", "b"):
        store.commit(stored_event(f"k{name}", name), EnvelopeState(envelope_id=name), 0)
    store.commit(stored_event("kz", "z"), state_of("z"), 0)
    assert [s.envelope_id for s in store.envelopes(EnvelopeQuery())] == ["z", "a", "b", "c"]
    page = store.envelopes(EnvelopeQuery(after=(None, "a"), limit=1))
    assert [s.envelope_id for s in page] == ["b"]


def test_a_new_state_moves_the_envelope_in_its_indexes(store: RedisStore) -> None:
    store.commit(stored_event("k1", "e1"), state_of("e1", "sent", 0), 0)
    store.commit(stored_event("k2", "e2"), state_of("e2", "sent", 1), 0)
    store.commit(stored_event("k3", "e1"), state_of("e1", "completed", 2), 1)
    assert [s.envelope_id for s in store.envelopes(EnvelopeQuery())] == ["e1", "e2"]
    assert [s.envelope_id for s in store.envelopes(EnvelopeQuery(status="sent"))] == ["e2"]
    completed = store.envelopes(EnvelopeQuery(status="completed"))
    assert [s.envelope_id for s in completed] == ["e1"]


# The queue's scripts ---------------------------------------------------------------


def test_a_claim_returns_events_without_bodies_and_counts_a_revision(store: RedisStore) -> None:
    deliver(store, notification("e1"), "k1")
    before = store.get_event("k1")
    assert before is not None
    (claimed,) = store.queue().claim("w", lease_for=LEASE)
    assert claimed.raw is None
    assert claimed.revision == before.revision + 1
    assert store.get_event("k1") == dataclasses.replace(claimed, raw=RAW)


# The Redis thread ------------------------------------------------------------------


def thread_named(name: str) -> bool:
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


def test_concurrent_async_records_run_on_one_redis_thread(
    store: RedisStore, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    load, commit = store.load, store.commit

    def load_on(envelope_id: str) -> Snapshot | None:
        threads.add(threading.current_thread().name)
        return load(envelope_id)

    def commit_on(*args: Any) -> Commit:
        threads.add(threading.current_thread().name)
        return commit(*args)

    monkeypatch.setattr(store, "load", load_on)
    monkeypatch.setattr(store, "commit", commit_on)

    async def deliver_all() -> list[RecordOutcome]:
        calls = [
            adrive(record(store, notification(f"e{i % 4}", "sent"), RAW, f"k{i}"))
            for i in range(30)
        ]
        return await asyncio.gather(*calls)

    outcomes = asyncio.run(deliver_all())
    assert [outcome.inserted for outcome in outcomes] == [True] * 30
    assert threads == {"connect-mw-redis:" + prefix}
    assert len(store.list_events()) == 30
    store.close()
    assert not thread_named("connect-mw-redis:" + prefix)  # close() let the thread finish


def test_a_failing_call_fails_alone_on_the_redis_thread(store: RedisStore) -> None:
    async def deliver_three() -> list[RecordOutcome | BaseException]:
        calls = [
            adrive(record(store, notification("e1"), RAW, "k1")),
            adrive(record(store, notification("e2", account_id="\udcff"), RAW, "k2")),
            adrive(record(store, notification("e3"), RAW, "k3")),
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    first, second, third = asyncio.run(deliver_three())
    assert isinstance(first, RecordOutcome) and first.inserted
    assert isinstance(third, RecordOutcome) and third.inserted
    assert isinstance(second, StoreEncodingError)
    assert store.get_event("k2") is None and store.get_envelope("e2") is None


def test_an_outage_fails_the_rest_of_the_batch_untried() -> None:
    with RedisStore("redis://127.0.0.1:9/0", socket_connect_timeout=1) as dead:
        tried: list[str] = []
        load = dead.load

        def counted(envelope_id: str) -> Snapshot | None:
            tried.append(envelope_id)
            return load(envelope_id)

        dead.load = counted  # type: ignore[method-assign]
        busy, release = threading.Event(), threading.Event()

        def hold() -> None:
            busy.set()
            release.wait(5)

        async def scenario() -> list[RecordOutcome | BaseException]:
            holding = asyncio.ensure_future(dead.offload(hold))
            await asyncio.to_thread(busy.wait, 5)  # the thread is busy: the next calls queue
            calls = [adrive(record(dead, notification(f"e{i}"), RAW, f"k{i}")) for i in range(5)]
            pending = asyncio.gather(*calls, return_exceptions=True)
            await asyncio.sleep(0)  # each call runs up to its queued load
            release.set()
            await holding
            return await pending

        results = asyncio.run(scenario())
    assert tried == ["e0"]
    assert all(isinstance(result, redis.ConnectionError) for result in results)


# Data written by the previous release ----------------------------------------------

_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)


def _epoch_us(at: datetime) -> int:
    return (at - _EPOCH) // _MICRO


def write_previous_release_event(
    client: redis.Redis,
    prefix: str,
    n: Notification,
    key: str,
    state: EnvelopeState,
    *,
    sequence: int,
    version: int | None,
) -> None:
    """What the previous release's ``record`` script wrote: no ``rev``, score indexes."""
    received = utcnow()
    order_at = n.occurred_at or received
    member = f"{(order_at - _EARLIEST) // _MICRO:018d}{sequence:016d}{key}"
    client.hset(
        prefix + "ev:" + key,
        mapping={
            "key": key,
            "env": n.envelope_id,
            "acct": "=" + (n.account_id or ""),
            "event": n.event,
            "status": "" if n.status is None else "=" + n.status.value,
            "fmt": n.format.value,
            "occ": "" if n.occurred_at is None else _epoch_us(n.occurred_at),
            "recv": _epoch_us(received),
            "size": len(RAW),
            "proc": "pending",
            "err": "",
            "att": 0,
            "next": _epoch_us(received),
            "lw": "",
            "lu": "",
            "raw": RAW,
            "trans": json.dumps([["envelope", "sent", None]]),
            "m": member,
        },
    )
    for index in ("e:" + n.envelope_id, "all", "p:pending", "u:" + n.envelope_id):
        client.zadd(prefix + index, {member: 0})
    client.set(prefix + "seq", sequence)
    client.hset(
        prefix + "env:" + n.envelope_id, mapping={"state": dump_state(state), "status": "sent"}
    )
    if version is not None:
        client.hset(prefix + "env:" + n.envelope_id, "ver", str(version))
    assert state.updated_at is not None
    client.zadd(prefix + "upd", {n.envelope_id: _epoch_us(state.updated_at)})
    client.zadd(prefix + "s:sent", {n.envelope_id: _epoch_us(state.updated_at)})
    client.zadd(prefix + "due", {n.envelope_id: _epoch_us(received)})


@pytest.fixture
def previous_release(client: redis.Redis, prefix: str) -> Iterator[RedisStore]:
    """A store over data the previous release wrote: e-old (version 1), e-nover (none)."""
    old = notification("e-old", "sent")
    write_previous_release_event(
        client, prefix, old, "k-old", state_of("e-old", "sent", 1), sequence=1, version=1
    )
    nover = notification("e-nover", "sent")
    write_previous_release_event(
        client, prefix, nover, "k-nover", state_of("e-nover", "sent", 0), sequence=2, version=None
    )
    with RedisStore(REDIS_URL, prefix=prefix) as store:
        yield store


def test_previous_release_data_loads_and_lists(
    previous_release: RedisStore, client: redis.Redis, prefix: str
) -> None:
    store = previous_release
    assert store.load("e-old") == Snapshot(state_of("e-old", "sent", 1), 1)
    assert store.load("e-nover") == Snapshot(state_of("e-nover", "sent", 0), 0)
    event = store.get_event("k-old")
    assert event is not None
    assert (event.revision, event.sequence, event.raw) == (0, 1, RAW)
    assert [e.key for e in store.list_events()] == ["k-old", "k-nover"]
    assert [e.key for e in store.list_events(processing=PENDING)] == ["k-old", "k-nover"]
    assert [s.envelope_id for s in store.list_envelopes()] == ["e-old", "e-nover"]
    assert [s.envelope_id for s in store.list_envelopes(status="sent")] == ["e-old", "e-nover"]
    assert client.exists(prefix + "upd", prefix + "s:sent") == 0  # moved to the new indexes
    later = notification("e-nover", "completed", at=BASE_TIME + timedelta(hours=1))
    assert deliver(store, later, "k-later").inserted
    assert [s.envelope_id for s in store.list_envelopes()] == ["e-nover", "e-old"]
    assert [s.envelope_id for s in store.list_envelopes(status="sent")] == ["e-old"]


def test_previous_release_data_takes_commits_and_updates(
    previous_release: RedisStore, client: redis.Redis, prefix: str
) -> None:
    store = previous_release
    assert store.commit(stored_event("k2", "e-nover"), state_of("e-nover", "delivered"), 0) == (
        Commit.INSERTED
    )
    later = notification("e-old", "delivered", at=BASE_TIME + timedelta(hours=1))
    outcome = deliver(store, later, "k-old-2")
    assert outcome.inserted and outcome.state.event_count == 2
    snapshot = store.load("e-old")
    assert snapshot is not None and snapshot.version == 2
    assert [s.envelope_id for s in store.list_envelopes(status="sent")] == []
    assert client.exists(prefix + "upd", prefix + "s:sent") == 0  # commits left no old entry
    lease = Lease("w", utcnow() + LEASE)
    assert store.update_event("k-old", 0, Progress(lease=lease, attempts=1, revision=1))
    event = store.get_event("k-old")
    assert event is not None and (event.revision, event.lease) == (1, lease)


def test_previous_release_events_are_claimed_and_finished(previous_release: RedisStore) -> None:
    store = previous_release
    queue = store.queue()
    claimed = queue.claim("w", lease_for=LEASE, limit=10)
    assert sorted((e.key, e.revision, e.attempts) for e in claimed) == [
        ("k-nover", 1, 1),
        ("k-old", 1, 1),
    ]
    assert queue.finish("k-old", "w", PROCESSED)
    event = store.get_event("k-old")
    assert event is not None and (event.processing, event.revision) == (PROCESSED, 2)
