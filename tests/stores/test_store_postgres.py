"""``PostgresStore`` against a real PostgreSQL: the contract, plus what is specific to it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.services import POSTGRES_DSN, postgres_namespace, require_module

require_module("psycopg")

import psycopg  # noqa: E402
import psycopg_pool  # noqa: E402
from psycopg import sql  # noqa: E402

from connect_mw.errors import ConfigurationError  # noqa: E402
from connect_mw.stores import Store, open_store  # noqa: E402
from connect_mw.stores.base import ProcessingState  # noqa: E402
from connect_mw.stores.postgres import PostgresStore, StoreEncodingError  # noqa: E402
from connect_mw.testing import StoreContract, notification  # noqa: E402
from connect_mw.testing.store_contract import LEASE, RAW  # noqa: E402


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _schema(self) -> Iterator[None]:
        with postgres_namespace() as schema:
            self.schema = schema
            yield

    def make_store(self, tmp_path: Path) -> Store:
        return PostgresStore(POSTGRES_DSN, schema=self.schema, max_size=8)


@pytest.fixture
def schema() -> Iterator[str]:
    with postgres_namespace() as name:
        yield name


@pytest.fixture
def store(schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(POSTGRES_DSN, schema=schema) as pg:
        yield pg


def count(schema: str, table: str) -> int:
    with psycopg.connect(POSTGRES_DSN) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_schema_is_created_once_by_concurrent_stores(schema: str) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def first_use() -> None:
        with PostgresStore(POSTGRES_DSN, schema=schema, table_prefix="race_") as pg:
            barrier.wait()
            try:
                pg.get_envelope("e1")
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(schema, "race_schema_version") == 1


def test_table_prefixes_are_separate_namespaces(schema: str) -> None:
    with (
        PostgresStore(POSTGRES_DSN, schema=schema, table_prefix="a_") as a,
        PostgresStore(POSTGRES_DSN, schema=schema, table_prefix="b_") as b,
    ):
        assert a.record(notification("e1"), RAW, "k1").inserted
        assert b.record(notification("e1"), RAW, "k1").inserted
        assert a.get_event("k1") is not None and b.get_event("k1") is not None
    assert count(schema, "a_events") == count(schema, "b_events") == 1


def test_newer_schema_version_is_refused(store: PostgresStore, schema: str) -> None:
    store.get_envelope("e1")
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        table = sql.Identifier(schema, "connect_schema_version")
        conn.execute(sql.SQL("INSERT INTO {} VALUES (99)").format(table))
    with (
        PostgresStore(POSTGRES_DSN, schema=schema) as newer,
        pytest.raises(ConfigurationError, match="version 99"),
    ):
        newer.get_envelope("e1")


UNSTORABLE = {
    "nul in envelope id": (notification("e\x00"), "k1"),
    "nul in key": (notification("e1"), "k\x00"),
    "surrogate in subject": (notification("e1", subject="\ud800"), "k1"),
    "surrogate in account": (notification("e1", account_id="\udcff"), "k1"),
}


@pytest.mark.parametrize("case", UNSTORABLE)
def test_unstorable_text_is_refused_and_nothing_is_written(store: PostgresStore, case: str) -> None:
    bad, key = UNSTORABLE[case]
    with pytest.raises(StoreEncodingError):
        store.record(bad, RAW, key)
    assert store.events() == []
    assert store.list_envelopes() == []
    assert store.record(notification("e1"), RAW, "k1").inserted


def test_nul_in_folded_text_round_trips(store: PostgresStore) -> None:
    store.record(notification("e1", subject="a\x00b"), b"\x00raw\x00", "k1")
    state = store.get_envelope("e1")
    assert state is not None and state.subject == "a\x00b"
    event = store.get_event("k1")
    assert event is not None and event.raw == b"\x00raw\x00"


def test_error_text_is_made_storable(store: PostgresStore) -> None:
    store.record(notification("e1"), RAW, "k1")
    store.claim("w", lease_for=LEASE)
    assert store.finish("k1", "w", ProcessingState.DEAD, error="bad \x00 byte \udcff")
    event = store.get_event("k1")
    assert event is not None and event.error == "bad \\x00 byte \\udcff"


def test_unreachable_server_raises() -> None:
    dead = PostgresStore(
        "postgresql://postgres@127.0.0.1:9/test", connect_timeout=1, pool_timeout=1.5
    )
    with dead, pytest.raises(psycopg_pool.PoolTimeout):
        dead.record(notification("e1"), RAW, "k1")


def test_hung_server_raises() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections, never answers
        port = listener.getsockname()[1]
        dsn = f"postgresql://postgres@127.0.0.1:{port}/test"
        with (
            PostgresStore(dsn, connect_timeout=1, pool_timeout=2) as hung,
            pytest.raises(psycopg_pool.PoolTimeout),
        ):
            hung.get_envelope("e1")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_builds_a_postgres_store(scheme: str, schema: str) -> None:
    uri = f"{scheme}://postgres@127.0.0.1:5432/test?connect_timeout=3&schema={schema}"
    with open_store(uri + "&table_prefix=uri_") as store:
        assert isinstance(store, PostgresStore)
        assert (store.schema, store.table_prefix) == (schema, "uri_")
        assert store.record(notification("e1"), RAW, "k1").inserted
    assert count(schema, "uri_events") == 1


def test_a_key_reused_by_another_envelope_leaves_no_placeholder(store: PostgresStore) -> None:
    store.record(notification("e1"), RAW, "k1")
    assert not store.record(notification("e2"), RAW, "k1").inserted
    assert store.get_envelope("e2") is None
    assert count(store.schema, "connect_envelopes") == 1


def test_a_blocked_record_ends_at_the_statement_timeout(schema: str) -> None:
    with PostgresStore(POSTGRES_DSN, schema=schema, statement_timeout_ms=300) as pg:
        pg.record(notification("e1"), RAW, "k1")
        table = sql.Identifier(schema, "connect_envelopes")
        with psycopg.connect(POSTGRES_DSN) as blocker:
            blocker.execute(sql.SQL("SELECT 1 FROM {} FOR UPDATE").format(table))
            with pytest.raises(psycopg.errors.QueryCanceled):
                pg.record(notification("e1", "delivered"), RAW, "k2")
        assert pg.get_event("k2") is None
        assert pg.record(notification("e1", "delivered"), RAW, "k2").inserted
