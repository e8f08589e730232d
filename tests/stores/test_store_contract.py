"""Every built-in store passes the one public contract suite (storage, recording, queue).

Redis, Django, the encrypted stores and the custom-store example run the same suite in
their own modules (``test_store_redis.py``, ``tests/django``, ``test_encryption_at_rest.py``,
``test_custom_store_example.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_mw.stores import MemoryStore, SQLiteStore, Store
from connect_mw.testing import StoreContract
from support.services import POSTGRES_DSN, postgres_namespace, require_module
from support.stored_state import overwrite_postgres, overwrite_sqlite


class TestMemoryStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore()


class TestSQLiteStore(StoreContract):
    overwrite_state = staticmethod(overwrite_sqlite)

    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "connect.sqlite3")


class TestSQLiteStoreNonDurable(StoreContract):
    overwrite_state = staticmethod(overwrite_sqlite)

    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "connect.sqlite3", durable=False)


class TestSQLiteInMemory(StoreContract):
    overwrite_state = staticmethod(overwrite_sqlite)

    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(":memory:")


class TestPostgresStore(StoreContract):
    """On the real server (``support.services``), each test in a schema of its own."""

    @pytest.fixture(autouse=True)
    def _schema(self) -> Iterator[None]:
        require_module("psycopg")
        with postgres_namespace() as schema:
            self.schema = schema
            yield

    def make_store(self, tmp_path: Path) -> Store:
        from connect_mw.stores.postgres import PostgresStore

        return PostgresStore(POSTGRES_DSN, schema=self.schema, max_size=8)

    def overwrite_state(self, store: Store, envelope_id: str, text: str) -> None:
        from connect_mw.stores.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        overwrite_postgres(store, envelope_id, text)
