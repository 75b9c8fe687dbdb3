"""PostgreSQL: the audit table partitioned by RANGE (timestamp), one partition per calendar month (UTC), plus
a DEFAULT partition so that no insert ever fails (migration 0034_audit_partitions). SQLite keeps one table.

The primary key is (id, timestamp) in the database (a partitioned table's unique keys must hold its
partition key); Django's model keeps `id` as its pk. Ids come from a sequence the column owns (PostgreSQL 15
has no identity columns on partitioned tables), so they stay unique as before; only a row inserted by hand
with an id already used is no longer refused by the database, and `verify_audit` names it.

Partitions are made ahead of time by `media_sync_auditevent_partitions_ensure()`: SECURITY DEFINER, owned by
the owner, EXECUTE granted to the runtime role only (which may not create tables itself). It makes this
month's and the next three if missing, and is called by the migration, after every migrate and by the
every-minute sealing schedule (four catalogue look-ups when nothing is missing). A month whose rows already
sit in the DEFAULT partition (a clock far off) gets no partition: its rows stay there, and the archive
removes them with the guarded delete (services/audit_archive.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections

from media_sync.db import AUDIT_TABLE, AUDIT_TRIGGERS

DEFAULT_PARTITION = f"{AUDIT_TABLE}_default"
SEQUENCE = f"{AUDIT_TABLE}_id_seq"
CREATE_FUNCTION = f"{AUDIT_TABLE}_partition_create"
ENSURE_FUNCTION = f"{AUDIT_TABLE}_partitions_ensure"
INDEXES_FUNCTION = f"{AUDIT_TABLE}_partition_indexes_name"
MONTHS_AHEAD = 3
_MONTHLY = re.compile(rf"^{AUDIT_TABLE}_y(\d{{4}})m(\d{{2}})$")


def partition_name(month: date) -> str:
    return f"{AUDIT_TABLE}_y{month.year:04d}m{month.month:02d}"


def month_next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _functions_sql(schema: str) -> list[str]:
    """The two functions, every name schema-qualified and the search path fixed: the definer's rights must
    not be reachable through a table or function someone else put earlier in the path."""
    parent, default = f"{schema}.{AUDIT_TABLE}", f"{schema}.{DEFAULT_PARTITION}"
    return [
        # Owner-only: each partition's copy of an index named after it (media_sync_auditevent_y2026m12_
        # audit_recent), not PostgreSQL's made-up name, so a query plan names the index it uses.
        f"""CREATE OR REPLACE FUNCTION {schema}.{INDEXES_FUNCTION}() RETURNS void
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            r record;
        BEGIN
            FOR r IN
                SELECT child.relname AS child, left(part.relname || '_' || base.relname, 63) AS wanted
                FROM pg_index parent_index
                JOIN pg_class base ON base.oid = parent_index.indexrelid
                JOIN pg_inherits link ON link.inhparent = base.oid
                JOIN pg_class child ON child.oid = link.inhrelid
                JOIN pg_index child_index ON child_index.indexrelid = child.oid
                JOIN pg_class part ON part.oid = child_index.indrelid
                WHERE parent_index.indrelid = '{parent}'::regclass
            LOOP
                IF r.child <> r.wanted THEN
                    EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', '{schema}', r.child, r.wanted);
                END IF;
            END LOOP;
        END;
        $$""",  # noqa: S608
        f"REVOKE ALL ON FUNCTION {schema}.{INDEXES_FUNCTION}() FROM PUBLIC",
        # Owner-only (EXECUTE revoked from PUBLIC): one month's partition, unless it exists or the DEFAULT
        # partition holds rows of that month (creating it would fail: those rows would belong to it).
        f"""CREATE OR REPLACE FUNCTION {schema}.{CREATE_FUNCTION}(month date) RETURNS boolean
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET lock_timeout = '2s' AS $$
        DECLARE
            low timestamptz := date_trunc('month', month::timestamp) AT TIME ZONE 'UTC';
            high timestamptz := low + interval '1 month';
            name text := '{AUDIT_TABLE}_' || to_char(month, '"y"YYYY"m"MM');
        BEGIN
            IF to_regclass(format('%I.%I', '{schema}', name)) IS NOT NULL THEN
                RETURN false;
            END IF;
            IF EXISTS (SELECT 1 FROM {default} WHERE "timestamp" >= low AND "timestamp" < high) THEN
                RETURN false;
            END IF;
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF {parent} FOR VALUES FROM (%L) TO (%L)',
                '{schema}', name, low, high);
            PERFORM {schema}.{INDEXES_FUNCTION}();
            RETURN true;
        EXCEPTION
            -- Another caller made it at the same moment, or a long reader holds the table: next minute.
            WHEN duplicate_table OR lock_not_available THEN
                RETURN false;
        END;
        $$""",  # noqa: S608
        f"REVOKE ALL ON FUNCTION {schema}.{CREATE_FUNCTION}(date) FROM PUBLIC",
        f"""CREATE OR REPLACE FUNCTION {schema}.{ENSURE_FUNCTION}() RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            made integer := 0;
        BEGIN
            FOR step IN 0..{MONTHS_AHEAD} LOOP
                IF {schema}.{CREATE_FUNCTION}(
                    (date_trunc('month', now() AT TIME ZONE 'UTC') + step * interval '1 month')::date
                ) THEN
                    made := made + 1;
                END IF;
            END LOOP;
            RETURN made;
        END;
        $$""",
        f"REVOKE ALL ON FUNCTION {schema}.{ENSURE_FUNCTION}() FROM PUBLIC",
    ]


def _grants_of(cursor: Any, relation: str) -> list[tuple[str, str]]:
    """(grantee, privilege) on a table or sequence for every role but its owner (they are the runtime
    role's, given by db_grant_runtime_role): the new table gets the same."""
    cursor.execute(
        "SELECT pg_get_userbyid(a.grantee), a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = %s::regclass AND a.grantee <> c.relowner AND a.grantee <> 0",
        [relation],
    )
    return list(cursor.fetchall())


def _rebuild(schema_editor: Any, *, partitioned: bool) -> None:
    """The audit table made anew (partitioned or plain), every row copied with its values exactly, every
    index, constraint, trigger and grant of the old one on it, and ids going on from where they were."""
    execute = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        execute(f"LOCK TABLE {AUDIT_TABLE} IN ACCESS EXCLUSIVE MODE")
        # Every index but the primary key's (ON ONLY: a partitioned table's own index; made anew it is
        # made on every partition too), whoever's migration added it.
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
            "AND NOT i.indisprimary ORDER BY i.indexrelid",
            [AUDIT_TABLE],
        )
        indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('f', 'u', 'x') ORDER BY oid",
            [AUDIT_TABLE],
        )
        constraints = cursor.fetchall()
        grants = _grants_of(cursor, AUDIT_TABLE)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [AUDIT_TABLE])
        old_sequence = cursor.fetchone()[0]
        sequence_grants = _grants_of(cursor, old_sequence)
        # Never an id handed out before: not one rolled back, nor one archived and removed.
        cursor.execute(
            "SELECT GREATEST((SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "  # noqa: S608
            f"FROM {old_sequence}), (SELECT MAX(id) FROM {AUDIT_TABLE}), "
            "(SELECT MAX(last_id) FROM media_sync_auditarchive), 0)"
        )
        next_after = cursor.fetchone()[0]
        cursor.execute(f"SELECT date_trunc('month', MIN(timestamp) AT TIME ZONE 'UTC') FROM {AUDIT_TABLE}")  # noqa: S608
        first_month = cursor.fetchone()[0]
    old = f"{AUDIT_TABLE}_old"
    execute(f"ALTER TABLE {AUDIT_TABLE} RENAME TO {old}")
    tail = ' PARTITION BY RANGE ("timestamp")' if partitioned else ""
    # LIKE copies the columns, NOT NULL and CHECK constraints; not the identity, the indexes or the keys.
    execute(
        f"CREATE TABLE {AUDIT_TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING STORAGE INCLUDING COMMENTS INCLUDING STATISTICS){tail}"
    )
    # The id's default is the old sequence's, which goes with the old table (forwards it had none).
    execute(f"ALTER TABLE {AUDIT_TABLE} ALTER COLUMN id DROP DEFAULT")
    if partitioned:
        execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {AUDIT_TABLE} DEFAULT")
        for sql in _functions_sql(schema):
            execute(sql, params=None)
        today = datetime.now(UTC).date()
        month = first_month.date() if first_month else today
        while month <= today:  # months with rows; the function adds this month and the next ones
            execute(f"SELECT {CREATE_FUNCTION}(%s)", [month])
            month = month_next(month)
        execute(f"SELECT {ENSURE_FUNCTION}()")
    execute(f"INSERT INTO {AUDIT_TABLE} SELECT * FROM {old}")  # noqa: S608  (in the server: streams)
    execute(f"DROP TABLE {old}")  # its identity sequence goes with it
    if partitioned:
        execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY {AUDIT_TABLE}.id")
        execute(f"SELECT setval('{SEQUENCE}', %s, %s)", [max(next_after, 1), next_after > 0])
        execute(f"ALTER TABLE {AUDIT_TABLE} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}'::regclass)")
        execute(f'ALTER TABLE {AUDIT_TABLE} ADD PRIMARY KEY (id, "timestamp")')
        new_sequence = SEQUENCE
    else:
        execute(
            f"ALTER TABLE {AUDIT_TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
            f"(START WITH {int(next_after) + 1})"
        )
        execute(f"ALTER TABLE {AUDIT_TABLE} ADD PRIMARY KEY (id)")
        execute(f"DROP FUNCTION IF EXISTS {ENSURE_FUNCTION}()")
        execute(f"DROP FUNCTION IF EXISTS {CREATE_FUNCTION}(date)")
        execute(f"DROP FUNCTION IF EXISTS {INDEXES_FUNCTION}()")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [AUDIT_TABLE])
            new_sequence = cursor.fetchone()[0]
    for sql in indexes:
        execute(sql)
    if partitioned:
        execute(f"SELECT {INDEXES_FUNCTION}()")
    for name, definition in constraints:
        execute(f"ALTER TABLE {AUDIT_TABLE} ADD CONSTRAINT {schema_editor.quote_name(name)} {definition}")
    for sql in AUDIT_TRIGGERS["postgresql"]:
        execute(sql, params=None)  # a row trigger on the parent applies to every partition
    quote = schema_editor.quote_name
    for grantee, privilege in grants:
        execute(f"GRANT {privilege} ON {AUDIT_TABLE} TO {quote(grantee)}")
    for grantee, privilege in sequence_grants:
        execute(f"GRANT {privilege} ON SEQUENCE {new_sequence} TO {quote(grantee)}")
    if partitioned:
        for grantee in {grantee for grantee, privilege in grants if privilege == "INSERT"}:
            execute(f"GRANT EXECUTE ON FUNCTION {ENSURE_FUNCTION}() TO {quote(grantee)}")
    execute(f"ANALYZE {AUDIT_TABLE}")


