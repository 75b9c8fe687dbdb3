"""PostgreSQL: the audit partitioned by month (media_sync/audit_partitions.py, migration 0034); archiving
removes whole partitions, and a month's straggler ends an archive sooner. The owner: these tests make
partitions for past months, which only the owner may."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from media_sync.audit_partitions import (
    DEFAULT_PARTITION,
    audit_is_partitioned,
    audit_partition_create,
    audit_partitions,
    audit_partitions_ensure,
    partition_name,
)
from media_sync.models import AuditArchive, AuditEvent
from media_sync.services.audit_archive import archive_verify, audit_archive
from media_sync.services.seals import audit_seal, audit_verify, column_names
from tests.media_sync.factories import run_command
from tests.media_sync.tampering import old_row
from tests.media_sync.tampering import signing_key_set as _signing  # noqa: F401  (the `signing` fixture)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.db_owner,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions: PostgreSQL only"),
]


def month(offset: int) -> date:
    """The first day of the month `offset` months from this one (UTC)."""
    today = datetime.now(UTC).date()
    index = today.year * 12 + today.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def at(first: date, days: int = 1, seconds: int = 0, microseconds: int = 0) -> datetime:
    moment = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return moment + timedelta(days=days, seconds=seconds, microseconds=microseconds)


def home(row: AuditEvent) -> str:
    """The partition a row is stored in."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM media_sync_auditevent WHERE id = %s", [row.pk])
        return str(cursor.fetchone()[0])


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return bool(cursor.fetchone()[0])


def test_the_audit_is_partitioned_by_month_with_a_default() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'media_sync_auditevent'::regclass"
        )
        assert cursor.fetchone() == ("r",)
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'media_sync_auditevent'::regclass AND contype = 'p'"
        )
        assert cursor.fetchone() == ('PRIMARY KEY (id, "timestamp")',)
    names = [p.name for p in audit_partitions()]
    assert [partition_name(month(n)) for n in range(4)] == names[-4:]  # this month and the next three
    assert table_exists(DEFAULT_PARTITION)
    assert audit_partitions_ensure() == 0  # nothing missing: nothing made


def test_rows_land_in_their_months_partition(tmp_path: Path) -> None:
    assert audit_partition_create(month(-2))
    rows = {
        partition_name(month(-2)): old_row(timestamp=at(month(-2))),
        partition_name(month(1)): old_row(timestamp=at(month(1), days=3)),
        partition_name(month(0)): old_row(timestamp=at(month(0), days=0)),
        DEFAULT_PARTITION: old_row(timestamp=at(month(-30))),  # no partition for that month
    }
    assert {name: home(row) for name, row in rows.items()} == {name: name for name in rows}
    # A month whose rows sit in the DEFAULT partition gets no partition: creating it would fail.
    assert not audit_partition_create(month(-30))
    assert audit_partition_create(month(-29))


@pytest.fixture
def months() -> dict[str, list[AuditEvent]]:
    """Rows of four months ago (no partition: the DEFAULT), three, two and one month ago (partitions)."""
    for offset in (-3, -2, -1):
        assert audit_partition_create(month(offset))
    rows = {
        "default": [old_row(timestamp=at(month(-4)), item="d0")],
        "a": [old_row(timestamp=at(month(-3), seconds=n), message=f"=a{n}") for n in range(3)],
        "b": [old_row(timestamp=at(month(-2), seconds=n), item=f"b{n}") for n in range(3)],
        "c": [old_row(timestamp=at(month(-1), seconds=n), item=f"c{n}") for n in range(2)],
    }
    return rows


def test_an_archive_before_a_month_removes_the_earlier_partitions(
    tmp_path: Path, signing: Any, months: dict[str, list[AuditEvent]]
) -> None:
    code, out = run_command("archive_audit", "--before", month(-1).isoformat(), "--output", str(tmp_path))
    assert code == 0, out
    last = months["b"][-1].pk
    assert f"archived rows 1-{last} (7 rows)" in out
    assert f"removed partition {partition_name(month(-3))}" in out
    assert f"removed partition {partition_name(month(-2))}" in out
    assert "removed 1 rows by the guarded delete" in out  # the DEFAULT partition's row
    assert not table_exists(partition_name(month(-3))) and not table_exists(partition_name(month(-2)))
    assert partition_name(month(-1)) in [p.name for p in audit_partitions()]
    assert sorted(AuditEvent.objects.values_list("pk", flat=True)) == [r.pk for r in months["c"]]
    assert AuditArchive.objects.get().last_id == last
    assert run_command("verify_audit")[0] == 0
    code, out = run_command("verify_audit", "--archive", str(next(tmp_path.glob("audit-*"))))
    assert code == 0, out


