"""Store set-ups for the benchmark rows: a fresh, empty store per row, removed afterwards.

SQLite files go to a temporary directory on the machine's disk (not tmpfs: the durable row
must really fsync). Redis rows use their own key prefix, PostgreSQL rows their own schema, so
a run never touches anyone else's data; both are deleted after the row.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

REDIS_URL = os.environ.get("CONNECT_MW_BENCH_REDIS", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "CONNECT_MW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _token() -> str:
    return f"{os.getpid()}_{time.time_ns() % 10**12}"


def unavailable(store: str) -> str | None:
    """Why the ``redis`` / ``postgres`` rows cannot run here, or ``None`` when they can."""
    if store not in ("redis", "postgres"):
        return None
    from connect_mw.stores import open_store  # noqa: PLC0415

    uri = REDIS_URL if store == "redis" else POSTGRES_URL
    try:
        opened = open_store(uri)
        try:
            opened.get_envelope("connect-mw-bench-probe")
        finally:
            opened.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


def prepare(store: str, scratch: Path) -> dict[str, Any]:
    """The app configuration for a fresh ``store`` (``memory``, ``sqlite-wal`` ...)."""
    if store == "memory":
        return {"store": "memory"}
    if store in ("sqlite-wal", "sqlite-durable"):
        path = scratch / f"bench-{_token()}.sqlite3"
        return {"store": "sqlite", "path": str(path), "durable": store == "sqlite-durable"}
    if store == "redis":
        return {"store": f"{REDIS_URL}?prefix=connect-mw-bench-{_token()}:"}
    if store == "postgres":
        return {"store": f"{POSTGRES_URL}?schema=connect_mw_bench_{_token()}"}
    raise ValueError(f"unknown store {store!r}")


def cleanup(config: dict[str, Any]) -> None:
    """Delete what ``prepare`` created (file, key prefix or schema)."""
    name = str(config.get("store", ""))
    if name == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(config["path"] + suffix).unlink(missing_ok=True)
    elif name.startswith("redis"):
        import redis  # noqa: PLC0415

        prefix = name.split("prefix=", 1)[1]
        client = redis.Redis.from_url(REDIS_URL)
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)
        client.close()
    elif name.startswith("postgres"):
        import psycopg  # noqa: PLC0415

        schema = name.split("schema=", 1)[1]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
