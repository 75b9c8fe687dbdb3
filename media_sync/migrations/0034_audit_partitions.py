"""PostgreSQL: the audit table partitioned by month (media_sync/audit_partitions.py); nothing on SQLite.

Django's state does not change (the model keeps `id` as its primary key): only the database's table is
made anew, so there is nothing for makemigrations to see."""

from django.db import migrations

from media_sync.audit_partitions import audit_table_partition, audit_table_unpartition


class Migration(migrations.Migration):
    dependencies = [
        ("media_sync", "0033_write_ahead"),
    ]

    operations = [
        migrations.RunPython(audit_table_partition, audit_table_unpartition),
    ]
