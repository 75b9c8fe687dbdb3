"""The SQLite side of the append-only audit.

SQLite triggers cannot see who is connected, so the audit's trigger asks a function that each Django
connection registers: it answers "locked" unless a test's database teardown has asked otherwise. A
connection without the function (sqlite3 on the command line, say) fails the statement: still refused.
PostgreSQL needs none of this: its trigger refuses UPDATE and DELETE, and test teardown uses TRUNCATE.

One path may delete audit rows: `audit_archiving()`, which services/audit_archive.py enters after an
archive was written and verified. Inside it the triggers (migration 0030_audit_seals) let a DELETE through
only for rows an `AuditArchive` row covers: on SQLite by a second registered function, on PostgreSQL by a
transaction-local setting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
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
