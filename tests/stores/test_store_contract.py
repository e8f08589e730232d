"""Every store in the project passes the one public contract suite."""

from __future__ import annotations

from pathlib import Path

from connect_mw.stores import MemoryStore, SQLiteStore, Store
from connect_mw.testing import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore()


class TestSQLiteStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "connect.sqlite3")


class TestSQLiteStoreNonDurable(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "connect.sqlite3", durable=False)


class TestSQLiteInMemory(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(":memory:")
