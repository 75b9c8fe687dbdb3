"""The SQLite side of the append-only audit.

SQLite triggers cannot see who is connected, so the audit's trigger asks a function that each Django
connection registers: it answers "locked" unless a test's database teardown has asked otherwise. A
connection without the function (sqlite3 on the command line, say) fails the statement: still refused.
PostgreSQL needs none of this: its trigger refuses UPDATE and DELETE, and test teardown uses TRUNCATE.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created

GUARD_FUNCTION = "media_sync_audit_locked"
_state = {"locked": True}


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(GUARD_FUNCTION, 0, lambda: int(_state["locked"]))


def install() -> None:
    connection_created.connect(_register, dispatch_uid="media_sync_audit_guard")


def set_audit_locked(locked: bool) -> None:
    """Tests only: unlocked, the flush after a live-server test may empty the audit table."""
    _state["locked"] = locked


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
