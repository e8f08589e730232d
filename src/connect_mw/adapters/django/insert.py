"""The event insert of :class:`~connect_mw.adapters.django.store.DjangoStore`: the body once.

Saved through the ORM, a 50 MB body cost about ten bodies of peak memory: with ``DEBUG =
True`` Django's debug cursor renders every statement with its parameters into
``connection.queries`` (on SQLite the body hex-encoded, twice), and binding the body makes
the driver copy it. Here the insert is one statement on a cursor that logs nothing
(``make_cursor``, Django's cursor without the debug wrapper; under ``DEBUG`` the statement is
logged with the body left out), the other columns prepared by their model fields as the ORM
prepares them, and the body handed over as the core gave it:

* SQLite (Python >= 3.11, bodies of ``BLOB_IO_MIN`` bytes or more): the row is inserted
  with ``raw`` empty and ``zeroblob(size)`` in ``body``, the table's last column (the only
  place SQLite keeps a zeroblob's zeros out of memory), and the body written into it
  through incremental BLOB I/O (``Connection.blobopen``) straight from the caller's bytes,
  as ``SQLiteStore`` does; reads take ``body`` when it is set;
* PostgreSQL with psycopg 3: bound server-side in binary format (``%b``; Django's default
  client-side binding would render it into the statement as an escaped literal, two bodies
  more), through :class:`~connect_mw.stores.psycopg_bytes.BytesPassThroughDumper` on this
  cursor, which hands the caller's bytes to libpq without the copy psycopg's own binary
  dumper makes (libpq still copies the message into its output buffer);
* any other database: bound once.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from ...stores.api import StoredEvent
from ...stores.sqlite import BLOB_IO, BLOB_IO_MIN
from .models import Event
from .orm import event_row


def insert_event(alias: str, event: StoredEvent) -> bool:
    """Insert ``event`` (in a savepoint); ``False`` when its key is already stored."""
    try:
        with transaction.atomic(using=alias):
            _insert(connections[alias], event)
    except IntegrityError:
        if Event.objects.using(alias).filter(key=event.key).exists():
            return False
        raise  # another constraint failed: not a duplicate
    return True


#: One column of the insert: its name, its placeholder and its parameter.
_Column = tuple[str, str, Any]


def _insert(connection: BaseDatabaseWrapper, event: StoredEvent) -> None:
    """One ``INSERT`` of ``event``'s row, the body passed as described above."""
    raw = event.raw or b""
    blob_io = connection.vendor == "sqlite" and BLOB_IO and len(raw) >= BLOB_IO_MIN
    row = [*_other_columns(connection, event), *_body_columns(connection, raw, blob_io)]
    quote = connection.ops.quote_name
    statement = (
        f"INSERT INTO {quote(Event._meta.db_table)} "
        f"({', '.join(quote(column) for column, _, _ in row)}) "
        f"VALUES ({', '.join(placeholder for _, placeholder, _ in row)})"
    )
    started = time.monotonic()
    with _quiet_cursor(connection) as cursor:
        cursor.execute(statement, [value for _, _, value in row])
        if blob_io:
            _write_blob(connection, cursor.lastrowid, raw)
    if connection.queries_logged:
        _log(connection, statement, len(raw), time.monotonic() - started)


def _other_columns(connection: BaseDatabaseWrapper, event: StoredEvent) -> list[_Column]:
    """The row's columns but the body's and the key ``seq``, prepared by their fields."""
    row = event_row(event)
    return [
        (str(field.column), "%s", field.get_db_prep_save(getattr(row, field.attname), connection))
        for field in Event._meta.concrete_fields
        if field.attname not in ("seq", "raw", "body")
    ]


def _body_columns(connection: BaseDatabaseWrapper, raw: bytes, blob_io: bool) -> list[_Column]:
    """The body's columns (see the module's docstring)."""
    if blob_io:  # ``raw`` empty, room for the body in ``body``, written afterwards
        return [("raw", "%s", b""), ("body", "zeroblob(%s)", len(raw))]
    if connection.vendor == "postgresql" and _psycopg3():
        return [("raw", "%b", raw)]
    return [("raw", "%s", connection.Database.Binary(raw))]  # type: ignore[attr-defined]


def _psycopg3() -> bool:
    """Whether Django's PostgreSQL backend runs on psycopg 3 (imported only for PostgreSQL)."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3  # noqa: PLC0415

    return bool(is_psycopg3)


@contextmanager
def _quiet_cursor(connection: BaseDatabaseWrapper) -> Iterator[CursorWrapper]:
    """A cursor of ``connection`` whose statements stay out of ``connection.queries``."""
    connection.ensure_connection()
    raw_cursor: Any  # the driver's cursor (django-stubs types psycopg's cursors narrowly)
    with connection.wrap_database_errors:
        if connection.vendor == "postgresql" and _psycopg3():
            from django.db.backends.postgresql.base import ServerBindingCursor  # noqa: PLC0415

            from ...stores.psycopg_bytes import BytesPassThroughDumper  # noqa: PLC0415

            raw_cursor = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
            raw_cursor.adapters.register_dumper(bytes, BytesPassThroughDumper)  # no copy
        else:
            raw_cursor = connection.create_cursor()
    with connection.make_cursor(raw_cursor) as cursor:
        yield cursor


if sys.version_info >= (3, 11):

    def _write_blob(connection: BaseDatabaseWrapper, rowid: int | None, raw: bytes) -> None:
        """Write ``raw`` into the ``zeroblob`` of event ``rowid``, without a copy."""
        assert rowid is not None  # an INSERT into a rowid table
        database: sqlite3.Connection = connection.connection
        table = Event._meta.db_table
        with connection.wrap_database_errors, database.blobopen(table, "body", rowid) as blob:
            blob.write(raw)

else:  # pragma: no cover (BLOB_IO is False: never called)

    def _write_blob(connection: BaseDatabaseWrapper, rowid: int | None, raw: bytes) -> None:
        """Incremental BLOB I/O needs Python >= 3.11."""
        raise NotImplementedError("Connection.blobopen needs Python >= 3.11")


def _log(connection: BaseDatabaseWrapper, statement: str, size: int, took: float) -> None:
    """Record the insert in ``connection.queries`` as the debug cursor would, body left out."""
    logged = f"{statement} -- parameters not logged (a body of {size} bytes)"
    connection.queries_log.append({"sql": logged, "time": f"{took:.3f}"})
