"""Stored state text overwritten past the codec, for the store contract's damaged-state test.

Each function replaces the ``dump_state`` text of one envelope as its store keeps it, and
fails unless exactly that envelope had a state to replace (``StoreContract.overwrite_state``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connect_mw.stores import SQLiteStore, Store
from connect_mw.stores.encrypted import EncryptedStore

if TYPE_CHECKING:
    from connect_mw.stores.postgres import PostgresStore
    from connect_mw.stores.redis import RedisStore


def unwrapped(store: Store) -> Store:
    """The store that keeps the text (an encrypted store's inner one)."""
    return store.inner if isinstance(store, EncryptedStore) else store


def overwrite_sqlite(store: Store, envelope_id: str, text: str) -> None:
    """In ``connect_envelopes``."""
    sqlite = unwrapped(store)
    assert isinstance(sqlite, SQLiteStore)
    with sqlite._transaction() as conn:
        update = "UPDATE connect_envelopes SET state = ? WHERE envelope_id = ?"
        assert conn.execute(update, (text, envelope_id)).rowcount == 1


def overwrite_postgres(store: PostgresStore, envelope_id: str, text: str) -> None:
    """In ``<prefix>envelopes`` of the store's schema."""
    from psycopg import sql

    update = sql.SQL("UPDATE {envelopes} SET state = %s WHERE envelope_id = %s")
    with store._connection() as conn:
        cursor = conn.execute(update.format(**store._names), (text, envelope_id))
        assert cursor.rowcount == 1


def overwrite_redis(store: RedisStore, envelope_id: str, text: str) -> None:
    """In the envelope's hash (``<prefix>env:<id>``, field ``state``)."""
    name = store.prefix + "env:" + envelope_id
    assert store._client.hexists(name, "state")
    store._client.hset(name, "state", text)


def overwrite_json_file(store: Store, envelope_id: str, text: str) -> None:
    """In the file of ``examples/custom_store.py``'s ``JsonFileStore``."""
    data: dict[str, Any]
    with unwrapped(store)._data(write=True) as data:  # type: ignore[attr-defined]
        data["envelopes"][envelope_id]["state"] = text
