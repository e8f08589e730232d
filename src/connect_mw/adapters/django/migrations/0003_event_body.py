"""``Event.body``: large bodies on SQLite, written through incremental BLOB I/O.

A nullable column without a default, so SQLite adds it with ``ALTER TABLE ... ADD COLUMN``
as the table's last column, where a ``zeroblob`` stays out of memory (see
:mod:`connect_mw.adapters.django.insert`). Existing rows keep their bodies in ``raw``.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("connect_mw", "0002_store_api"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="body",
            field=models.BinaryField(null=True),
        ),
    ]
