"""The store API of connect-mw 2: versioned envelopes, revised events, markers.

Every envelope row existing before this migration holds a committed state (the old store
wrote ``state`` in the transaction that created the row), so each starts at version 1 and
``state`` becomes required.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("connect_mw", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="envelope",
            name="version",
            field=models.IntegerField(default=1),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="envelope",
            name="state",
            field=models.TextField(),
        ),
        migrations.AddField(
            model_name="event",
            name="revision",
            field=models.IntegerField(default=0),
        ),
        migrations.CreateModel(
            name="Marker",
            fields=[
                ("name", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("value", models.TextField()),
            ],
        ),
    ]
