"""The real PostgreSQL and Redis the store tests run against, and isolated namespaces in them.

Locally a service that does not answer skips its tests; with ``CI`` set it fails them, so CI
never passes by silently skipping. Override the addresses with ``CONNECT_MW_TEST_POSTGRES``
and ``CONNECT_MW_TEST_REDIS``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

from connect_mw.stores import Store

POSTGRES_DSN = os.environ.get(
    "CONNECT_MW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CONNECT_MW_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(service: str, error: BaseException) -> NoReturn:
    """Skip the test (locally) or fail it (``CI`` set): ``service`` did not answer."""
    message = f"{service} is not available: {type(error).__name__}: {error}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: service tests must run, not skip)")
    pytest.skip(message)


def require_postgres() -> str:
    """The test DSN, once PostgreSQL answers on it (else skip or fail)."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_DSN, connect_timeout=3).close()
    except Exception as error:  # ImportError, OperationalError, …
        unavailable("PostgreSQL", error)
    return POSTGRES_DSN


def require_redis() -> str:
    """The test URL, once Redis answers on it (else skip or fail)."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as error:
        unavailable("Redis", error)
    return REDIS_URL


def unique_name(kind: str) -> str:
    """A fresh namespace name such as ``cmw_test_1f2e3d4c5b6a``."""
    return f"cmw_{kind}_{uuid.uuid4().hex[:12]}"


def drop_postgres_schema(schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def delete_redis_prefix(prefix: str) -> int:
    """Delete every key under ``prefix``; how many there were."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


@contextmanager
def postgres_namespace() -> Iterator[str]:
    """A fresh schema name, dropped on exit."""
    require_postgres()
    schema = unique_name("test")
    try:
        yield schema
    finally:
        drop_postgres_schema(schema)


@contextmanager
def redis_namespace() -> Iterator[str]:
    """A fresh key prefix, its keys deleted on exit."""
    require_redis()
    prefix = unique_name("test") + ":"
    try:
        yield prefix
    finally:
        delete_redis_prefix(prefix)


def open_test_store(backend: str, namespace: str) -> Store:
    """A store of ``backend`` (``postgres``/``redis``) on ``namespace``; picklable recipe."""
    if backend == "postgres":
        from connect_mw.stores.postgres import PostgresStore

        return PostgresStore(POSTGRES_DSN, schema=namespace, max_size=4)
    if backend == "redis":
        from connect_mw.stores.redis import RedisStore

        return RedisStore(REDIS_URL, prefix=namespace)
    raise ValueError(backend)


def require_module(name: str) -> None:
    """Skip the calling test module (locally) or fail it (``CI``) without driver ``name``."""
    try:
        __import__(name)
    except ImportError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{name} is not installed: {error}", allow_module_level=True)
