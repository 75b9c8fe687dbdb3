"""The SQLite side of the append-only audit.

SQLite triggers cannot see who is connected, so the audit's trigger asks a function that each Django
connection registers: it answers "locked" unless a test's database teardown has asked otherwise. A
connection without the function (sqlite3 on the command line, say) fails the statement: still refused.
PostgreSQL needs none of this: its trigger refuses UPDATE and DELETE, and test teardown uses TRUNCATE.
There, the runtime role's grants (db_grant_runtime_role) also keep the app's own connection from
changing the audit or its trigger: only the owner that migrates could.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
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


# Tables the runtime database role may only read and add to (README, "Database roles").
APPEND_ONLY_TABLES = ("media_sync_auditevent",)


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


def db_grant_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: the grants, when MEDIA_SYNC_DB_RUNTIME_ROLE names the runtime role."""
    db_grant_runtime_role(role=settings.MEDIA_SYNC_DB_RUNTIME_ROLE, using=using)
