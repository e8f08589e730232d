"""``RedisStore`` against a real Redis: the contract, plus what is specific to it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from support.services import REDIS_URL, redis_namespace, require_module

require_module("redis")

import redis  # noqa: E402

from connect_mw.model import EnvelopeState  # noqa: E402
from connect_mw.stores import Store, open_store  # noqa: E402
from connect_mw.stores.base import ProcessingState, utcnow  # noqa: E402
from connect_mw.stores.group_commit import Pending  # noqa: E402
from connect_mw.stores.redis import RecordContention, RedisStore  # noqa: E402
from connect_mw.testing import StoreContract, notification  # noqa: E402
from connect_mw.testing.builders import BASE_TIME  # noqa: E402
from connect_mw.testing.store_contract import LEASE, RAW  # noqa: E402


class TestRedisStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _prefix(self) -> Iterator[None]:
        with redis_namespace() as prefix:
            self.prefix = prefix
            yield

    def make_store(self, tmp_path: Path) -> Store:
        return RedisStore(REDIS_URL, prefix=self.prefix)


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


def finish_one(store: RedisStore, key: str, state: ProcessingState) -> None:
    (claimed,) = store.claim("w", lease_for=LEASE)
    assert claimed.key == key
    assert store.finish(key, "w", state)


def test_pending_events_never_expire_final_ones_do(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    store.record(notification("e1"), RAW, "k1")
    assert client.ttl(prefix + "ev:k1") == -1
    finish_one(store, "k1", ProcessingState.PROCESSED)
    ttl = client.ttl(prefix + "ev:k1")
    assert timedelta(days=29) < timedelta(seconds=ttl) <= timedelta(days=30)
    assert store.requeue("k1")
    assert client.ttl(prefix + "ev:k1") == -1
    assert client.ttl(prefix + "env:e1") == -1


def test_expired_event_leaves_no_visible_trace(
    store: RedisStore, client: redis.Redis, prefix: str
) -> None:
    store.record(notification("e1"), RAW, "k1")
    store.record(notification("e2"), RAW, "k2")
    finish_one(store, "k1", ProcessingState.DEAD)
    client.delete(prefix + "ev:k1")  # what expiry does
    assert [e.key for e in store.events()] == ["k2"]
    assert store.events(processing=ProcessingState.DEAD) == []
    assert store.events("e1") == []
    assert store.purge(utcnow() + timedelta(days=1)) == 0  # index entries only
    assert client.zcard(prefix + "all") == 1
    assert store.record(notification("e1"), RAW, "k1").inserted  # after retention: new
    assert [e.key for e in store.events("e1")] == ["k1"]


def test_purge_cleans_every_index(store: RedisStore, client: redis.Redis, prefix: str) -> None:
    store.record(notification("e1"), RAW, "k1")
    finish_one(store, "k1", ProcessingState.PROCESSED)
    assert store.purge(utcnow() + timedelta(minutes=1)) == 1
    left = sorted(k.decode() for k in client.scan_iter(match=prefix + "*"))
    assert left == [prefix + p for p in ("env:e1", "s:sent", "seq", "upd")]


def test_short_retention_expires_final_events(prefix: str) -> None:
    with RedisStore(REDIS_URL, prefix=prefix, retention=timedelta(0)) as store:
        store.record(notification("e1"), RAW, "k1")
        finish_one(store, "k1", ProcessingState.PROCESSED)
        assert store.get_event("k1") is None
        assert store.get_envelope("e1") is not None


def test_lone_surrogate_is_refused_and_nothing_is_written(store: RedisStore) -> None:
    with pytest.raises(UnicodeEncodeError):
        store.record(notification("e1", subject="\ud800"), RAW, "k1")
    assert store.events() == [] and store.list_envelopes() == []
    store.record(notification("e1", subject="nul \x00 kept"), RAW, "k1")
    state = store.get_envelope("e1")
    assert state is not None and state.subject == "nul \x00 kept"


def test_error_text_is_made_storable(store: RedisStore) -> None:
    store.record(notification("e1"), RAW, "k1")
    store.claim("w", lease_for=LEASE)
    assert store.finish("k1", "w", ProcessingState.DEAD, error="bad \udcff")
    event = store.get_event("k1")
    assert event is not None and event.error == "bad \\udcff"


def test_unreachable_server_raises() -> None:
    with (
        RedisStore("redis://127.0.0.1:9/0", socket_connect_timeout=1) as dead,
        pytest.raises(redis.ConnectionError),
    ):
        dead.record(notification("e1"), RAW, "k1")


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


def test_a_stale_read_is_folded_again(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.record(notification("e1", "sent"), RAW, "k1")
    real = store._read_envelope
    reads: list[str] = []

    def stale_once(envelope_id: str, key: str) -> tuple[str, EnvelopeState | None, bool]:
        reads.append(key)
        return ("0", None, False) if len(reads) == 1 else real(envelope_id, key)

    monkeypatch.setattr(store, "_read_envelope", stale_once)
    later = notification("e1", "delivered", at=BASE_TIME + timedelta(hours=1))
    outcome = store.record(later, RAW, "k2")
    assert reads == ["k2", "k2"]
    assert outcome.inserted and outcome.state.event_count == 2
    assert outcome.state.reached >= {"sent", "delivered"}
    assert store.get_envelope("e1") == outcome.state


def test_endless_contention_raises_and_writes_nothing(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RedisStore(REDIS_URL, prefix=prefix, max_record_attempts=3) as store:
        store.record(notification("e1", "sent"), RAW, "k1")
        monkeypatch.setattr(store, "_read_envelope", lambda *_: ("0", None, False))
        with pytest.raises(RecordContention):
            store.record(notification("e1", "delivered"), RAW, "k2")
        assert store.get_event("k2") is None


def test_a_key_reused_by_another_envelope_is_a_duplicate(store: RedisStore) -> None:
    store.record(notification("e1"), RAW, "k1")
    assert not store.record(notification("e2"), RAW, "k1").inserted
    assert store.get_envelope("e2") is None


def test_concurrent_async_records_run_on_one_writer_thread(store: RedisStore) -> None:
    threads: set[str] = set()
    record = store.record

    def recorded_on(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.current_thread().name)
        return record(*args, **kwargs)

    store.record = recorded_on  # type: ignore[method-assign]

    async def deliver_all() -> list[Any]:
        calls = [store.arecord(notification(f"e{i % 4}", "sent"), RAW, f"k{i}") for i in range(30)]
        return await asyncio.gather(*calls)

    outcomes = asyncio.run(deliver_all())
    assert [outcome.inserted for outcome in outcomes] == [True] * 30
    assert threads == {"connect-mw-redis-writer"}
    assert len(store.events()) == 30
    store.close()
    assert store._writer.writer is None  # close() let the writer thread finish


def test_a_failing_record_fails_alone_on_the_writer(store: RedisStore) -> None:
    batch = [
        Pending(notification("e1"), RAW, "k1", None),
        Pending(notification("e2", account_id="\udcff"), RAW, "k2", None),  # unstorable
        Pending(notification("e3"), RAW, "k3", None),
    ]
    store._writer.commit(batch)
    assert batch[0].result().inserted and batch[2].result().inserted
    with pytest.raises(UnicodeEncodeError):
        batch[1].result()
    assert store.get_event("k2") is None and store.get_envelope("e2") is None


def test_an_outage_fails_the_rest_of_the_batch_untried() -> None:
    with RedisStore("redis://127.0.0.1:9/0", socket_connect_timeout=1) as dead:
        tried: list[str] = []
        record = dead.record

        def counted(notification: Any, raw: bytes, key: str, **kwargs: Any) -> Any:
            tried.append(key)
            return record(notification, raw, key, **kwargs)

        dead.record = counted  # type: ignore[method-assign]
        batch = [Pending(notification(f"e{i}"), RAW, f"k{i}", None) for i in range(5)]
        dead._writer.commit(batch)
    assert tried == ["k0"]
    for item in batch:
        with pytest.raises(redis.ConnectionError):
            item.result()
