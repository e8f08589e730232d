"""Storage: the store API (:mod:`.api`), the built-in backends, and ``open_store``.

Everything a store author needs is importable from here (or from :mod:`.api`).

URIs: ``memory://``; ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
``sqlite:///:memory:``; ``postgresql://`` / ``postgres://`` (libpq URI, plus ``schema`` and
``table_prefix`` query parameters); ``redis://`` / ``rediss://`` (plus ``prefix``). The
PostgreSQL and Redis stores are imported only when such a URI is opened.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError
from ..redaction import redact_uri
from .api import (
    DEFAULT_RETENTION,
    Commit,
    EnvelopeQuery,
    EventQuery,
    Lease,
    ProcessingState,
    Progress,
    Snapshot,
    Store,
    StoredEvent,
    utcnow,
)
from .memory import MemoryStore
from .sqlite import SQLiteStore

DEFAULT_STORE_URI = "sqlite:///connect-mw.sqlite3"

__all__ = [
    "DEFAULT_RETENTION",
    "DEFAULT_STORE_URI",
    "Commit",
    "EnvelopeQuery",
    "EventQuery",
    "Lease",
    "MemoryStore",
    "ProcessingState",
    "Progress",
    "SQLiteStore",
    "Snapshot",
    "Store",
    "StoredEvent",
    "open_store",
    "utcnow",
]


def open_store(store: str | Store | None = None) -> Store:
    """Return ``store`` itself, or the store its URI names (SQLite file by default)."""
    if isinstance(store, Store):
        return store
    uri = DEFAULT_STORE_URI if store is None else store
    if not isinstance(uri, str):
        raise ConfigurationError(f"store must be a URI string or a Store, not {type(uri)!r}")
    parts = urlsplit(uri)
    if parts.scheme == "memory":
        return MemoryStore()
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:] if parts.path.startswith("/") else unquote(parts.path)
        if not path:
            raise ConfigurationError(
                f"{redact_uri(uri)!r}: give a file, e.g. sqlite:///connect-mw.sqlite3"
            )
        return SQLiteStore(path)
    if parts.scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore  # noqa: PLC0415 (optional driver)

        return PostgresStore.from_uri(uri)
    if parts.scheme in ("redis", "rediss"):
        from .redis import RedisStore  # noqa: PLC0415 (optional driver)

        return RedisStore.from_uri(uri)
    raise ConfigurationError(
        f"unknown store URI {redact_uri(uri)!r}: use memory://, sqlite:///path, "
        "postgresql://…, redis://… (or pass a Store)"
    )
