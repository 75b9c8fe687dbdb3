"""The audit CSV: its columns, and rows streamed a chunk at a time whatever the table's size."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, Count, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Concat, TruncDate
from django.db.models.lookups import In
from django.utils import timezone

from media_sync.models import AuditEvent, AuditKind
from media_sync.selectors import item_endings

# The contract in README.md ("What a team lead sees"); each name is also the model field it comes from.
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
FORMULA_CODES = [ord(prefix) for prefix in FORMULA_PREFIXES]
NUMBER_COLUMNS = {"job_id", "http_status", "attempt", "duration_ms"}
# Columns holding only our own fixed words (choices), which never start like a formula.
OUR_WORDS = {"provider", "outcome"}
# What Python's isoformat(timespec="microseconds") writes for a UTC time, in PostgreSQL's words.
ISO_UTC = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
CHUNK_SIZE = 2000
PIECE_CHARS = 64 * 1024


def neutralise(value: Any) -> Any:
    """OWASP CSV injection: a text cell a spreadsheet would run as a formula gets a leading quote.
    Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        # Each line ends with "\n", as PostgreSQL's COPY writes it: both ways give the same file.
        return value.removesuffix("\r\n") + "\n"


def _writer() -> Any:
    # Told "\r\n" so that it quotes a cell holding a bare CR, as COPY does: unquoted, a spreadsheet
    # reads that CR as the end of the row, and the rest of the cell as a new row nothing neutralised.
    return csv.writer(_Echo(), lineterminator="\r\n")


def audit_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Header, then one line per audit row. On PostgreSQL (with UTC times) the database writes the CSV
    itself through COPY, formatting and neutralising in SQL; elsewhere rows are read in chunks."""
    header = ("\ufeff" if bom else "") + _writer().writerow(COLUMNS)
    ordered = events.order_by("timestamp", "id")
    if connection.vendor == "postgresql" and settings.TIME_ZONE == "UTC":
        yield from _pieces(header, _copy_lines(ordered))
    else:
        yield from _pieces(header, _python_lines(ordered))


def _pieces(header: str, lines: Iterator[str]) -> Iterator[str]:
    """Lines joined into pieces of about PIECE_CHARS: a million rows are a few thousand writes to the
    response, not a million."""
    batch, size = [header], len(header)
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= PIECE_CHARS:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def _python_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = _writer()
    for row in events.values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        stamp = timezone.localtime(row[0]).isoformat(timespec="microseconds")
        yield writer.writerow([stamp, *(neutralise(value) for value in row[1:])])


def _copy_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The same columns, cells and order, produced by PostgreSQL's COPY and streamed in its chunks."""
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        if name == "timestamp":
            columns[f"csv_{name}"] = Func(F(name), template=ISO_UTC, output_field=CharField())
        elif name in NUMBER_COLUMNS or name in OUR_WORDS:
            columns[f"csv_{name}"] = F(name)
        else:
            # The first character's code against the formula starters: far cheaper than a regex.
            first = Func(F(name), function="ASCII", output_field=IntegerField())
            neutralised = Case(
                When(In(first, FORMULA_CODES), then=Concat(Value("'"), F(name))),
                default=F(name),
                output_field=CharField(),
            )
            # COPY quotes an empty string ("") to tell it from NULL; Python's csv writes both as nothing.
            columns[f"csv_{name}"] = Func(neutralised, Value(""), function="NULLIF", output_field=CharField())
    sql, params = events.annotate(**columns).values_list(*columns).query.sql_with_params()
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer = bytearray()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        # COPY hands over one row at a time: decode them a piece at a time, not a million times.
        for chunk in copy:
            buffer += chunk
            if len(buffer) >= PIECE_CHARS:
                yield decoder.decode(bytes(buffer))
                buffer.clear()
    text = decoder.decode(bytes(buffer), final=True)
    if text:
        yield text


SUMMARY_COLUMNS = ["day", "provider", "operation", "outcome", "count"]


def summary_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Items counted per day x provider x operation x outcome, each by its last result as the dashboard
    counts them (`item_endings`: a retried item once, on the day it ended); `pending`, an item still
    waiting on the provider. The database does the counting."""
    writer = _writer()
    if bom:
        yield "\ufeff"
    yield writer.writerow(SUMMARY_COLUMNS)
    rows = (
        item_endings(events.filter(kind=AuditKind.ITEM))
        .annotate(day=TruncDate("timestamp", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "provider", "operation", "outcome")
        .annotate(count=Count("id"))
        .order_by("day", "provider", "operation", "outcome")
    )
    for day, provider, operation, outcome, count in rows.iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow([day.isoformat(), provider, neutralise(operation), outcome, count])
