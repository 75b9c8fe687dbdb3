"""The database itself refuses UPDATE and DELETE on audit rows, whoever asks."""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLE = "media_sync_auditevent"

FORWARD = {
    # media_sync_audit_locked() is registered on every Django connection (media_sync/db.py).
    "sqlite": [
        f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} WHEN media_sync_audit_locked() "
        f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} WHEN media_sync_audit_locked() "
        f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END",
    ],
    "postgresql": [
        f"""CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql""",
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()",
    ],
}

BACKWARD = {
    "sqlite": [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"],
    "postgresql": [
        f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
        f"DROP FUNCTION IF EXISTS {TABLE}_append_only()",
    ],
}


def run(statements: dict[str, list[str]]) -> Any:
    def apply(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"no append-only trigger for the {vendor} database")
        for sql in statements[vendor]:
            schema_editor.execute(sql, params=None)  # no placeholders: the SQL has a literal %

    return apply


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0001_initial")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
