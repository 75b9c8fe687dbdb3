"""The audit CSV: its columns, and rows streamed a chunk at a time whatever the table's size."""

from __future__ import annotations

import codecs
import csv
import hashlib
import select
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, Count, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Concat, TruncDate
from django.db.models.lookups import In
from django.utils import timezone
from psycopg import errors as psycopg_errors
from psycopg import pq

from media_sync.models import AuditEvent, AuditKind, TriageEvent
from media_sync.selectors_dashboard import item_endings

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


@dataclass
class ExportTally:
    """Counted while the CSV streams: rows and ids (in the file's order), bytes and their SHA-256."""

    rows: int = 0
    first_id: int | None = None
    last_id: int | None = None
    min_id: int | None = None
    max_id: int | None = None
    size: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)

    def see(self, row_id: int) -> None:
        self.rows += 1
        if self.first_id is None:
            self.first_id = self.min_id = self.max_id = row_id
        self.last_id = row_id
        self.min_id = min(self.min_id or row_id, row_id)
        self.max_id = max(self.max_id or row_id, row_id)

    def hashed(self, pieces: Iterator[str]) -> Iterator[str]:
        for piece in pieces:
            data = piece.encode()
            self.hasher.update(data)
            self.size += len(data)
            yield piece


class _Echo:
    def write(self, value: str) -> str:
        # Each line ends with "\n", as PostgreSQL's COPY writes it: both ways give the same file.
        return value.removesuffix("\r\n") + "\n"


def csv_writer() -> Any:
    # Told "\r\n" so that it quotes a cell holding a bare CR, as COPY does: unquoted, a spreadsheet
    # reads that CR as the end of the row, and the rest of the cell as a new row nothing neutralised.
    return csv.writer(_Echo(), lineterminator="\r\n")


def audit_csv_lines(
    events: QuerySet[AuditEvent], *, bom: bool = False, tally: ExportTally | None = None
) -> Iterator[str]:
    """Header, then one line per audit row. On PostgreSQL (with UTC times) the database writes the CSV
    itself through COPY, formatting and neutralising in SQL; elsewhere rows are read in chunks. A `tally`
    (for a manifest) counts the rows and ids and hashes the bytes as they go, in the same pass."""
    header = ("\ufeff" if bom else "") + csv_writer().writerow(COLUMNS)
    ordered = events.order_by("timestamp", "id")
    if connection.vendor == "postgresql" and settings.TIME_ZONE == "UTC":
        pieces = _pieces(header, _copy_lines(ordered, tally))
    else:
        pieces = _pieces(header, _python_lines(ordered, tally))
    yield from (pieces if tally is None else tally.hashed(pieces))


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


def _python_lines(events: QuerySet[AuditEvent], tally: ExportTally | None) -> Iterator[str]:
    writer = csv_writer()
    for row_id, *row in events.values_list("id", *COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        if tally is not None:
            tally.see(row_id)
        stamp = timezone.localtime(row[0]).isoformat(timespec="microseconds")
        yield writer.writerow([stamp, *(neutralise(value) for value in row[1:])])


def _copy_lines(events: QuerySet[AuditEvent], tally: ExportTally | None) -> Iterator[str]:
    """The same columns, cells and order, produced by PostgreSQL's COPY and streamed in its chunks. With a
    tally, the row's id comes first (a bare number: never quoted) and is cut off each row."""
    columns: dict[str, Any] = {"csv_id": F("id")} if tally is not None else {}
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
        for chunk in _copy_rows(copy):
            if tally is not None:
                comma = bytes(chunk[:24]).index(b",")
                tally.see(int(bytes(chunk[:comma])))
                chunk = chunk[comma + 1 :]
            buffer += chunk
            if len(buffer) >= PIECE_CHARS:
                yield decoder.decode(bytes(buffer))
                buffer.clear()
    text = decoder.decode(bytes(buffer), final=True)
    if text:
        yield text


def _copy_rows(copy: Any) -> Iterator[memoryview]:
    """The rows of a COPY TO, read from libpq in one loop. psycopg's own iteration runs a generator and
    a wait for every row, about 3 µs each: at ten million rows, half a minute more than COPY itself
    (bench/audit_scale.py). Here a row that has arrived is taken at once; the loop waits on the socket
    only when none has (select, so other threads run meanwhile), then reads the COPY's end as psycopg
    would and marks it read."""
    pgconn = copy.connection.pgconn
    while True:
        nbytes, data = pgconn.get_copy_data(1)
        if nbytes > 0:
            yield data
        elif nbytes == 0:  # nothing yet
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        else:  # -1: the rows are all here
            break
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        if (result := pgconn.get_result()) is None:
            break
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise psycopg_errors.error_from_result(result, encoding=copy.connection.info.encoding)
    copy._finished = True  # what psycopg's own last read would set


SUMMARY_COLUMNS = ["day", "provider", "operation", "outcome", "count"]


def summary_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Items counted per day x provider x operation x outcome, each by its last result as the dashboard
    counts them (`item_endings`: a retried item once, on the day it ended); `pending`, an item still
    waiting on the provider. The database does the counting."""
    writer = csv_writer()
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


# The triage events CSV (admin/triage.py): each event with its group's cause and its item, if any.
TRIAGE_COLUMNS = {
    "timestamp": "timestamp",
    "group_id": "group_id",
    "provider": "group__provider",
    "operation": "group__operation",
    "failure_class": "group__failure_class",
    "pattern": "group__pattern",
    "job_id": "item__job_id",
    "item": "item__item",
    "destination": "item__destination",
    "action": "action",
    "status": "status",
    "by": "actor",
    "owner": "owner",
    "reason": "reason",
    "note": "note",
}


def triage_csv_lines(events: QuerySet[TriageEvent], *, bom: bool = False) -> Iterator[str]:
    """Header, then one line per triage event, oldest first, a chunk at a time, cells neutralised."""
    writer = csv_writer()
    header = ("\ufeff" if bom else "") + writer.writerow(list(TRIAGE_COLUMNS))
    rows = events.order_by("timestamp", "id").values_list(*TRIAGE_COLUMNS.values())
    lines = (
        writer.writerow(
            [
                timezone.localtime(row[0]).isoformat(timespec="microseconds"),
                *(neutralise(value) for value in row[1:]),
            ]
        )
        for row in rows.iterator(chunk_size=CHUNK_SIZE)
    )
    yield from _pieces(header, lines)
