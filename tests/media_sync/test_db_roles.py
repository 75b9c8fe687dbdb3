"""Least privilege on PostgreSQL: the runtime role the app connects as may read and add to the audit, and
nothing else: UPDATE, DELETE and TRUNCATE are refused by the grants themselves (before any trigger), and,
not owning the table, it cannot disable or drop the trigger. The owner migrates and grants
(`db_grant_runtime_role`, run after every migrate when MEDIA_SYNC_DB_RUNTIME_ROLE is set).

The test database is created and migrated by the owner (pytest-django, as the superuser here); these
tests then connect to it as the runtime role. What they prove: the grants the README documents refuse
those statements to that role, and the app's own work (a job, its exchanges and results) runs under them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management.base import CommandError
from django.db import connection
from psycopg import errors

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.audit_partitions import audit_partitions, partition_name
from media_sync.db import db_grant_runtime_role
from media_sync.models import AuditEvent, AuditKind, JobStatus, TransferJob
from media_sync.services.audit_archive import ArchiveRefused, audit_archive
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.run import job_run
from tests.media_sync.factories import order_on_both_sides, run_command

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.db_owner,  # it creates the role and grants, as the owner
    pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles: PostgreSQL only"),
]


@pytest.fixture
def runtime_role() -> Iterator[str]:
    """A login role for this test database alone (roles are shared by the whole server), granted as
    a migrate grants it; dropped afterwards."""
    role = f"{connection.settings_dict['NAME']}_runtime"[:63]
    quoted = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:  # left by an interrupted run
            cursor.execute(f"CREATE ROLE {quoted} LOGIN")
    db_grant_runtime_role(role=role)
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {quoted}")
        cursor.execute(f"DROP ROLE {quoted}")


def _connect_as(role: str) -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=role,
        autocommit=True,
    )


def _one_row() -> AuditEvent:
    return AuditEvent.objects.create(
        kind=AuditKind.ITEM, provider="recoveryconnect", operation="rc_transfer_photos", outcome="failed"
    )


def test_the_runtime_role_reads_and_adds_to_the_audit(runtime_role: str) -> None:
    _one_row()
    with _connect_as(runtime_role) as runtime:
        runtime.execute(
            "INSERT INTO media_sync_auditevent (timestamp, kind, provider, operation, subject, item,"
            " destination, outcome, attempt, triggered_by, method, path, request_summary,"
            " response_summary, provider_status, error_code, failure_class, message, reference)"
            " VALUES (now(), 'item', 'recoveryconnect', 'rc_transfer_photos', '', '', '', 'succeeded',"
            " 1, '', '', '', '', '', '', '', '', '', '')"
        )
        (count,) = runtime.execute("SELECT count(*) FROM media_sync_auditevent").fetchone() or (0,)
        # The rest of the app's tables it may change: a job's status, say.
        runtime.execute("UPDATE media_sync_transferjob SET status = status")
    assert count == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE media_sync_auditevent SET message = 'rewritten'",
        "DELETE FROM media_sync_auditevent",
        "TRUNCATE media_sync_auditevent",
        "ALTER TABLE media_sync_auditevent DISABLE TRIGGER ALL",
        "DROP TRIGGER media_sync_auditevent_append_only ON media_sync_auditevent",
        "CREATE TRIGGER sneaky BEFORE INSERT ON media_sync_auditevent FOR EACH ROW "
        "EXECUTE FUNCTION media_sync_auditevent_append_only()",
        "DROP TABLE media_sync_auditevent",
    ],
    ids=["update", "delete", "truncate", "disable-trigger", "drop-trigger", "create-trigger", "drop-table"],
)
def test_the_runtime_role_cannot_change_the_audit_or_its_trigger(runtime_role: str, statement: str) -> None:
    row = _one_row()
    # Refused by the grants (permission denied, or "must be owner"), not by the trigger.
    with _connect_as(runtime_role) as runtime, pytest.raises(errors.InsufficientPrivilege):
        runtime.execute(statement)
    # Still there, unchanged, and the trigger still guards it against the owner too.
    assert AuditEvent.objects.get(pk=row.pk).message == ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'media_sync_auditevent_append_only' "
            "AND tgrelid = 'media_sync_auditevent'::regclass"  # the table's own: not each partition's clone
        )
        assert cursor.fetchone() == (1,)


def test_a_job_runs_as_the_runtime_role(runtime_role: str, rc_sim: RecoveryConnectSimulator) -> None:
    """The app's own connection as the runtime role: claims, write-ahead rows, answers, results."""
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [1, 2])
    rc_sim.add_order(57076502, 9100002)
    job = rc_transfer_photos_start(
        photos=list(order.photos.all()), destinations=[9100002], triggered_by="ann", enqueue=False
    )
    owner = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = runtime_role
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (runtime_role,)
        job_run(job_id=job.pk)
    finally:
        connection.close()
        connection.settings_dict["USER"] = owner  # the owner empties the tables afterwards
    assert TransferJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    kinds = set(AuditEvent.objects.filter(job=job).values_list("kind", flat=True))
    assert kinds == {AuditKind.REQUEST, AuditKind.HTTP, AuditKind.ITEM}


