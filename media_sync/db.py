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
