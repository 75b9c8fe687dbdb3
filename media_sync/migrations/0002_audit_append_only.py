"""The database itself refuses UPDATE and DELETE on audit rows, whoever asks."""

from __future__ import annotations

from django.db import migrations

from media_sync.db import append_only_sql, run_sql

# media_sync_audit_locked() is registered on every Django connection (media_sync/db.py); the same
# triggers keep the triage events append-only (0030_triage).
FORWARD, BACKWARD = append_only_sql("media_sync_auditevent")


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0001_initial")]

    operations = [migrations.RunPython(run_sql(FORWARD), run_sql(BACKWARD))]