def _this_months_partition() -> str:
    today = datetime.now(UTC).date()
    return partition_name(today.replace(day=1))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {partition} SET message = 'rewritten'",
        "DELETE FROM {partition}",
        "TRUNCATE {partition}",
        "INSERT INTO {partition} SELECT * FROM {partition}",
        "ALTER TABLE media_sync_auditevent DETACH PARTITION {partition}",
        "DROP TABLE {partition}",
        "ALTER TABLE {partition} DISABLE TRIGGER ALL",
        "CREATE TABLE media_sync_auditevent_y2100m01 PARTITION OF media_sync_auditevent "
        "FOR VALUES FROM ('2100-01-01') TO ('2100-02-01')",
        "SELECT media_sync_auditevent_partition_create('2100-01-01')",
    ],
    ids=[
        "update",
        "delete",
        "truncate",
        "insert",
        "detach",
        "drop",
        "disable-trigger",
        "create",
        "create-fn",
    ],
)
def test_the_runtime_role_cannot_touch_the_audits_partitions(runtime_role: str, statement: str) -> None:
    """Its partitions (PostgreSQL, audit_partitions.py) are reached through the audit alone: the role has
    no grant on them, may not detach, drop or add one, nor call the owner's function that makes one."""
    row = _one_row()
    with _connect_as(runtime_role) as runtime, pytest.raises(errors.InsufficientPrivilege):
        runtime.execute(statement.format(partition=_this_months_partition()))
    assert AuditEvent.objects.get(pk=row.pk).message == ""
    assert _this_months_partition() in [p.name for p in audit_partitions()]


def test_the_runtime_role_makes_the_partitions_ahead_through_the_owners_function(runtime_role: str) -> None:
    """Rows go into their month's partition through the audit; the partitions ahead, should one be missing,
    come from the SECURITY DEFINER function, owned by the owner."""
    last = audit_partitions()[-1]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {last.name}")
    with _connect_as(runtime_role) as runtime:
        (made,) = runtime.execute("SELECT media_sync_auditevent_partitions_ensure()").fetchone() or (0,)
        runtime.execute(
            "INSERT INTO media_sync_auditevent (timestamp, kind, provider, operation, subject, item,"
            " destination, outcome, attempt, triggered_by, method, path, request_summary,"
            " response_summary, provider_status, error_code, failure_class, message, reference)"
            " VALUES (%s, 'item', 'recoveryconnect', 'rc_transfer_photos', '', '', '', 'succeeded',"
            " 1, '', '', '', '', '', '', '', '', '', '')",
            [last.low + timedelta(days=2)],
        )
    assert made == 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), pg_get_userbyid(c.relowner) FROM {last.name}, pg_class c "  # noqa: S608
            "WHERE c.oid = %s::regclass GROUP BY 2",
            [last.name],
        )
        assert cursor.fetchone() == (1, connection.settings_dict["USER"])


def test_archiving_as_the_runtime_role_is_refused_before_anything_is_written(
    runtime_role: str, tmp_path: Path
) -> None:
    _one_row()
    owner = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = runtime_role
    try:
        with pytest.raises(ArchiveRefused, match="only the owner of media_sync_auditevent may"):
            audit_archive(before=datetime.now(UTC).date() + timedelta(days=1), output=tmp_path)
        with pytest.raises(CommandError, match="run archive_audit connected as the owner") as refused:
            run_command("archive_audit", "--before", "2100-01-01", "--output", str(tmp_path))
    finally:
        connection.close()
        connection.settings_dict["USER"] = owner
    assert refused.value.returncode == 2
    assert not list(tmp_path.iterdir()) and AuditEvent.objects.count() == 1
