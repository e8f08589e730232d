"""``Store.probe(timeout)``: a store that answers passes; one that is down, refuses or hangs
raises ``StoreUnavailable`` with one line and no credentials."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_mw import MemoryStore, SQLiteStore
from connect_mw.encryption import Encryptor
from connect_mw.errors import ConfigurationError, StoreUnavailable
from connect_mw.stores import Snapshot, open_store
from connect_mw.stores.encrypted import EncryptedStore
from support.servers import free_port
from support.services import require_postgres, require_redis

SECRET = "S3cretPW-probe"


def test_memory_and_sqlite_stores_answer(tmp_path: Path) -> None:
    MemoryStore().probe(1.0)
    with SQLiteStore(tmp_path / "events.sqlite3") as store:
        store.probe(1.0)
    sealed = EncryptedStore(MemoryStore(), Encryptor.from_spec(f"k:{Encryptor.generate_key()}"))
    sealed.probe(1.0)


def test_postgres_and_redis_stores_answer() -> None:
    for uri in (require_postgres(), require_redis()):
        with open_store(uri) as store:
            store.probe(1.0)


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://postgres:{secret}@127.0.0.1:{port}/test",
        "redis://:{secret}@127.0.0.1:{port}/0",
    ],
    ids=["postgres", "redis"],
)
def test_a_server_that_is_down_is_unavailable_in_one_line_without_its_password(uri: str) -> None:
    pytest.importorskip("psycopg" if uri.startswith("postgresql") else "redis")
    store = open_store(uri.format(secret=SECRET, port=free_port()))
    with pytest.raises(StoreUnavailable) as info:
        store.probe(1.0)
    reason = info.value.reason
    assert "refused" in reason.lower() and "\n" not in reason and SECRET not in reason
    store.close()


def test_postgres_probes_without_its_pool() -> None:
    """Its pool would wait ``pool_timeout`` (here an hour) for the server that is down."""
    pytest.importorskip("psycopg")
    from connect_mw.stores.postgres import PostgresStore

    store = PostgresStore(f"postgresql://127.0.0.1:{free_port()}/test", pool_timeout=3600)
    with pytest.raises(StoreUnavailable, match="refused"):
        store.probe(1.0)
    assert not store._opened  # the pool was never opened
    sealed = EncryptedStore(store, Encryptor.from_spec(f"k:{Encryptor.generate_key()}"))
    with pytest.raises(StoreUnavailable, match="refused"):
        sealed.probe(1.0)


class HangingStore(MemoryStore):
    """A store whose reads wait until released (a server that accepts and never answers)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def load(self, envelope_id: str) -> Snapshot | None:
        self.release.wait()
        return super().load(envelope_id)


@pytest.fixture
def hanging() -> Iterator[HangingStore]:
    store = HangingStore()
    yield store
    store.release.set()


def test_a_store_that_does_not_answer_in_time_is_unavailable(hanging: HangingStore) -> None:
    with pytest.raises(StoreUnavailable, match=r"no answer within 0\.2 s"):
        hanging.probe(0.2)


class MisconfiguredStore(MemoryStore):
    """A store that answers, and is set up wrong."""

    def load(self, envelope_id: str) -> Snapshot | None:
        raise ConfigurationError("schema 'x' is at version 9")


def test_a_configuration_error_is_not_an_outage() -> None:
    with pytest.raises(ConfigurationError, match="version 9"):
        MisconfiguredStore().probe(1.0)
    with pytest.raises(ValueError, match="positive"):
        MemoryStore().probe(0)
    with pytest.raises(ValueError, match="positive"):
        MemoryStore().probe(float("nan"))  # passed "timeout <= 0"
