"""The audit CSV: its columns, and rows streamed a chunk at a time whatever the table's size."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
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


def audit_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Header, then one line per audit row, read from the database in chunks."""
    writer = csv.writer(_Echo())
    if bom:
        yield "\ufeff"
    yield writer.writerow(COLUMNS)
    for row in events.order_by("timestamp", "id").values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow(
            [timezone.localtime(row[0]).isoformat(), *(neutralise(value) for value in row[1:])]
        )


SUMMARY_COLUMNS = ["day", "provider", "operation", "outcome", "count"]


def summary_csv_lines(events: QuerySet[AuditEvent], *, bom: bool = False) -> Iterator[str]:
    """Item results counted per day x provider x operation x outcome (the database does the counting)."""
    writer = csv.writer(_Echo())
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
