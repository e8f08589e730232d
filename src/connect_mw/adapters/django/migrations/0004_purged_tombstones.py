"""Retention keeps tombstones: a purged event stays, ``processing`` ``purged``, body empty."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("connect_mw", "0003_event_body"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="processing",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("processed", "Processed"),
                    ("failed", "Failed"),
                    ("dead", "Dead"),
                    ("purged", "Purged"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
    ]
