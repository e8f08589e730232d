"""A binary ``bytes`` dumper for psycopg 3 that hands the object to libpq without a copy.

psycopg's C dumper for ``bytes`` in binary format (``psycopg_c``'s ``BytesBinaryDumper``)
copies every value into a new ``bytearray`` before libpq copies it again into its output
buffer: a 25 MB body bound as a parameter cost two bodies of memory on top of the caller's.
A Python dumper's ``dump`` result is passed to libpq as it is (by pointer, for ``bytes``),
and ``Dumper.dump`` may return any ``Buffer``: this one returns the object itself, as the
pure-Python ``psycopg.types.string.BytesBinaryDumper`` does. It is a class of its own
because psycopg swaps its own classes for their C versions when they are registered.

Used by :class:`~connect_mw.stores.postgres.PostgresStore` (on every connection it opens)
and by the Django store's event insert on PostgreSQL (on that one cursor). Only ``bytes``:
the stores bind nothing else in binary, and a ``memoryview`` need not be contiguous.
"""

from __future__ import annotations

from psycopg import postgres
from psycopg.adapt import Buffer, Dumper
from psycopg.pq import Format

_BYTEA_OID = postgres.types["bytea"].oid


class BytesPassThroughDumper(Dumper):
    """``bytes`` as ``bytea`` in binary format, the object itself (see the module).

    Register it on a connection's or a cursor's map, ``adapters.register_dumper(bytes,
    BytesPassThroughDumper)`` (psycopg copies a map on its first change: the global one is
    untouched); ``%s`` and ``%b`` then take it, ``%t`` still binds text.
    """

    format = Format.BINARY
    oid = _BYTEA_OID

    def dump(self, obj: Buffer) -> Buffer | None:
        """``obj`` itself: libpq reads it where it is."""
        return obj