def test_a_straggler_of_an_earlier_month_ends_the_archive_at_its_month(
    tmp_path: Path, signing: Any, months: dict[str, list[AuditEvent]]
) -> None:
    """A row of month b written after month c's first row: archiving before c would leave it in b's
    partition, so the archive ends at b and b waits; the next archive takes b and c whole."""
    straggler = old_row(timestamp=at(month(-2), days=20), item="late")
    audit_seal()
    report = audit_archive(before=month(-1), output=tmp_path / "first")
    assert report.last_id == months["a"][-1].pk
    assert report.lines()[1] == (
        f"ended at {month(-2).isoformat()} (UTC): row {straggler.pk} of {month(-2):%Y-%m} was written after "
        f"rows of a later month, so {partition_name(month(-2))} waits for the next archive"
    )
    assert AuditArchive.objects.get().before == month(-2)
    assert not table_exists(partition_name(month(-3)))
    assert home(straggler) == partition_name(month(-2))
    assert AuditEvent.objects.filter(pk__in=[r.pk for r in months["b"]]).count() == 3
    assert audit_verify().ok
    assert archive_verify(next((tmp_path / "first").glob("audit-*"))) == []

    report = audit_archive(before=month(0), output=tmp_path / "second")
    assert report.last_id == straggler.pk and report.rows == 6
    assert not table_exists(partition_name(month(-2))) and not table_exists(partition_name(month(-1)))
    assert not AuditEvent.objects.exists()
    result = audit_verify()
    assert result.ok, result.problems
    assert archive_verify(next((tmp_path / "second").glob("audit-*"))) == []


def test_ids_go_on_after_the_highest_ever_given() -> None:
    first = old_row()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('media_sync_auditevent', 'id')")
        assert cursor.fetchone() == ("public.media_sync_auditevent_id_seq",)
    assert old_row().pk == first.pk + 1


def _migrate(targets: list[tuple[str, str]]) -> None:
    MigrationExecutor(connection).migrate(targets)


def _values() -> list[tuple[Any, ...]]:
    return list(AuditEvent.objects.order_by("id").values_list(*column_names()))


def _indexes() -> dict[str, str]:
    """The audit table's own indexes, by name: what each covers."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'media_sync_auditevent'::regclass"
        )
        return {name: definition.split(" USING ", 1)[1] for name, definition in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_value_so_earlier_seals_verify_and_it_goes_back() -> None:
    loader = MigrationExecutor(connection).loader
    (ours,) = [
        key for key in loader.graph.nodes if key[0] == "media_sync" and key[1].endswith("_audit_partitions")
    ]
    before = [key for key in loader.graph.node_map[ours].parents if key[0] == "media_sync"]
    leaves = loader.graph.leaf_nodes()
    try:
        _check_the_migration(before, ours)
    finally:
        _migrate(leaves)
    assert audit_is_partitioned() and audit_verify().ok


def _check_the_migration(before: list[tuple[str, str]], ours: tuple[str, str]) -> None:
    """From just before the partitions migration to just after it (later migrations may add indexes of
    their own) and back."""
    _migrate(before)
    assert not audit_is_partitioned()
    rows = [
        old_row(timestamp=at(month(-2), seconds=1, microseconds=7), message="=x", reference="r"),
        old_row(timestamp=at(month(-1)), http_status=None, duration_ms=5, request_summary="é\n\"'"),
        old_row(),
    ]
    assert audit_seal() == 3
    values, indexes = _values(), _indexes()
    _migrate([ours])
    assert audit_is_partitioned()
    assert [home(row) for row in rows] == [partition_name(month(n)) for n in (-2, -1, 0)]
    assert _values() == values
    assert _indexes() == {**indexes, "media_sync_auditevent_pkey": 'btree (id, "timestamp")'}
    result = audit_verify()
    assert result.ok and result.rows == 3, result.problems
    assert old_row().pk == rows[-1].pk + 1  # the ids go on

    _migrate(before)
    assert not audit_is_partitioned() and _values()[:3] == values and _indexes() == indexes
    assert audit_verify().ok
    assert old_row().pk == rows[-1].pk + 2
