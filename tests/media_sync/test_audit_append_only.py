"""The audit is append-only, enforced by the database itself (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from media_sync.models import AuditEvent, AuditKind, Outcome

# The trigger refuses the owner too; the runtime role is refused before it, by its grants (test_db_roles).
pytestmark = [pytest.mark.django_db, pytest.mark.db_owner]


@pytest.fixture
def event() -> AuditEvent:
    return AuditEvent.objects.create(
        kind=AuditKind.ITEM,
        provider="recoveryconnect",
        operation="rc_transfer_photos",
        outcome=Outcome.FAILED,
        message="original",
    )


def test_database_refuses_update_of_an_audit_row(event: AuditEvent) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(message="rewritten")
    event.refresh_from_db()
    assert event.message == "original"


def test_database_refuses_delete_of_an_audit_row(event: AuditEvent) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_database_refuses_raw_sql_update_and_delete(event: AuditEvent) -> None:
    for sql in (
        "UPDATE media_sync_auditevent SET outcome = 'succeeded'",
        "DELETE FROM media_sync_auditevent",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).outcome == Outcome.FAILED


def test_inserting_audit_rows_still_works(event: AuditEvent) -> None:
    AuditEvent.objects.create(
        kind=AuditKind.HTTP, provider="recoveryconnect", operation="auth", outcome=Outcome.SUCCEEDED
    )
    assert AuditEvent.objects.count() == 2