def audit_table_partition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _rebuild(schema_editor, partitioned=True)


def audit_table_unpartition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _rebuild(schema_editor, partitioned=False)


def audit_is_partitioned(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [AUDIT_TABLE])
        return cursor.fetchone() is not None


def audit_partitions_ensure(using: str = "default") -> int:
    """This month's partition and the next ones, where missing (any role the function is granted to);
    how many were made. Nothing on SQLite, or before the migration."""
    connection = connections[using]
    if not audit_is_partitioned(using):
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ENSURE_FUNCTION}()")
        return int(cursor.fetchone()[0])


def audit_partitions_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    audit_partitions_ensure(using)


def audit_partition_create(month: date, using: str = "default") -> bool:
    """The owner: the partition of one (past) month, where missing; whether it was made."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {CREATE_FUNCTION}(%s)", [month])
        return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class Partition:
    name: str
    low: datetime
    high: datetime


def audit_partitions(using: str = "default") -> list[Partition]:
    """The monthly partitions, oldest first (the DEFAULT one is not among them)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [AUDIT_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    partitions = []
    for name in names:
        if match := _MONTHLY.match(name):
            month = date(int(match[1]), int(match[2]), 1)
            low = datetime(month.year, month.month, 1, tzinfo=UTC)
            high_month = month_next(month)
            partitions.append(
                Partition(name, low, datetime(high_month.year, high_month.month, 1, tzinfo=UTC))
            )
    return sorted(partitions, key=lambda partition: partition.low)


class PartitionsChanged(Exception):
    """A partition about to be removed gained a row the archive does not hold: nothing was removed."""


def audit_archive_refusal(using: str = "default") -> str | None:
    """Why this connection may not remove archived rows (PostgreSQL), before anything is written: detaching
    and dropping partitions needs the table's owner, the guarded delete DELETE on it."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, relowner, 'USAGE'), has_table_privilege(oid, 'DELETE') "
            "FROM pg_class WHERE oid = to_regclass(%s)",
            [AUDIT_TABLE],
        )
        owner, may_delete = cursor.fetchone()
    if owner or (may_delete and not audit_is_partitioned(using)):
        return None
    return (
        f"archiving removes audit rows, which only the owner of {AUDIT_TABLE} may (it detaches its monthly "
        f"partitions): run archive_audit connected as the owner (README, Database roles); nothing was written"
    )


def _outsider(cursor: Any, table: str, *, after: int, last: int) -> tuple[int, datetime] | None:
    """A row of `table` the archive of ids after < id <= last does not hold (one, the lowest id)."""
    cursor.execute(
        f'SELECT id, "timestamp" FROM {table} WHERE id <= %s OR id > %s ORDER BY id LIMIT 1',  # noqa: S608
        [after, last],
    )
    row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def archive_cut(
    *, after: int, start: datetime, last_before: Callable[[datetime], int]
) -> tuple[datetime, list[str]]:
    """Where an archive of rows older than `start` ends on PostgreSQL: every partition wholly before it must
    hold only rows the archive takes (`last_before(start)`: the last id it takes), to be removed whole. A
    row of an earlier month written after a later month's first row (seconds around a month's turn) is not
    among them: the archive then ends at that partition's start, and says why."""
    notes: list[str] = []
    if not audit_is_partitioned():
        return start, notes
    with connections["default"].cursor() as cursor:
        while True:
            last = last_before(start)
            blocked = None
            for partition in audit_partitions():
                if partition.high > start:
                    break
                if (row := _outsider(cursor, partition.name, after=after, last=last)) is not None:
                    blocked = partition, row
                    break
            if blocked is None:
                return start, notes
            partition, (row_id, moment) = blocked
            notes.append(
                f"ended at {partition.low:%Y-%m-%d} (UTC): row {row_id} of {moment.astimezone(UTC):%Y-%m} "
                f"was written after rows of a later month, so {partition.name} waits for the next archive"
            )
            start = partition.low


