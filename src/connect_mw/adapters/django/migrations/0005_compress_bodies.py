"""On PostgreSQL, bodies compressed with lz4 (else stored uncompressed), as ``PostgresStore``.

PostgreSQL's default compression, pglz, spent about 0.5 s of a 25 MB body's commit trying to
compress it. lz4 (PostgreSQL 14+ built with it) takes a few milliseconds and still
compresses the usual few-KB bodies; without it, ``STORAGE EXTERNAL`` stores them as they
are. Only how new values are stored changes: no table is rewritten. Other databases: nothing.
"""

from typing import Any

from django.db import DatabaseError, migrations, transaction


def compress_bodies(apps: Any, schema_editor: Any) -> None:
    """``ALTER COLUMN raw SET COMPRESSION lz4``, or ``SET STORAGE EXTERNAL`` when refused."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("connect_mw", "Event")._meta.db_table)
    try:
        with transaction.atomic(using=connection.alias):  # a savepoint: it may be refused
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN raw SET COMPRESSION lz4")
    except DatabaseError:  # PostgreSQL 13, or built without lz4
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN raw SET STORAGE EXTERNAL")


class Migration(migrations.Migration):
    dependencies = [
        ("connect_mw", "0004_purged_tombstones"),
    ]

    operations = [
        migrations.RunPython(compress_bodies, migrations.RunPython.noop, elidable=True),
    ]
