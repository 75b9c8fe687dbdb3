"""The audit CSV: its columns, and rows streamed a chunk at a time whatever the table's size."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, Count, F, Func, QuerySet, Value, When
from django.db.models.functions import Concat, TruncDate
from django.utils import timezone

from media_sync.models import AuditEvent, AuditKind

# The contract in DESIGN.md; each name is also the model field it comes from.
COLUMNS = [
    "timestamp",
    "provider",
    "operation",
    "job_id",
    "subject",
    "item",
    "destination",
    "outcome",
    "provider_status",
    "http_status",
    "error_code",
    "message",
    "reference",
    "attempt",
    "duration_ms",
    "triggered_by",
]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER_COLUMNS = {"job_id", "http_status", "attempt", "duration_ms"}
# What Python's isoformat(timespec="microseconds") writes for a UTC time, in PostgreSQL's words.
ISO_UTC = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
CHUNK_SIZE = 2000


def neutralise(value: Any) -> Any:
    """OWASP CSV injection: a text cell a spreadsheet would run as a formula gets a leading quote.
    Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _writer() -> Any:
    # "\n" ends a line, as PostgreSQL's COPY does: both ways of writing give the same file.
    return csv.writer(_Echo(), lineterminator="\n")


def audit_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Header, then one line per audit row. On PostgreSQL (with UTC times) the database writes the CSV
    itself through COPY, formatting and neutralising in SQL; elsewhere rows are read in chunks."""
    if bom:
        yield "\ufeff"
    yield _writer().writerow(COLUMNS)
    ordered = events.order_by("timestamp", "id")
    if connection.vendor == "postgresql" and settings.TIME_ZONE == "UTC":
        yield from _copy_lines(ordered)
        return
    writer = _writer()
    for row in ordered.values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        stamp = timezone.localtime(row[0]).isoformat(timespec="microseconds")
        yield writer.writerow([stamp, *(neutralise(value) for value in row[1:])])


def _copy_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The same columns, cells and order, produced by PostgreSQL's COPY and streamed in its chunks."""
    formula = "^[=+@\t\r-]"
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        if name == "timestamp":
            columns[f"csv_{name}"] = Func(F(name), template=ISO_UTC, output_field=CharField())
        elif name in NUMBER_COLUMNS:
            columns[f"csv_{name}"] = F(name)
        else:
            neutralised = Case(
                When(**{f"{name}__regex": formula}, then=Concat(Value("'"), F(name))),
                default=F(name),
                output_field=CharField(),
            )
            # COPY quotes an empty string ("") to tell it from NULL; Python's csv writes both as nothing.
            columns[f"csv_{name}"] = Func(neutralised, Value(""), function="NULLIF", output_field=CharField())
    sql, params = events.annotate(**columns).values_list(*columns).query.sql_with_params()
    decoder = codecs.getincrementaldecoder("utf-8")()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        for chunk in copy:
            text = decoder.decode(bytes(chunk))
            if text:
                yield text


SUMMARY_COLUMNS = ["day", "provider", "operation", "outcome", "count"]


def summary_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Item results counted per day x provider x operation x outcome (the database does the counting)."""
    writer = _writer()
    if bom:
        yield "\ufeff"
    yield writer.writerow(SUMMARY_COLUMNS)
    rows = (
        events.filter(kind=AuditKind.ITEM)
        .annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "provider", "operation", "outcome")
        .annotate(count=Count("id"))
        .order_by("day", "provider", "operation", "outcome")
    )
    for day, provider, operation, outcome, count in rows.iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow([day.isoformat(), provider, neutralise(operation), outcome, count])