def audit_rows_remove(*, after: int, last: int, start: datetime) -> list[str]:
    """Inside the archive's transaction (db.audit_archiving), its AuditArchive row written: what else the
    archive holds (part of a month, rows in the DEFAULT partition; all of it on SQLite) by the guarded
    DELETE, then on PostgreSQL the partitions wholly before `start` detached and dropped (the archive's
    files are their copy). In that order: detaching locks the whole audit until the commit, so no insert
    waits for a DELETE."""
    lines: list[str] = []
    whole = [p for p in audit_partitions() if p.high <= start] if audit_is_partitioned() else []
    with connections["default"].cursor() as cursor:
        # One statement a table, whatever the size: no rows are read into Python to remove them.
        sql = f"DELETE FROM {AUDIT_TABLE} WHERE id > %s AND id <= %s"  # noqa: S608
        if whole:
            cursor.execute(f'{sql} AND "timestamp" >= %s', [after, last, whole[-1].high])
            deleted = cursor.rowcount
            cursor.execute(sql.replace(AUDIT_TABLE, DEFAULT_PARTITION), [after, last])
            deleted += cursor.rowcount
        else:
            cursor.execute(sql, [after, last])
            deleted = cursor.rowcount
        if deleted:
            lines.append(f"removed {deleted} rows by the guarded delete")
        if whole:
            # A long reader (an export) must not hold every insert up behind our lock: give up instead.
            cursor.execute("SET LOCAL lock_timeout = '10s'")
            # A table with deferred checks still to run (its job FK) cannot be dropped: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for partition in whole:
            cursor.execute(f"ALTER TABLE {AUDIT_TABLE} DETACH PARTITION {partition.name}")
            # Detached, it is locked: a row written since archive_cut looked would be lost with it.
            if (row := _outsider(cursor, partition.name, after=after, last=last)) is not None:
                raise PartitionsChanged(f"row {row[0]}: written into {partition.name} while archiving")
            cursor.execute(f"DROP TABLE {partition.name}")
            lines.append(f"removed partition {partition.name}")
    return lines
