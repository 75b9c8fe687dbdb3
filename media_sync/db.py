"""The SQLite side of the append-only audit.

SQLite triggers cannot see who is connected, so the audit's trigger asks a function that each Django
connection registers: it answers "locked" unless a test's database teardown has asked otherwise. A
connection without the function (sqlite3 on the command line, say) fails the statement: still refused.
PostgreSQL needs none of this: its trigger refuses UPDATE and DELETE, and test teardown uses TRUNCATE.
There, the runtime role's grants (db_grant_runtime_role) also keep the app's own connection from
changing the audit or its trigger: only the owner that migrates could.

One path may delete audit rows: `audit_archiving()`, which services/audit_archive.py enters after an
archive was written and verified. Inside it the triggers (migration 0031_audit_seals) let a DELETE through
only for rows an `AuditArchive` row covers: on SQLite by a second registered function, on PostgreSQL by a
transaction-local setting. It needs DELETE on the audit, which the runtime role never has: archiving
runs as the owner.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.backends.signals import connection_created

GUARD_FUNCTION = "media_sync_audit_locked"
ARCHIVING_FUNCTION = "media_sync_audit_archiving"
_state = {"locked": True}
# Per thread, as Django's connections are: another thread's connection never sees this one's archive.
_archiving = threading.local()


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(GUARD_FUNCTION, 0, lambda: int(_state["locked"]))
        connection.connection.create_function(
            ARCHIVING_FUNCTION, 0, lambda: int(getattr(_archiving, "on", False))
        )


def install() -> None:
    connection_created.connect(_register, dispatch_uid="media_sync_audit_guard")


def set_audit_locked(locked: bool) -> None:
    """Tests only: unlocked, the flush after a live-server test may empty the audit table."""
    _state["locked"] = locked


AUDIT_TABLE = "media_sync_auditevent"
# A DELETE of an audit row passes only inside the archive's guarded path (audit_archiving) and only for rows
# an archive row already covers; UPDATE, and every other DELETE, is refused (migration 0031_audit_seals).
_ARCHIVED = "OLD.id <= (SELECT COALESCE(MAX(last_id), 0) FROM media_sync_auditarchive)"
AUDIT_TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER {AUDIT_TABLE}_no_update BEFORE UPDATE ON {AUDIT_TABLE} WHEN {GUARD_FUNCTION}() "
        f"BEGIN SELECT RAISE(ABORT, '{AUDIT_TABLE} is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER {AUDIT_TABLE}_no_delete BEFORE DELETE ON {AUDIT_TABLE} WHEN {GUARD_FUNCTION}() "
        f"AND NOT ({ARCHIVING_FUNCTION}() AND {_ARCHIVED}) "
        f"BEGIN SELECT RAISE(ABORT, '{AUDIT_TABLE} is append-only: DELETE refused'); END",
    ],
    "postgresql": [
        f"""CREATE OR REPLACE FUNCTION {AUDIT_TABLE}_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('media_sync.archiving', true) = 'on' AND {_ARCHIVED} THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '{AUDIT_TABLE} is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql""",
        f"CREATE TRIGGER {AUDIT_TABLE}_append_only BEFORE UPDATE OR DELETE ON {AUDIT_TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {AUDIT_TABLE}_append_only()",
    ],
}
# The audit's triggers dropped (the function stays): before AUDIT_TRIGGERS re-creates them, and by the tests
# that play someone editing the table behind the app's back.
AUDIT_TRIGGERS_DROP = {
    "sqlite": [
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_update",
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_delete",
    ],
    "postgresql": [f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_append_only ON {AUDIT_TABLE}"],
}


def append_only_sql(table: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The triggers that make `table` append-only, forwards and backwards per database vendor: the
    audit's (migration 0002) for any other table. On SQLite they ask the same guard function."""
    forward = {
        "sqlite": [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} WHEN {GUARD_FUNCTION}() "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN {GUARD_FUNCTION}() "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
        ],
        "postgresql": [
            f"""CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
                    USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql""",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        ],
    }
    backward = {
        "sqlite": [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"],
        "postgresql": [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()",
        ],
    }
    return forward, backward


def run_sql(statements: dict[str, list[str]]) -> Any:
    """A RunPython step running this vendor's statements (refusing a vendor with none)."""

    def apply(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"no append-only trigger for the {vendor} database")
        for sql in statements[vendor]:
            schema_editor.execute(sql, params=None)  # no placeholders: the SQL has a literal %

    return apply


@contextmanager
def audit_archiving() -> Iterator[None]:
    """The one guarded path allowed to delete audit rows: inside it, in one transaction, rows that an
    archive row already covers may be deleted. Nothing else changes: UPDATE is still refused."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL media_sync.archiving = 'on'")
            yield
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL media_sync.archiving = 'off'")
            return
        _archiving.on = True
        try:
            yield
        finally:
            _archiving.on = False


# Tables the runtime database role may only read and add to (README, "Database roles").
APPEND_ONLY_TABLES = (
    "media_sync_auditevent",
    "media_sync_auditseal",
    "media_sync_auditarchive",
    "media_sync_triageevent",
)


def db_grant_runtime_role(*, role: str, using: str = "default") -> None:
    """Give PostgreSQL's runtime role what the app needs and no more: every table to read and write,
    but the audit only to read and add to (no UPDATE, DELETE, TRUNCATE or TRIGGER; not being the owner,
    it cannot alter the table or drop its trigger either). Run by the owner after every migrate, so
    tables added later are granted too."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not role:
        return
    grantee = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {grantee}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}")
        for table in APPEND_ONLY_TABLES:
            cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER ON {table} FROM {grantee}")
        # The audit's monthly partitions (audit_partitions.py) are reached through the audit, whose grants
        # are the ones checked: the role needs nothing on them, and ON ALL TABLES just gave it everything.
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent IN (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)",
            [list(APPEND_ONLY_TABLES)],
        )
        for (partition,) in cursor.fetchall():
            cursor.execute(f"REVOKE ALL ON {connection.ops.quote_name(partition)} FROM {grantee}")
        # It may not create tables: the partitions ahead of time come from the owner's function.
        cursor.execute("SELECT to_regprocedure(%s)", [f"{AUDIT_TABLE}_partitions_ensure()"])
        if cursor.fetchone()[0] is not None:
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {AUDIT_TABLE}_partitions_ensure() TO {grantee}")


def db_grant_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: the grants, when MEDIA_SYNC_DB_RUNTIME_ROLE names the runtime role."""
    db_grant_runtime_role(role=settings.MEDIA_SYNC_DB_RUNTIME_ROLE, using=using)
